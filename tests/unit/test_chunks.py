import re

from hypothesis import given, strategies as st

from wenku.chunks import split_text


def test_short_text_is_one_piece():
    assert split_text("第一段\n第二段", limit=20) == ["第一段\n第二段"]


def test_splits_at_paragraphs():
    assert split_text("一二三四\n五六七八\n九十", limit=9) == ["一二三四\n五六七八", "九十"]


def test_long_paragraph_splits_at_sentences_then_hard():
    assert split_text("甲乙丙。丁戊己。庚辛壬癸子丑寅", limit=5) == ["甲乙丙。", "丁戊己。", "庚辛壬癸子", "丑寅"]


@given(st.text(min_size=1), st.integers(min_value=1, max_value=50))
def test_no_piece_too_long_and_no_character_lost(text, limit):
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    # Only whitespace may be dropped (newlines at cuts, blank pieces), never a character.
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
