import json

from wenku.store import NewDocument, Store, migrations

from .conftest import NOW


def test_migrations_create_the_schema(store):
    assert set(store.db.table_names()) >= {"documents", "documents_fts", "titles_fts", "sketches", "searches", "meta"}
    assert [m.name for m in migrations.applied(store.db)] == ["m001_library", "m002_members", "m003_reports", "m004_sketch_lookup", "m005_sharing"]


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "w.db"
    Store.open(path).close()
    reopened = Store.open(path)
    assert reopened.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == 5
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_document_stores_row_index_and_sketch(store):
    document_id = store.add_document(
        NewDocument(
            title="测试标题",
            category="工会",
            keywords=("工会", "维权"),
            body="工会维权工作",
            content_hash="abc",
            sketch=(3, 1, 2),
            source="a.txt",
        ),
        NOW,
    )
    assert list(store.db["documents"].rows) == [
        {
            "id": document_id,
            "title": "测试标题",
            "category": "工会",
            "keywords": '["工会", "维权"]',
            "body": "工会维权工作",
            "chars": 6,
            "content_hash": "abc",
            "source": "a.txt",
            "imported_at": "2026-11-24T02:00:00+00:00",
            "deleted_at": None,
        }
    ]
    assert store.db.execute("SELECT value, document_id FROM sketches ORDER BY value").fetchall() == [
        (1, 1),
        (2, 1),
        (3, 1),
    ]
    assert store.matching_ids('"维权"') == [1]
    assert store.ranked_window('"测试"', titles_only=True, window=10)[0][0] == 1


def test_log_search_row(store):
    store.log_search(now=NOW, origin="qq", user_id="42", group_id="20001", query="工会 维权", terms=["工会", "维权"], hits=3)
    assert list(store.db["searches"].rows) == [
        {
            "id": 1,
            "at": "2026-11-24T02:00:00+00:00",
            "user_id": "42",
            "group_id": "20001",
            "origin": "qq",
            "query": "工会 维权",
            "terms": json.dumps(["工会", "维权"], ensure_ascii=False),
            "hits": 3,
        }
    ]
    assert store.top_search_terms(NOW, 5) == [("工会", 1), ("维权", 1)]


def test_changed_tokenizer_rebuilds_index(library):
    library.set_meta("tokenizer", "old")
    library.db.execute("INSERT INTO documents_fts(documents_fts) VALUES('delete-all')")
    assert library.matching_ids('"工会"') == []
    reopened = Store(library.db)
    assert sorted(reopened.matching_ids('"工会"')) == [1, 3]
