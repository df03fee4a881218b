"""Watermarks: a pasted fragment of a delivered text names its delivery, and only with the key."""

from __future__ import annotations

import io
import random
from datetime import datetime, timezone

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wenku.docx_export import fulltext_docx
from wenku.watermark import (
    CLUSTER_LENGTH,
    MARK_CHARS,
    find_marks,
    mark_text,
    mask_qq,
    strip_marks,
)

SECRET = "test-secret-不要外传"
OTHER_SECRET = "another-secret"

SENTENCES = [
    "同志们，今天我们召开全市工会工作会议，主要任务是总结过去一年的工作",
    "过去一年，在市委的坚强领导下，全市各级工会组织团结带领广大职工",
    "坚持以人民为中心的发展思想，切实维护职工合法权益",
    "我们要深入推进产业工人队伍建设改革，提高职工技能素质",
    "乡村振兴是一项长期而艰巨的任务，必须久久为功",
    "安全生产责任重于泰山，各级领导干部要时刻绷紧安全这根弦",
    "要把握新发展阶段，贯彻新发展理念，构建新发展格局",
    "2024年全市地区生产总值增长5.2%，城乡居民收入稳步提高",
    "要坚持问题导向，聚焦群众急难愁盼，办好民生实事",
    "全面从严治党永远在路上，党风廉政建设只有进行时没有完成时",
    "各单位要结合实际，细化工作措施，确保各项任务落到实处",
    "我们要以更加饱满的热情、更加务实的作风，奋力开创工作新局面",
    "《关于进一步加强职工服务工作的意见》已经印发",
    "第一，提高政治站位；第二，压实工作责任；第三，强化督促检查",
    "会议指出，要牢固树立安全发展理念（Safety First），守住底线",
]
PUNCTUATION = ["，", "。", "；", "：", "！", "？", "、", "。\n", "。\n\n", "\n", "……", "——", " ", "。\r\n"]


def chinese_text(rng: random.Random, size: int) -> str:
    """About ``size`` characters of sentences joined by random punctuation and line breaks."""
    parts: list[str] = []
    total = 0
    while total < size:
        sentence = rng.choice(SENTENCES)
        if rng.random() < 0.3:  # a piece of a sentence, so that texts do not repeat in step
            start = rng.randrange(len(sentence) // 2)
            sentence = sentence[start:]
        piece = sentence + rng.choice(PUNCTUATION)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)[:size]


def visible_indices(marked: str) -> list[int]:
    """Offsets in ``marked`` of its visible (non-mark) characters."""
    return [i for i, char in enumerate(marked) if char not in MARK_CHARS]


def cut(rng: random.Random, marked: str, start: int, length: int) -> str:
    """The visible characters start..start+length of ``marked``, cut at a random point of the marks around them.

    The cut may fall inside a cluster at either edge, as when a member selects
    text in a chat window without seeing the invisible characters.
    """
    index = visible_indices(marked)
    low = index[start - 1] + 1 if start else 0
    first = rng.randint(low, index[start])
    end = start + length
    last_visible = index[end - 1] + 1
    high = index[end] if end < len(index) else len(marked)
    last = rng.randint(last_visible, high)
    return marked[first:last]


def rewrap_lines(text: str, width: int) -> str:
    """All line breaks removed, then one after every ``width`` characters (marks counted too)."""
    flat = text.replace("\r", "").replace("\n", "")
    return "\n".join(flat[i : i + width] for i in range(0, len(flat), width))


def add_spaces(rng: random.Random, text: str, count: int) -> str:
    chars = list(text)
    for _ in range(count):
        chars.insert(rng.randint(0, len(chars)), rng.choice([" ", "  ", "\u3000", "\t", "\r\n"]))
    return "".join(chars)


