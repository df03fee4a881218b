"""Full texts: the delivery log, the daily quota, the watermark, the .docx, and tracing leaks."""

import io
from datetime import datetime, timedelta, timezone

import docx
import pytest

from wenku import texts
from wenku.errors import DocumentNotFound, QuotaExhausted
from wenku.fulltext import TraceResult, finish_delivery, prepare_delivery, quota_left, trace
from wenku.importer import import_document
from wenku.stats import start_of_day
from wenku.watermark import MARK_CHARS, find_marks, mark_text, strip_marks

from .conftest import NOW
from .fixtures import UNION_BODY, UNION_TITLE, distributed

SECRET = "test-secret-不要外传"
QQ = "12345678"
MASKED = "12*****8"


def deliver(store, user_id=QQ, document_id=1, *, now=NOW, format="text", sent=True, daily_limit=10, group_id=None):
    delivery = prepare_delivery(
        store,
        user_id=user_id,
        document_id=document_id,
        format=format,
        now=now,
        secret=SECRET,
        daily_limit=daily_limit,
        group_id=group_id,
    )
    if sent is not None:
        finish_delivery(store, delivery.id, sent)
    return delivery


def test_prepare_delivery_logs_a_pending_delivery(library):
    delivery = deliver(library, group_id="20001", sent=None)
    assert list(library.db["deliveries"].rows) == [
        {
            "id": 1,
            "user_id": QQ,
            "document_id": 1,
            "at": "2026-11-24T02:00:00+00:00",
            "format": "text",
            "group_id": "20001",
            "status": "pending",
        }
    ]
    assert (delivery.id, delivery.format, delivery.docx) == (1, "text", None)
    assert delivery.document.title == UNION_TITLE
    assert delivery.filename == f"{UNION_TITLE}_1.docx"


def test_finish_delivery_records_the_outcome(library):
    sent = deliver(library, sent=True)
    failed = deliver(library, sent=False)
    assert [(row["id"], row["status"]) for row in library.db["deliveries"].rows] == [
        (sent.id, "sent"),
        (failed.id, "failed"),
    ]


def test_delivered_text_is_watermarked(library):
    delivery = deliver(library)
    visible = texts.watermark_line(MASKED, delivery.id)
    assert visible == "【会员专享 禁止外传】QQ 12*****8 · 编号 1"
    assert delivery.text.startswith(visible + "\n")
    assert delivery.text.endswith("\n" + visible)
    assert find_marks(delivery.text, SECRET) == [delivery.id]
    assert find_marks(delivery.text, "another-secret") == []
    # The marks are invisible: without them the text is the line, the title, the body, the line.
    assert strip_marks(delivery.text) == f"{visible}\n{UNION_TITLE}\n{UNION_BODY}\n{visible}"
    assert sum(delivery.text.count(char) for char in MARK_CHARS) >= 64  # at least two clusters
    assert QQ not in delivery.text


def test_each_delivery_has_its_own_mark(library):
    first = deliver(library)
    second = deliver(library, user_id="20002")
    assert first.text != second.text
    assert find_marks(first.text, SECRET) == [1]
    assert find_marks(second.text, SECRET) == [2]
    assert strip_marks(second.text).startswith("【会员专享 禁止外传】QQ 2**** · 编号 2\n")


def test_file_format_gives_a_marked_docx(library):
    delivery = deliver(library, format="file")
    visible = texts.watermark_line(MASKED, delivery.id)
    assert delivery.format == "file"
    opened = docx.Document(io.BytesIO(delivery.docx))
    paragraphs = [paragraph.text for paragraph in opened.paragraphs]
    assert [strip_marks(text) for text in paragraphs] == [visible, UNION_TITLE, *UNION_BODY.split("\n")]
    assert find_marks("\n".join(paragraphs), SECRET) == [delivery.id]
    assert find_marks("\n".join(paragraphs[2:]), SECRET) == [delivery.id]  # the body alone
    assert opened.sections[0].footer.paragraphs[0].text == visible
    assert opened.core_properties.comments == visible
    assert find_marks(delivery.text, SECRET) == [delivery.id]  # the text is built too
    assert library.delivery(delivery.id)["format"] == "file"


def test_missing_document(library):
    with pytest.raises(DocumentNotFound) as caught:
        deliver(library, document_id=99)
    assert caught.value.document_id == 99
    assert library.db["deliveries"].count == 0


def test_deleted_document(library):
    library.db.execute("UPDATE documents SET deleted_at = ? WHERE id = 2", ["2026-11-24T01:00:00+00:00"])
    with pytest.raises(DocumentNotFound):
        deliver(library, document_id=2)


def test_quota(library):
    assert quota_left(library, QQ, NOW, 3) == 3
    for document_id in (1, 2, 3):
        deliver(library, document_id=document_id, daily_limit=3)
    assert quota_left(library, QQ, NOW, 3) == 0
    with pytest.raises(QuotaExhausted) as caught:
        deliver(library, daily_limit=3)
    assert caught.value.limit == 3
    assert library.db["deliveries"].count == 3
    # Another member has a quota of their own; a larger limit allows more.
    assert quota_left(library, "20002", NOW, 3) == 3
    assert deliver(library, daily_limit=4).id == 4


def test_pending_deliveries_count(library):
    deliver(library, sent=None, daily_limit=2)
    deliver(library, sent=None, daily_limit=2)
    with pytest.raises(QuotaExhausted):
        deliver(library, daily_limit=2)


