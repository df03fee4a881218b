"""溯源 in the console: a leaked fragment names the delivery by its watermark, or the document by its content."""

import pytest

from wenku.fulltext import finish_delivery, prepare_delivery
from wenku.watermark import find_marks, mark_text, strip_marks

from .conftest import NOW, SECRET, UNION_BODY, UNION_TITLE, cells, message, part, snapshot

MARKED_HEADER = ["领取编号", "会员", "文档", "时间", "形式", "状态"]


@pytest.fixture
def delivered(library, clock):
    """Delivery 1: document 1 sent to 30001 as text at 10:00; delivery 2 of it to 30002 failed."""
    delivery = prepare_delivery(
        library, user_id="30001", document_id=1, format="text", now=NOW, secret=SECRET, daily_limit=20
    )
    finish_delivery(library, delivery.id, True)
    failed = prepare_delivery(
        library, user_id="30002", document_id=1, format="file", now=NOW, secret=SECRET, daily_limit=20
    )
    finish_delivery(library, failed.id, False)
    clock.advance(hours=1)  # the leak turns up later (within the admin session's idle limit)
    return delivery


def result(page: str) -> str:
    return part(page, '<div class="card" id="trace-result">', "</div>\n</main>")


async def test_a_watermarked_fragment_names_the_member_and_the_delivery(admin, delivered):
    fragment = delivered.text[40:300]
    assert find_marks(fragment, SECRET) == [1]  # the fragment really carries the mark
    response = await admin.post("/admin/trace", {"text": fragment})
    assert response.status_code == 200
    found = result(response.text)
    assert "水印指向 1 次领取：" in found
    assert cells(found) == [
        MARKED_HEADER,
        ["1", "30001", f"#1 {UNION_TITLE}", "2026-11-24 10:00", "文本", "已发送"],
    ]


async def test_a_fragment_rewrapped_by_a_chat_program_still_names_the_delivery(admin, delivered):
    fragment = delivered.text[40:300].replace("。", "。\r\n  ")
    response = await admin.post("/admin/trace", {"text": fragment})
    assert cells(result(response.text))[1][:2] == ["1", "30001"]


async def test_a_fragment_without_marks_is_found_by_its_content(admin, delivered):
    fragment = strip_marks(delivered.text)[60:200]
    response = await admin.post("/admin/trace", {"text": fragment})
    found = result(response.text)
    assert f'按内容判断，出自 <a href="/admin/documents/1">#1 {UNION_TITLE}</a>。' in found
    # Who received it, newest first; the failed delivery put nothing in anyone's hands.
    assert cells(found) == [["领取编号", "会员", "时间", "状态"], ["1", "30001", "2026-11-24 10:00", "已发送"]]


async def test_a_document_nobody_received(admin, library):
    response = await admin.post("/admin/trace", {"text": UNION_BODY[30:110]})
    found = result(response.text)
    assert f"#1 {UNION_TITLE}" in found
    assert "还没有人领取过这篇。" in found


async def test_a_valid_mark_without_a_delivery_on_record(admin, library):
    forged_elsewhere = mark_text(UNION_BODY, delivery_id=77, secret=SECRET)
    response = await admin.post("/admin/trace", {"text": forged_elsewhere})
    assert "找到有效水印，但没有对应的领取记录：77" in result(response.text)


async def test_marks_made_with_another_key_are_ignored(admin, delivered):
    # Someone framing a member cannot make marks the console believes: the content decides.
    framed = mark_text(UNION_BODY, delivery_id=1, secret="somebody else's key")
    response = await admin.post("/admin/trace", {"text": framed})
    found = result(response.text)
    assert "水印指向" not in found
    assert "没有找到水印（可能被去掉了）" in found


async def test_a_text_from_nowhere(admin, library):
    response = await admin.post("/admin/trace", {"text": "今天天气很好，我们去公园散步吧，顺便买点水果回家。"})
    assert "没有找到水印，也没有认出出自哪篇文档。" in result(response.text)


@pytest.mark.parametrize("text", ["", "   \n\t  "])
async def test_an_empty_paste_is_refused(admin, library, text):
    before = snapshot(library)
    response = await admin.post("/admin/trace", {"text": text})
    assert response.status_code == 400
    assert message(response.text) == "请粘贴要溯源的文字"
    assert snapshot(library) == before


async def test_tracing_changes_nothing_and_keeps_the_pasted_text_as_text(admin, delivered, library):
    before = snapshot(library)
    pasted = "<script>alert(1)</script>" + UNION_BODY[30:110]
    response = await admin.post("/admin/trace", {"text": pasted})
    assert snapshot(library) == before
    assert "<script>alert(1)</script>" not in response.text
    assert "<textarea id=\"text\" name=\"text\" required>&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
