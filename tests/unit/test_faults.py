"""A full database during an import, on a real SQLite file: all of a document or none of it.

SQLite refuses to grow a database past ``PRAGMA max_page_count`` with
SQLITE_FULL ("database or disk is full"), the error a full disk gives. The
limit belongs to one connection, so it is set on the store the import uses.
Setting it to 1 means "no new page" (SQLite raises it to the current size).

The end-to-end counterparts (a full database under the bot's chat upload,
SIGKILL during the bot's imports and its daily job) are in
tests/e2e/test_faults_e2e.py; SIGKILL during ``wenku import`` is in test_cli.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from wenku import codes, members, reports, texts
from wenku.durations import parse_duration
from wenku.importer import import_document, import_paths
from wenku.search import match_expression
from wenku.store import Store

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
NO_LIMIT = 1073741823  # SQLite's default max_page_count


def material(number: int, paragraphs: int) -> str:
    """A document whose every paragraph carries the marker 甲{number}乙, so a search finds it and only it."""
    paragraph = "第{number}号材料第{line}段，唯一标记甲{number}乙，坚持问题导向，推进工作落实。"
    body = "\n".join(paragraph.format(number=number, line=line) for line in range(paragraphs))
    return f"材料{number}\n{body}"


def library(path: Path) -> Store:
    """A store on a real file with three small documents, a member, two codes and a report."""
    store = Store.open(path)
    for number in range(3):
        outcome = import_document(store, f"{number}.txt", material(number, 10).encode(), now=NOW)
        assert outcome.imported, outcome
    members.extend(store, "30001", parse_duration("1年"), now=NOW, actor="10001")
    codes.generate(store, 2, parse_duration("1月"), now=NOW, actor="10001")
    reports.file_report(store, reporter="30002", reported="30003", text="倒卖", group_id=None, now=NOW, admins={"10001"})
    return store


CENSUS = ("documents", "members", "member_events", "codes", "reports", "deliveries")


def census(store: Store) -> dict[str, int]:
    return {table: store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in CENSUS}


def assert_whole(store: Store) -> None:
    """SQLite's checks pass; every document is in both FTS indexes and has its sketch; nothing orphaned."""
    db = store.db
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 0)")
    db.execute("INSERT INTO titles_fts(titles_fts, rank) VALUES ('integrity-check', 0)")
    documents = {row[0] for row in db.execute("SELECT id FROM documents")}
    assert {row[0] for row in db.execute("SELECT id FROM documents_fts_docsize")} == documents
    assert {row[0] for row in db.execute("SELECT id FROM titles_fts_docsize")} == documents
    assert {row[0] for row in db.execute("SELECT DISTINCT document_id FROM sketches")} == documents
    for document in store.iter_documents():
        marker = "甲" + document.title.removeprefix("材料") + "乙"
        assert store.matching_ids(match_expression([marker])) == [document.id]


def written_table(statement: str) -> str:
    """The table an INSERT (or FTS5's own REPLACE into its shadow tables) writes to."""
    words = statement.removeprefix("-- ").replace("'", "").split()
    target = words[2] if words[0] in ("INSERT", "REPLACE") and words[1] == "INTO" else ""
    return target.removeprefix("main.").split("(")[0]


def test_a_full_database_at_any_point_of_an_import_leaves_the_document_wholly_in_or_out(tmp_path: Path) -> None:
    """The limit is swept from "no new page" upwards, so the database fills at each step of the write
    in turn: the document row, then its index. Each time either the whole document is stored or none of it."""
    big = material(9, 120).encode()  # ~6,000 characters: a few pages of row, index and sketch
    failed_while_writing: set[str] = set()
    outcomes: list[str] = []
    for spare_pages in range(16):  # the document needs about half of these
        store = library(tmp_path / f"spare-{spare_pages}.db")
        before = census(store)
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)  # to see where the database filled up
        outcome = import_document(store, "big.txt", big, now=NOW)
        if outcome.status == "failed":
            # The full database is reported as such, not raised, and nothing of the file stays.
            assert outcome.reason == texts.database_full()
            outcomes.append("full")
            failed_while_writing.add(written_table([s for s in statements if written_table(s)][-1]))
            assert census(store) == before
        else:
            assert outcome.imported
            outcomes.append("imported")
            assert census(store) == {**before, "documents": 4}
        store.db.conn.set_trace_callback(None)
        assert_whole(store)

        # With room again, the same file imports whole (or is a duplicate of the one stored).
        store.db.execute(f"PRAGMA max_page_count = {NO_LIMIT}")
        again = import_document(store, "big.txt", big, now=NOW)
        assert again.status == ("imported" if outcomes[-1] == "full" else "duplicate")
        assert census(store) == {**before, "documents": 4}
        assert_whole(store)
        store.close()

    # The sweep crossed the boundary once: full up to some size, imported from there on.
    boundary = outcomes.index("imported")
    assert 0 < boundary and outcomes == ["full"] * boundary + ["imported"] * (len(outcomes) - boundary)
    # It filled up while writing the row and, later, while writing the index after the row was in.
    assert {"documents", "documents_fts_data"} <= failed_while_writing, failed_while_writing


def test_a_batch_into_a_full_database_fails_file_by_file_and_completes_when_run_again(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for number in range(10, 14):
        (folder / f"{number}.txt").write_text(material(number, 40), encoding="utf-8")
    store = library(tmp_path / "w.db")
    before = census(store)
    store.db.execute("PRAGMA max_page_count = 1")

    full = import_paths(store, [folder], now=NOW)

    assert [(Path(outcome.name).name, outcome.status) for outcome in full] == [
        ("10.txt", "failed"), ("11.txt", "failed"), ("12.txt", "failed"), ("13.txt", "failed"),
    ]  # fmt: skip
    assert census(store) == before
    assert_whole(store)

    store.db.execute(f"PRAGMA max_page_count = {NO_LIMIT}")
    resumed = import_paths(store, [folder], now=NOW)
    repeated = import_paths(store, [folder], now=NOW)

    assert [outcome.status for outcome in resumed] == ["imported"] * 4
    assert [outcome.status for outcome in repeated] == ["duplicate"] * 4
    assert census(store) == {**before, "documents": 7}
    assert_whole(store)
    store.close()


def test_a_file_refused_by_a_full_database_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "10.txt").write_text(material(10, 40), encoding="utf-8")
    store = library(tmp_path / "w.db")
    store.db.execute("PRAGMA max_page_count = 1")

    [outcome] = import_paths(store, [folder], now=NOW)

    assert outcome.status == "failed"
    assert outcome.reason == texts.database_full()
    store.close()

