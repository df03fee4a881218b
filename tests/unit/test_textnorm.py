from hypothesis import given, strategies as st

from wenku.textnorm import folded_occurrences, index_tokens, normalize, query_terms, term_match_expression, word_runs


def test_normalize_folds_width_script_and_case_one_to_one():
    assert normalize("工會ＱＱ１２３Ａbc　維權") == "工会qq123abc 维权"


@given(st.text())
def test_normalize_keeps_every_position(text):
    assert len(normalize(text)) == len(text)


def test_word_runs_split_at_punctuation_and_spaces():
    assert word_runs("全国总工会，维权 2024年!") == ["全国总工会", "维权", "2024年"]


def test_index_tokens_are_pairs_then_the_last_character():
    assert index_tokens("工会维权。好") == "工会 会维 维权 权 好"


def test_query_terms_drop_syntax_duplicates_and_contained_terms():
    assert query_terms('"工会" AND (维权)* NEAR -工会') == ["工会", "and", "维权", "near"]
    assert query_terms("工会 全国总工会") == ["全国总工会"]
    assert query_terms('" * ( ) - :') == []


def test_term_match_expression():
    assert term_match_expression("全国总工会") == '"全国 国总 总工 工会"'
    assert term_match_expression("党") == '"党" *'


def _occurrences_in_normalized(text: str, term: str, limit: int) -> list[int]:
    found, start = [], normalize(text).find(term)
    while start != -1 and len(found) < limit:
        found.append(start)
        start = normalize(text).find(term, start + 1)
    return found


def test_folded_occurrences_find_every_written_form():
    text = "經濟工作，经济发展；ＡＢＣ abc Abc。巴巴巴"
    assert folded_occurrences(text, "经济", 50) == [0, 5]
    assert folded_occurrences(text, "abc", 50) == [10, 14, 18]
    assert folded_occurrences(text, "巴巴", 50) == [22, 23]
    assert folded_occurrences(text, "巴巴", 1) == [22]
    assert folded_occurrences(text, "經濟", 50) == []  # a term is normalized: a traditional one never matches
    assert folded_occurrences("a.b[c]", ".b[", 50) == [1]  # regex characters are literal


# Characters with several written forms, so the drawn texts really contain them.
_FOLDING = "经經济濟发發aAａＡbBｂ。.．巴" + "工会總总"


@given(st.text(alphabet=_FOLDING, max_size=40), st.text(alphabet=_FOLDING, min_size=1, max_size=3))
def test_folded_occurrences_equal_a_search_of_the_normalized_text(text, written_term):
    term = normalize(written_term)
    assert folded_occurrences(text, term, 5) == _occurrences_in_normalized(text, term, 5)
