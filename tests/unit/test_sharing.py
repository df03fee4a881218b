"""Real-time sharing in the core: managing documents, keyword subscriptions, what is pushed when.

The library fixture holds three documents imported at ``NOW``: 1 工会 (title
and body), 2 乡村振兴, 3 安全生产 (工会 in its body only).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from wenku import members, sharing
from wenku.durations import parse_duration
from wenku.errors import BadEdit, DocumentNotFound, SubscriptionRefused
from wenku.importer import import_document
from wenku.search import match_expression, search
from wenku.sharing import Notice
from wenku.store import utc_text
from wenku.textnorm import normalize, term_match_expression

from .conftest import NOW
from .fixtures import RURAL_TITLE, SAFETY_TITLE, UNION_TITLE, distributed

LATER = NOW + timedelta(hours=1)
NOW_TEXT = "2026-11-24T02:00:00+00:00"


def document_rows(store) -> list[tuple]:
    return store.db.execute("SELECT id, title, category, deleted_at FROM documents ORDER BY id").fetchall()


def title_hits(store, word: str) -> list[int]:
    return sorted(row[0] for row in store.ranked_window(match_expression([word]), titles_only=True, window=100))


def indexed_rows(store) -> tuple[list[int], list[int]]:
    """The rowids each contentless FTS table holds an entry for."""
    return (
        [row[0] for row in store.db.execute("SELECT rowid FROM documents_fts ORDER BY rowid")],
        [row[0] for row in store.db.execute("SELECT rowid FROM titles_fts ORDER BY rowid")],
    )


# -- delete and restore ------------------------------------------------------------------------


def test_delete_hides_the_document_everywhere(library):
    deleted = sharing.delete_document(library, 1, LATER)
    assert (deleted.id, deleted.title, deleted.deleted) == (1, UNION_TITLE, False)  # as it was
    assert document_rows(library) == [
        (1, UNION_TITLE, "工会", "2026-11-24T03:00:00+00:00"),
        (2, RURAL_TITLE, "乡村振兴", None),
        (3, SAFETY_TITLE, "安全生产", None),
    ]
    assert search(library, "工会").ids == (3,)
    assert search(library, "全委会议").ids == ()
    assert [document.id for document in library.latest_documents(10)] == [3, 2]
    assert [document.id for document in library.latest_documents(10, category="工会")] == []
    assert library.category_counts() == [("乡村振兴", 1), ("安全生产", 1)]
    assert library.document_count() == 2
    assert library.get_document(1) is None
    assert library.get_document(1, include_deleted=True).deleted is True
    assert indexed_rows(library) == ([2, 3], [2, 3])


def test_restore_brings_the_document_back(library):
    sharing.delete_document(library, 1, LATER)
    restored = sharing.restore_document(library, 1)
    assert (restored.id, restored.title, restored.deleted) == (1, UNION_TITLE, False)
    assert document_rows(library) == [
        (1, UNION_TITLE, "工会", None),
        (2, RURAL_TITLE, "乡村振兴", None),
        (3, SAFETY_TITLE, "安全生产", None),
    ]
    assert search(library, "工会").ids == (1, 3)
    assert search(library, "全委会议").ids == (1,)
    assert [document.id for document in library.latest_documents(10)] == [3, 2, 1]
    assert ("工会", 1) in library.category_counts()
    assert indexed_rows(library) == ([1, 2, 3], [1, 2, 3])


@pytest.mark.parametrize("number", [0, 4, 999])
def test_unknown_numbers_are_not_found(library, number):
    for action in (
        lambda: sharing.delete_document(library, number, LATER),
        lambda: sharing.restore_document(library, number),
        lambda: sharing.retitle(library, number, "新标题"),
        lambda: sharing.recategorize(library, number, "工会"),
    ):
        with pytest.raises(DocumentNotFound) as raised:
            action()
        assert raised.value.document_id == number


def test_deleting_twice_and_restoring_a_live_document_are_refused(library):
    with pytest.raises(DocumentNotFound):
        sharing.restore_document(library, 2)
    sharing.delete_document(library, 2, NOW)
    with pytest.raises(DocumentNotFound):
        sharing.delete_document(library, 2, LATER)
    # The first deletion's time stays; the index is not "deleted" from twice.
    assert document_rows(library)[1] == (2, RURAL_TITLE, "乡村振兴", NOW_TEXT)
    assert search(library, "乡村振兴").ids == ()
    sharing.restore_document(library, 2)
    with pytest.raises(DocumentNotFound):
        sharing.restore_document(library, 2)
    assert search(library, "乡村振兴").ids == (2,)
    assert indexed_rows(library) == ([1, 2, 3], [1, 2, 3])


def test_a_deleted_document_cannot_be_edited(library):
    sharing.delete_document(library, 3, LATER)
    with pytest.raises(DocumentNotFound):
        sharing.retitle(library, 3, "新标题")
    with pytest.raises(DocumentNotFound):
        sharing.recategorize(library, 3, "工会")
    assert document_rows(library)[2] == (3, SAFETY_TITLE, "安全生产", "2026-11-24T03:00:00+00:00")
    assert indexed_rows(library) == ([1, 2], [1, 2])


# -- retitle and recategorize ---------------------------------------------------------------------


def test_retitle_moves_the_title_hits(library):
    assert title_hits(library, "全委会议") == [1]
    edited = sharing.retitle(library, 1, "  在职工技能比武\n表彰大会上的讲话 ")
    assert (edited.id, edited.title) == (1, "在职工技能比武 表彰大会上的讲话")  # whitespace folded
    assert document_rows(library)[0] == (1, "在职工技能比武 表彰大会上的讲话", "工会", None)
    # The old title's words are no longer title hits; the body still has them.
    assert title_hits(library, "全委会议") == []
    assert search(library, "全委会议").ids == (1,)
    # The new title's words are found, as title hits, though the body lacks them.
    assert title_hits(library, "表彰大会") == [1]
    assert search(library, "表彰大会").ids == (1,)
    assert search(library, "技能比武 表彰").ids == (1,)
    # The body is searchable as before.
    assert search(library, "困难职工").ids == (1,)
    assert search(library, "工会").ids == (1, 3)
    assert indexed_rows(library) == ([1, 2, 3], [1, 2, 3])


def test_recategorize(library):
    edited = sharing.recategorize(library, 2, " 农业农村 ")
    assert (edited.id, edited.category) == (2, "农业农村")
    assert document_rows(library)[1] == (2, RURAL_TITLE, "农业农村", None)
    assert [document.id for document in library.latest_documents(10, category="农业农村")] == [2]
    assert [document.id for document in library.latest_documents(10, category="乡村振兴")] == []
    assert search(library, "乡村振兴").ids == (2,)  # the index is untouched


@pytest.mark.parametrize(
    ("title", "reason"),
    [("", "empty"), ("   \n\t ", "empty"), ("标" * 61, "too_long")],
)
def test_bad_titles_are_refused(library, title, reason):
    with pytest.raises(BadEdit) as raised:
        sharing.retitle(library, 1, title)
    assert raised.value.reason == reason
    assert document_rows(library)[0] == (1, UNION_TITLE, "工会", None)
    assert title_hits(library, "全委会议") == [1]


def test_the_longest_title_and_category_are_accepted(library):
    assert sharing.retitle(library, 1, "标" * 60).title == "标" * 60
    assert sharing.recategorize(library, 1, "类" * 12).category == "类" * 12


@pytest.mark.parametrize(("category", "reason"), [("", "empty"), ("  ", "empty"), ("类" * 13, "too_long")])
def test_bad_categories_are_refused(library, category, reason):
    with pytest.raises(BadEdit) as raised:
        sharing.recategorize(library, 1, category)
    assert raised.value.reason == reason
    assert document_rows(library)[0] == (1, UNION_TITLE, "工会", None)


# -- the index stays consistent -------------------------------------------------------------------

PROBES = ["工会", "全委会议", "乡村振兴", "安全生产", "同志们", "职工", "表彰", "比武", "整改", "讲话", "大会", "会议"]
TITLES = ["在职工技能比武表彰大会上的讲话", "全镇安全生产整改会议讲话", "同志们好", "工会工作要点", UNION_TITLE]


def test_the_index_matches_the_text_after_many_edits(library):
    moves = random.Random(20261124)
    for step in range(150):
        document_id = moves.randint(1, 3)
        action = moves.choice(["delete", "restore", "retitle"])
        try:
            if action == "delete":
                sharing.delete_document(library, document_id, NOW + timedelta(minutes=step))
            elif action == "restore":
                sharing.restore_document(library, document_id)
            else:
                sharing.retitle(library, document_id, moves.choice(TITLES))
        except DocumentNotFound:
            pass  # deleting a deleted document, restoring or retitling a live/deleted one
        if step % 10 == 9:
            assert_index_consistent(library)
    assert_index_consistent(library)
    # And it all comes back: every document restored is found by every word of its own.
    for document_id in (1, 2, 3):
        try:
            sharing.restore_document(library, document_id)
        except DocumentNotFound:
            pass
    assert_index_consistent(library)
    assert search(library, "困难职工").ids == (1,)
    assert search(library, "厕所革命").ids == (2,)
    assert search(library, "危险化学品").ids == (3,)


def assert_index_consistent(store) -> None:
    # FTS5's own check of its structure (for a contentless table it cannot compare with content).
    store.db.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES('integrity-check', 1)")
    store.db.execute("INSERT INTO titles_fts(titles_fts, rank) VALUES('integrity-check', 1)")
    live = list(store.iter_documents())
    assert indexed_rows(store) == ([d.id for d in live], [d.id for d in live])
    # What the index finds is exactly what the text contains.
    for word in PROBES:
        expression = term_match_expression(word)
        in_text = sorted(d.id for d in live if word in normalize(d.title) or word in normalize(d.body))
        in_title = sorted(d.id for d in live if word in normalize(d.title))
        assert sorted(store.matching_ids(expression)) == in_text, word
        assert title_hits(store, word) == in_title, word


# -- subscriptions ------------------------------------------------------------------------------------

USER = "30002"


def subscription_rows(store) -> list[tuple]:
    return store.db.execute("SELECT user_id, term, created_at FROM subscriptions ORDER BY user_id, term").fetchall()


def test_subscribe_normalizes_and_reports_duplicates(store):
    assert sharing.subscribe(store, USER, " 乡村振兴 ", NOW) == ("乡村振兴", True)
    assert sharing.subscribe(store, USER, "鄉村振興", LATER) == ("乡村振兴", False)  # traditional
    assert sharing.subscribe(store, USER, "ＡＩ应用", NOW) == ("ai应用", True)  # full width, case
    assert sharing.subscribe(store, USER, "AI应用", LATER) == ("ai应用", False)
    assert sharing.subscribe(store, USER, "「工会」！", NOW) == ("工会", True)  # punctuation around a word
    assert subscription_rows(store) == [
        (USER, "ai应用", NOW_TEXT),
        (USER, "乡村振兴", NOW_TEXT),
        (USER, "工会", NOW_TEXT),
    ]
    assert sharing.subscribe(store, "30003", "工会", NOW) == ("工会", True)  # another member's own list
    assert store.subscriptions_of(USER) == ["ai应用", "乡村振兴", "工会"]


def test_at_most_twenty_terms(store):
    terms = [f"关键词{number:02d}" for number in range(20)]
    for term in terms:
        assert sharing.subscribe(store, USER, term, NOW) == (term, True)
    with pytest.raises(SubscriptionRefused) as raised:
        sharing.subscribe(store, USER, "第二十一个", NOW)
    assert raised.value.reason == "too_many"
    assert sharing.subscribe(store, USER, "关键词05", NOW) == ("关键词05", False)  # not a new one
    assert store.subscriptions_of(USER) == terms
    sharing.unsubscribe(store, USER, "关键词00")
    assert sharing.subscribe(store, USER, "第二十一个", NOW) == ("第二十一个", True)
    assert len(store.subscriptions_of(USER)) == 20


@pytest.mark.parametrize(
    "text",
    ["", "   ", "工", "Ａ", "工" * 21, "工会 维权", "工会，维权", "！？，。…", "[CQ:at,qq=all]"],
    ids=["empty", "blank", "one-character", "one-full-width", "21-characters", "two-words", "comma", "punctuation", "cq-code"],
)
def test_bad_terms_are_refused(store, text):
    with pytest.raises(SubscriptionRefused) as raised:
        sharing.subscribe(store, USER, text, NOW)
    assert raised.value.reason == "bad_term"
    assert subscription_rows(store) == []


def test_the_length_limits_are_inclusive(store):
    assert sharing.subscribe(store, USER, "工会", NOW) == ("工会", True)
    assert sharing.subscribe(store, USER, "工" * 20, NOW) == ("工" * 20, True)


def test_unsubscribe(store):
    sharing.subscribe(store, USER, "乡村振兴", NOW)
    sharing.subscribe(store, USER, "工会", NOW)
    assert sharing.unsubscribe(store, USER, "鄉村振興") == "乡村振兴"
    assert subscription_rows(store) == [(USER, "工会", NOW_TEXT)]
    for text, reason in [("乡村振兴", "unknown"), ("安全生产", "unknown"), ("工", "bad_term")]:
        with pytest.raises(SubscriptionRefused) as raised:
            sharing.unsubscribe(store, USER, text)
        assert raised.value.reason == reason
    with pytest.raises(SubscriptionRefused):
        sharing.unsubscribe(store, "30003", "工会")  # someone else's term
    assert subscription_rows(store) == [(USER, "工会", NOW_TEXT)]


# -- notices to subscribers -----------------------------------------------------------------------------

ACTIVE = "30002"
VISITOR = "30003"
EXPIRED = "30004"
BANNED = "30005"
TWO_TERMS = "30006"
OTHER_TOPIC = "30007"
LIFETIME = "30008"


def grant(store, user: str, length: str = "1月", *, at: datetime = NOW) -> None:
    members.extend(store, user, parse_duration(length), now=at, actor="test")


@pytest.fixture
def subscribers(library):
    grant(library, ACTIVE)
    grant(library, EXPIRED, "1天", at=NOW - timedelta(days=3))
    grant(library, BANNED)
    members.ban(library, BANNED, "倒卖", now=NOW, actor="test")
    grant(library, TWO_TERMS)
    grant(library, OTHER_TOPIC)
    grant(library, LIFETIME, "永久")
    for user, term in [
        (ACTIVE, "工会"),
        (VISITOR, "工会"),
        (EXPIRED, "工会"),
        (BANNED, "工会"),
        (TWO_TERMS, "维权"),
        (TWO_TERMS, "工会"),
        (OTHER_TOPIC, "乡村振兴"),
        (LIFETIME, "工會"),
    ]:
        library.add_subscription(user, normalize(term), NOW)
    return library


def notice_rows(store) -> list[tuple]:
    return store.db.execute(
        "SELECT user_id, document_id, term, at FROM subscription_notices ORDER BY user_id, document_id"
    ).fetchall()


def test_only_active_members_are_told_once(subscribers):
    union = subscribers.get_document(1)
    notices = sharing.claim_notices(subscribers, union, now=LATER, daily_cap=10)
    assert [(notice.user_id, notice.document.id) for notice in notices] == [
        (ACTIVE, 1),
        (TWO_TERMS, 1),
        (LIFETIME, 1),
    ]
    assert notices[0] == Notice(ACTIVE, "工会", union)
    assert notices[1].term in ("维权", "工会")  # either of its words; one notice all the same
    assert notices[2].term == "工会"
    later_text = "2026-11-24T03:00:00+00:00"
    assert notice_rows(subscribers) == [
        (ACTIVE, 1, "工会", later_text),
        (TWO_TERMS, 1, notices[1].term, later_text),
        (LIFETIME, 1, "工会", later_text),
    ]
    # Called again (a second run, a re-import): nobody is told twice.
    assert sharing.claim_notices(subscribers, union, now=LATER + timedelta(minutes=5), daily_cap=10) == []
    assert len(notice_rows(subscribers)) == 3


def test_a_word_in_the_body_is_enough(subscribers):
    safety = subscribers.get_document(3)  # 工会 in the body only
    notices = sharing.claim_notices(subscribers, safety, now=LATER, daily_cap=10)
    assert [(notice.user_id, notice.term) for notice in notices] == [(ACTIVE, "工会"), (TWO_TERMS, "工会"), (LIFETIME, "工会")]


def test_a_document_without_the_word_tells_nobody_but_its_subscribers(subscribers):
    rural = subscribers.get_document(2)
    notices = sharing.claim_notices(subscribers, rural, now=LATER, daily_cap=10)
    assert notices == [Notice(OTHER_TOPIC, "乡村振兴", rural)]


def test_each_member_gets_at_most_the_daily_cap(library):
    grant(library, ACTIVE)
    library.add_subscription(ACTIVE, "同志们", NOW)  # in all three documents
    union, rural, safety = (library.get_document(number) for number in (1, 2, 3))
    assert [n.document.id for n in sharing.claim_notices(library, union, now=LATER, daily_cap=2)] == [1]
    assert [n.document.id for n in sharing.claim_notices(library, rural, now=LATER, daily_cap=2)] == [2]
    assert sharing.claim_notices(library, safety, now=LATER, daily_cap=2) == []
    # 16:00 UTC is midnight in Shanghai: a new day, a new allowance.
    next_day = datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)
    assert sharing.claim_notices(library, safety, now=next_day - timedelta(seconds=1), daily_cap=2) == []
    assert [n.document.id for n in sharing.claim_notices(library, safety, now=next_day, daily_cap=2)] == [3]


def test_a_released_claim_can_be_made_again(subscribers):
    union = subscribers.get_document(1)
    sharing.claim_notices(subscribers, union, now=LATER, daily_cap=10)
    subscribers.release_subscription_notice(ACTIVE, 1)  # the send failed
    assert [n.user_id for n in sharing.claim_notices(subscribers, union, now=LATER, daily_cap=10)] == [ACTIVE]


# -- scheduled pushes ------------------------------------------------------------------------------------


def local_noon(day: int) -> datetime:
    """12:00 in Shanghai on 2026-11-<day>."""
    return datetime(2026, 11, day, 4, 0, tzinfo=timezone.utc)


def test_the_recommendation_changes_every_day(library):
    previous = None
    seen = set()
    for day in range(24, 30):
        picked = sharing.pick_recommendation(library, local_noon(day))
        assert picked is not None
        assert picked.id != previous
        # Stable within the day: earlier and later runs agree, before and after it was pushed.
        assert sharing.pick_recommendation(library, local_noon(day) - timedelta(hours=3)).id == picked.id
        library.log_push("recommend", picked.id, local_noon(day), "schedule")
        assert sharing.pick_recommendation(library, local_noon(day) + timedelta(hours=11)).id == picked.id
        previous = picked.id
        seen.add(picked.id)
    assert len(seen) >= 2
    assert [row[0] for row in library.db.execute("SELECT kind FROM push_log")] == ["recommend"] * 6


def test_the_last_recommendation_is_never_the_next_one(library):
    for document_id in (1, 2, 3):
        for day in range(24, 30):
            library.log_push("recommend", document_id, local_noon(day - 1), "schedule")
            assert sharing.pick_recommendation(library, local_noon(day)).id != document_id


def test_recommendation_skips_deleted_documents_and_an_empty_library(library):
    sharing.delete_document(library, 1, NOW)
    sharing.delete_document(library, 2, NOW)
    assert sharing.pick_recommendation(library, local_noon(25)).id == 3
    # Yesterday's pick was deleted since: today's is still a live one.
    library.log_push("recommend", 3, local_noon(25), "schedule")
    sharing.restore_document(library, 2)
    sharing.delete_document(library, 3, NOW)
    assert sharing.pick_recommendation(library, local_noon(25) + timedelta(hours=1)).id == 2
    sharing.delete_document(library, 2, NOW)
    assert sharing.pick_recommendation(library, local_noon(26)) is None


def test_the_digest_has_what_came_since_the_last_digest(library):
    assert [d.id for d in sharing.digest_documents(library, LATER)] == [3, 2, 1]
    library.log_push("digest", None, LATER, "schedule")
    assert sharing.digest_documents(library, LATER + timedelta(days=1)) == []
    text = distributed("在全市教育工作会议上的讲话", "教育是国之大计，党之大计。要落实立德树人根本任务，办好人民满意的教育，关心教师成长。")
    outcome = import_document(library, "jiaoyu.txt", text.encode(), now=LATER + timedelta(days=2))
    assert outcome.status == "imported"
    assert [d.id for d in sharing.digest_documents(library, LATER + timedelta(days=3))] == [4]
    sharing.delete_document(library, 4, LATER + timedelta(days=3))
    assert sharing.digest_documents(library, LATER + timedelta(days=3)) == []


def test_the_digest_looks_back_a_week_at_most(library):
    assert [d.id for d in sharing.digest_documents(library, NOW + timedelta(days=7))] == [3, 2, 1]
    assert sharing.digest_documents(library, NOW + timedelta(days=7, seconds=1)) == []
    # A digest long ago does not reach further back than a week either.
    library.log_push("digest", None, NOW - timedelta(days=30), "schedule")
    assert sharing.digest_documents(library, NOW + timedelta(days=8)) == []
    assert [d.id for d in sharing.digest_documents(library, NOW + timedelta(days=6))] == [3, 2, 1]


def test_the_digest_is_limited(library):
    assert [d.id for d in sharing.digest_documents(library, LATER, limit=2)] == [3, 2]


def test_push_log_rows(library):
    library.log_push("announce", 2, NOW, "10001")
    library.log_push("digest", None, LATER, "schedule")
    assert list(library.db["push_log"].rows) == [
        {"id": 1, "kind": "announce", "document_id": 2, "at": NOW_TEXT, "actor": "10001"},
        {"id": 2, "kind": "digest", "document_id": None, "at": utc_text(LATER), "actor": "schedule"},
    ]
    assert library.last_pushed("announce") == 2
    assert library.last_push_at("digest") == LATER
    assert library.last_pushed("recommend") is None


def test_an_admin_who_subscribed_is_notified_too(library):
    from wenku import sharing
    from wenku.importer import import_document

    sharing.subscribe(library, "10001", "乡村振兴", NOW)
    outcome = import_document(library, "new.txt", "乡村振兴新讲话\n要把乡村振兴各项任务落到实处，推进农业农村现代化。".encode(), now=NOW)
    document = library.get_document(outcome.document_id)
    assert sharing.claim_notices(library, document, now=NOW, daily_cap=5) == []
    notices = sharing.claim_notices(library, document, now=NOW, daily_cap=5, admins={"10001"})
    assert [(notice.user_id, notice.term) for notice in notices] == [("10001", "乡村振兴")]