# -- mask_qq ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "masked"),
    [
        ("123456789", "123****89"),
        (123456789, "123****89"),
        ("1234567890", "123*****90"),
        (" 123456789 ", "123****89"),
        ("12345678", "12*****8"),
        ("123456", "12***6"),
        ("12345", "1****"),
        ("123", "1**"),
        ("12", "**"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_qq(user_id, masked):
    assert mask_qq(user_id) == masked


def test_mask_qq_keeps_length_and_hides_at_least_three_from_six_digits():
    for size in range(6, 13):
        masked = mask_qq("9" * size)
        assert len(masked) == size
        assert masked.count("*") >= 3


# -- literal round trips ------------------------------------------------------------

DOCUMENT = "\n".join(SENTENCES) * 3


def test_mark_is_invisible_and_found():
    marked = mark_text(DOCUMENT, delivery_id=42, secret=SECRET)
    assert marked != DOCUMENT
    assert strip_marks(marked) == DOCUMENT
    assert "".join(char for char in marked if char not in MARK_CHARS) == DOCUMENT
    assert find_marks(marked, SECRET) == [42]


def test_clusters_are_spread_and_whole():
    marked = mark_text(DOCUMENT, delivery_id=7, secret=SECRET)
    runs = []
    run = 0
    gaps, visible = [], 0
    for char in marked:
        if char in MARK_CHARS:
            run += 1
            continue
        if run:
            runs.append(run)
            gaps.append(visible)
            visible = 0
            run = 0
        visible += 1
    assert set(runs) == {CLUSTER_LENGTH}
    assert gaps[0] <= 8  # one near the start
    assert max(gaps[1:]) <= 80 and min(gaps[1:]) >= 60
    assert len(runs) >= len(DOCUMENT) // 80


def test_clusters_never_touch_line_breaks_or_spaces():
    marked = mark_text(DOCUMENT + " end  text \n x", delivery_id=7, secret=SECRET)
    for i, char in enumerate(marked):
        if char in MARK_CHARS:
            for neighbour in (marked[i - 1], marked[i + 1] if i + 1 < len(marked) else "x"):
                assert neighbour in MARK_CHARS or not neighbour.isspace()


def test_same_delivery_gives_the_same_text_and_another_delivery_differs():
    first = mark_text(DOCUMENT, delivery_id=1, secret=SECRET)
    assert mark_text(DOCUMENT, delivery_id=1, secret=SECRET) == first
    assert mark_text(DOCUMENT, delivery_id=2, secret=SECRET) != first
    assert mark_text(DOCUMENT, delivery_id=1, secret=OTHER_SECRET) != first


def test_wrong_key_finds_nothing():
    marked = mark_text(DOCUMENT, delivery_id=99, secret=SECRET)
    assert find_marks(marked, OTHER_SECRET) == []
    assert find_marks(marked[500:700], OTHER_SECRET) == []


def test_edge_delivery_ids():
    for delivery_id in (0, 1, 2**31, 2**32 - 1):
        assert find_marks(mark_text(DOCUMENT, delivery_id=delivery_id, secret=SECRET), SECRET) == [delivery_id]


@pytest.mark.parametrize("delivery_id", [-1, 2**32, 2**40])
def test_out_of_range_delivery_id_is_refused(delivery_id):
    with pytest.raises(ValueError):
        mark_text(DOCUMENT, delivery_id=delivery_id, secret=SECRET)


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        mark_text(DOCUMENT, delivery_id=1, secret="")
    with pytest.raises(ValueError):
        find_marks(DOCUMENT, "")


def test_tampered_cluster_is_rejected():
    marked = mark_text(DOCUMENT[:100], delivery_id=5, secret=SECRET)
    start = next(i for i, char in enumerate(marked) if char in MARK_CHARS)
    changed = MARK_CHARS[(MARK_CHARS.index(marked[start + 3]) + 1) % 4]
    tampered = marked[: start + 3] + changed + marked[start + 4 :]
    # Only the first cluster was changed: the others still name the delivery, once fewer.
    assert find_marks(tampered[: start + CLUSTER_LENGTH + 5], SECRET) == []
    assert find_marks(tampered, SECRET) == [5]


def test_several_deliveries_most_frequent_first():
    one = mark_text(DOCUMENT[:1000], delivery_id=11, secret=SECRET)
    two = mark_text(DOCUMENT[:300], delivery_id=22, secret=SECRET)
    assert find_marks(two + one, SECRET) == [11, 22]
    assert find_marks(one + "\n" + two, SECRET) == [11, 22]
    three = mark_text(DOCUMENT[:1000], delivery_id=33, secret=SECRET)
    assert find_marks(one + three, SECRET) == [11, 33]  # a tie keeps the order of appearance


def test_clusters_glued_together_are_read_one_by_one():
    marked = mark_text("甲乙丙丁", delivery_id=8, secret=SECRET)
    cluster = "".join(char for char in marked if char in MARK_CHARS)
    partial = cluster[5:]
    assert find_marks("甲" + partial + cluster + "乙", SECRET) == [8]
    assert find_marks("甲" + cluster + cluster + "乙", SECRET) == [8]


def test_strip_marks_restores_the_exact_original():
    original = "　　同志们：\r\n\t今天的会议很重要。\n\n最后一行 "
    marked = mark_text(original, delivery_id=3, secret=SECRET)
    assert strip_marks(marked) == original
    assert strip_marks(original) == original


def test_lone_joiners_of_the_original_are_kept():
    # A family emoji (ZWJ sequence), a ZWNJ in Persian, a stray ZWSP between Chinese characters.
    original = "家庭👨\u200d👩\u200d👧合影。می\u200cخواهم。工\u200b会" * 5
    marked = mark_text(original, delivery_id=12, secret=SECRET)
    assert strip_marks(marked) == original
    assert find_marks(marked, SECRET) == [12]
    assert find_marks(original, SECRET) == []
    # No cluster was put inside the emoji sequence.
    assert "👨\u200d👩\u200d👧" in marked


def test_surrogates_and_combining_marks_are_never_split():
    original = "a\u0301b\u0301" * 40 + "😀" * 40 + "\ud83d\ude00" * 40 + "🇨🇳" * 40
    marked = mark_text(original, delivery_id=6, secret=SECRET)
    assert strip_marks(marked) == original
    for i, char in enumerate(marked):
        if char in MARK_CHARS and marked[i - 1] not in MARK_CHARS:
            assert marked[i - 1] not in "\ud83d\U0001f1e8"  # high surrogate, first half of a flag
        if char in MARK_CHARS and i + 1 < len(marked) and marked[i + 1] not in MARK_CHARS:
            assert marked[i + 1] not in "\u0301\ude00\U0001f1f3"


@pytest.mark.parametrize("text", ["好", "好\n", "\n好", "ab"])
def test_tiny_texts_are_still_marked(text):
    marked = mark_text(text, delivery_id=77, secret=SECRET)
    assert strip_marks(marked) == text
    assert find_marks(marked, SECRET) == [77]


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t \r\n"])
def test_texts_without_a_plain_character_stay_unmarked(text):
    assert mark_text(text, delivery_id=77, secret=SECRET) == text


GARBAGE = [
    "",
    "\u200b",
    MARK_CHARS * 1000,
    "\u200b" * 31,
    "\u200b" * 32,
    "\u2060" * 64 + "x" + " \n".join(MARK_CHARS * 8),
    "\ud800\udfff\ud800",
    "\x00\x01\x02" * 50,
    "普通的文字，没有任何标记。" * 100,
    ("x" + "".join(random.Random(1).choice(MARK_CHARS) for _ in range(32))) * 500,
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_never_raises(text):
    assert find_marks(text, SECRET) == []
    strip_marks(text)


@pytest.mark.parametrize("value", [None, b"\xe2\x80\x8b" * 40, 123, ["a"]])
def test_find_marks_of_a_non_string_is_empty(value):
    assert find_marks(value, SECRET) == []


# -- properties ---------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(
    rng=st.randoms(use_true_random=False),
    size=st.integers(2000, 8000),
    delivery_id=st.integers(0, 2**32 - 1),
    wrap=st.sampled_from(["lines", "spaces", "both", "none"]),
)
def test_any_rewrapped_fragment_of_200_characters_names_the_delivery(rng, size, delivery_id, wrap):
    original = chinese_text(rng, size)
    marked = mark_text(original, delivery_id=delivery_id, secret=SECRET)
    assert strip_marks(marked) == original

    start = rng.randrange(len(original) - 200 + 1)
    fragment = cut(rng, marked, start, 200)
    assert strip_marks(fragment) == original[start : start + 200]
    if wrap in ("lines", "both"):
        fragment = rewrap_lines(fragment, rng.randint(1, 90))
    if wrap in ("spaces", "both"):
        fragment = add_spaces(rng, fragment, rng.randint(1, 60))

    assert find_marks(fragment, SECRET) == [delivery_id]
    assert find_marks(fragment, OTHER_SECRET) == []


@PROPERTY_SETTINGS
@given(rng=st.randoms(use_true_random=False), size=st.integers(2000, 8000), delivery_id=st.integers(0, 2**32 - 1))
def test_whole_text_round_trip(rng, size, delivery_id):
    original = chinese_text(rng, size)
    marked = mark_text(original, delivery_id=delivery_id, secret=SECRET)
    assert strip_marks(marked) == original
    assert find_marks(marked, SECRET) == [delivery_id]
    assert find_marks(marked, OTHER_SECRET) == []


ANY_CHARACTER = st.one_of(
    st.characters(),
    st.characters(categories=["Cs", "Cn", "Cf", "Mn", "Zs", "Cc"]),  # lone surrogates, unassigned, joiners...
    st.sampled_from(list(MARK_CHARS) + [" ", "\n", "\r", "\u3000", "工", "会", "\u0301", "🇨"]),
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(ANY_CHARACTER, max_size=300))
def test_garbage_is_read_without_error(text):
    assert find_marks(text, SECRET) == []
    assert strip_marks(strip_marks(text)) == strip_marks(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(ANY_CHARACTER, max_size=300), delivery_id=st.integers(0, 2**32 - 1))
def test_marking_any_text_only_adds_marks(text, delivery_id):
    marked = mark_text(text, delivery_id=delivery_id, secret=SECRET)
    assert strip_marks(marked) == strip_marks(text)
    assert find_marks(marked, SECRET) in ([], [delivery_id])
    if marked != text:
        assert find_marks(marked, SECRET) == [delivery_id]


# -- .docx ----------------------------------------------------------------------------


def test_docx_keeps_the_marks_and_shows_the_visible_line():
    title = "在全市工会工作会议上的讲话"
    body = chinese_text(random.Random(5), 3000)
    line = "仅供会员 123****89 个人学习使用，请勿外传。交付编号 4321"
    marked = mark_text(body, delivery_id=4321, secret=SECRET)
    moment = datetime(2025, 3, 1, 8, 30, tzinfo=timezone.utc)

    data = fulltext_docx(title, marked, line, moment=moment)
    assert data[:2] == b"PK"

    document = docx.Document(io.BytesIO(data))
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert paragraphs[0] == line
    assert paragraphs[1] == title
    text = "\n".join(paragraphs)
    assert find_marks(text, SECRET) == [4321]
    assert find_marks(text, OTHER_SECRET) == []
    assert strip_marks("\n".join(paragraphs[2:])) == body.replace("\r\n", "\n").replace("\r", "\n")
    assert line in document.sections[0].footer.paragraphs[0].text
    properties = document.core_properties
    assert properties.comments == line
    assert properties.identifier == line
    assert properties.title == title
    assert properties.author == ""
    assert properties.created == moment


def test_fragments_copied_out_of_the_docx_name_the_delivery():
    body = chinese_text(random.Random(9), 4000)
    data = fulltext_docx("标题", mark_text(body, delivery_id=55, secret=SECRET), "可见行")
    paragraphs = [paragraph.text for paragraph in docx.Document(io.BytesIO(data)).paragraphs]
    text = "\n".join(paragraphs[2:])
    rng = random.Random(10)
    visible = len(strip_marks(text))
    for _ in range(50):
        fragment = cut(rng, text, rng.randrange(visible - 200 + 1), 200)
        assert find_marks(fragment, SECRET) == [55]


def test_docx_drops_characters_xml_cannot_hold():
    data = fulltext_docx("标\x00题", "正文\x0b内容\ud800", "可见\x1f行")
    document = docx.Document(io.BytesIO(data))
    assert [paragraph.text for paragraph in document.paragraphs] == ["可见行", "标题", "正文内容"]


def test_docx_needs_an_aware_time():
    with pytest.raises(ValueError):
        fulltext_docx("标题", "正文", "可见行", moment=datetime(2025, 1, 1))