def test_failed_deliveries_do_not_count(library):
    for _ in range(3):
        deliver(library, sent=False, daily_limit=2)
    assert quota_left(library, QQ, NOW, 2) == 2
    deliver(library, daily_limit=2)
    deliver(library, daily_limit=2)
    with pytest.raises(QuotaExhausted):
        deliver(library, daily_limit=2)


def test_quota_day_is_the_shanghai_day(library):
    # NOW is 10:00 in Shanghai; the day began at 16:00 UTC the day before.
    midnight = start_of_day(NOW)
    assert midnight == datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)
    # Two deliveries just before midnight in Shanghai (the same UTC day as NOW): yesterday's.
    deliver(library, now=midnight - timedelta(seconds=1), daily_limit=2)
    deliver(library, now=midnight - timedelta(hours=1), daily_limit=2)
    assert quota_left(library, QQ, NOW, 2) == 2
    deliver(library, now=midnight, daily_limit=2)
    assert quota_left(library, QQ, NOW, 2) == 1
    deliver(library, now=NOW, daily_limit=2)
    with pytest.raises(QuotaExhausted):
        deliver(library, now=NOW + timedelta(hours=13, minutes=59), daily_limit=2)  # 23:59 in Shanghai
    # The next day in Shanghai starts with a full quota.
    assert quota_left(library, QQ, NOW + timedelta(hours=14), 2) == 2


# -- tracing --------------------------------------------------------------------------------


def middle(text: str, size: int = 200) -> str:
    start = (len(text) - size) // 2
    return text[start : start + size]


def test_trace_by_mark(library):
    deliver(library, user_id="20002")
    delivery = deliver(library, document_id=1)
    fragment = middle(delivery.text)
    assert len(fragment) == 200
    result = trace(library, fragment, SECRET)
    assert result == TraceResult(
        deliveries=[
            {
                "id": 2,
                "user_id": QQ,
                "document_id": 1,
                "at": "2026-11-24T02:00:00+00:00",
                "format": "text",
                "group_id": None,
                "status": "sent",
            }
        ],
        document=library.get_document(1),
        recipients=[],
    )


def test_trace_a_fragment_of_a_long_document(library):
    body = "\n".join(
        f"第{number}条，{sentence}" for number, sentence in enumerate(UNION_BODY.split("\n") * 12, start=1)
    )
    import_document(library, "long.txt", distributed("工会工作长篇讲话", body).encode(), now=NOW)
    delivery = deliver(library, document_id=4)
    marked = delivery.text
    for start in range(0, len(marked) - 200, 97):
        assert find_marks(marked[start : start + 200], SECRET) == [delivery.id], start
    result = trace(library, middle(marked), SECRET)
    assert [row["id"] for row in result.deliveries] == [delivery.id]
    assert result.document.id == 4


def test_trace_without_marks_finds_the_document_and_its_recipients(library):
    deliver(library, user_id="20001", now=NOW - timedelta(days=2))
    deliver(library, user_id="20002", now=NOW - timedelta(days=1))
    deliver(library, user_id="20003", now=NOW, sent=False)  # never arrived: not a recipient
    deliver(library, user_id="20004", document_id=2, now=NOW)  # another document
    latest = deliver(library, user_id="20005", now=NOW)
    fragment = strip_marks(middle(latest.text))
    assert find_marks(fragment, SECRET) == []
    result = trace(library, fragment, SECRET)
    assert result.deliveries == []
    assert result.document == library.get_document(1)
    assert [(row["id"], row["user_id"], row["at"]) for row in result.recipients] == [
        (5, "20005", "2026-11-24T02:00:00+00:00"),
        (2, "20002", "2026-11-23T02:00:00+00:00"),
        (1, "20001", "2026-11-22T02:00:00+00:00"),
    ]


def test_trace_with_the_wrong_secret_falls_back_to_content(library):
    first = deliver(library, user_id="20001", now=NOW - timedelta(hours=1))
    second = deliver(library, user_id="20002", now=NOW)
    result = trace(library, middle(second.text), "another-secret")
    assert result.deliveries == []
    assert result.document == library.get_document(1)
    assert [row["id"] for row in result.recipients] == [second.id, first.id]


def test_trace_finds_other_documents_by_content(library):
    assert trace(library, "要改善农村人居环境，推进厕所革命和生活垃圾分类", SECRET).document.id == 2
    assert trace(library, "对检查发现的隐患要建立台账，明确整改责任人", SECRET).document.id == 3


@pytest.mark.parametrize(
    "text",
    [
        "今天天气很好，我们一起去公园散步，然后吃晚饭。",
        "The quick brown fox jumps over the lazy dog.",
        "一二三，四五。",
        "",
        "\u200b\u200c\u200d\u2060" * 8,  # mark characters that are no valid mark
    ],
)
def test_trace_unrelated_text_finds_nothing(library, text):
    deliver(library)
    assert trace(library, text, SECRET) == TraceResult()


def test_trace_valid_mark_without_a_delivery(library):
    # A mark made with the right secret for a delivery the database does not know (a restored backup).
    leaked = mark_text(UNION_BODY, delivery_id=999, secret=SECRET)
    assert trace(library, leaked, SECRET) == TraceResult(unknown_marks=[999])
    delivery = deliver(library)
    both = middle(delivery.text) + leaked
    result = trace(library, both, SECRET)
    assert ([row["id"] for row in result.deliveries], result.unknown_marks) == ([delivery.id], [999])
    assert result.document == library.get_document(1)
