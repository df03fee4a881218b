import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from wenku.errors import EmptyQuery, QueryTooLong
from wenku.importer import import_document
from wenku.search import SearchSessions, match_expression, parse_query, rank, result_page, search, snippet, suggestions
from wenku.store import Store
from wenku.textnorm import normalize, query_terms

from .conftest import NOW


def test_two_character_word_finds_every_document_containing_it(library):
    ranking = search(library, "工会")
    assert set(ranking.ids) == {1, 3}


def test_title_hit_ranks_above_body_hit(library):
    assert search(library, "工会").ids == (1, 3)
    assert search(library, "安全生产").ids[0] == 3


def test_several_words_mean_all_of_them(library):
    assert search(library, "工会 隐患").ids == (3,)
    assert search(library, "工会 乡村").ids == ()


@pytest.mark.parametrize("query", ["工會", "ＡＢ工会", "工会！！", "  工会  ", "维權"])
def test_width_and_script_forms_find_each_other(library, query):
    expected = set(search(library, "维权" if "權" in query else "工会").ids)
    if "ＡＢ" in query:
        assert search(library, query).ids == ()  # ab is not in any document
    else:
        assert set(search(library, query).ids) == expected


def test_snippet_marks_words_in_the_original_text():
    text = "前言。" + "无关内容。" * 30 + "全国總工會要求各级工会依法维权。" + "其他。" * 30
    assert snippet(text, ["工会", "维权"], width=40) == "…无关内容。全国總【工會】要求各级【工会】依法【维权】。其他。其他。其他。其他。其他。其他。其…"


def test_snippet_without_body_hit_shows_the_opening():
    assert snippet("开头的话。后面的话。", ["标题词"], width=5) == "开头的话。…"


@pytest.mark.parametrize(
    "query",
    ["", "   ", '" * ( ) NEAR AND OR NOT -', "😀🎉", "[CQ:at,qq=all]", "工" * 500, "工会 " * 200, "\x00\n\t"],
)
def test_any_input_gives_results_or_a_domain_error(library, query):
    try:
        ranking = search(library, query)
    except (EmptyQuery, QueryTooLong):
        return
    result_page(library, ranking, 1)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_fuzzed_input_never_raises_anything_else(library, query):
    try:
        ranking = search(library, query)
    except (EmptyQuery, QueryTooLong):
        return
    assert result_page(library, ranking, 1).page == 1


def test_query_too_long_and_empty():
    with pytest.raises(EmptyQuery):
        parse_query("【】!!")
    with pytest.raises(QueryTooLong):
        parse_query("工" * 31)


WORDS = ["工会", "维权", "职工", "乡村", "振兴", "安全", "隐患", "会维", "权益", "工"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(WORDS + ["，", "。", " ", "會", "Ａ"]), min_size=1, max_size=12), min_size=1, max_size=8),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
)
def test_matches_equal_exact_substring_truth(documents, words):
    store = Store.memory()
    bodies = {}
    for index, parts in enumerate(documents):
        body = "正文" + "".join(parts) + f"。编号{index}"
        outcome = import_document(store, f"{index}.txt", f"标题{index}\n{body}".encode(), now=NOW)
        if outcome.status == "imported":
            bodies[outcome.document_id] = normalize(f"标题{index}") + "\n" + normalize(body)
    terms = query_terms(" ".join(words))
    truth = {doc_id for doc_id, text in bodies.items() if all(term in text for term in terms)}
    assert set(store.matching_ids(match_expression(terms))) == truth
    assert set(rank(store, terms).ids) == truth


def test_window_bounds_ranking_and_marks_the_total_as_more(library):
    ranking = rank(library, ["同志"], window=2)
    assert ranking.capped is True
    assert len(ranking.ids) <= 4
    assert rank(library, ["同志"]).capped is False


def test_pages(library):
    ranking = rank(library, ["同志"])
    first = result_page(library, ranking, 1, page_size=2)
    assert (first.page, first.pages, [hit.document.id for hit in first.hits]) == (1, 2, list(ranking.ids[:2]))
    assert result_page(library, ranking, 9, page_size=2).page == 2


def test_suggestions_for_no_hits(library):
    titles, per_term = suggestions(library, ["工会", "火箭"])
    assert titles[0] == (1, "在区总工会全委会议上的讲话")
    assert per_term == {"工会": 2, "火箭": 0}


def test_sessions_expire_after_ttl(library):
    from datetime import timedelta

    sessions = SearchSessions(ttl=timedelta(minutes=10))
    ranking = rank(library, ["工会"])
    sessions.remember(("bot", 1, 2), ranking, 1, NOW)
    assert sessions.recall(("bot", 1, 2), NOW + timedelta(minutes=9)) == (ranking, 1)
    assert sessions.recall(("bot", 1, 2), NOW + timedelta(minutes=11)) is None


def test_exactly_a_window_of_matches_is_not_shown_as_more(library):
    assert rank(library, ["同志"], window=3).capped is False
    assert rank(library, ["同志"], window=3).total == 3
    assert rank(library, ["同志"], window=2).capped is True
