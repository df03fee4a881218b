from hypothesis import given, strategies as st

from wenku.textnorm import index_tokens, normalize, query_terms, term_match_expression, word_runs


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
