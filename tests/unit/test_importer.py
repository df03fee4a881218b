from wenku import texts

from wenku.importer import ImportRules, import_document, import_paths

from .conftest import NOW
from .fixtures import RURAL_BODY, RURAL_TITLE, UNION_BODY, UNION_TITLE, distributed


def test_import_reports_number_title_category_keywords(store):
    outcome = import_document(store, "union.txt", distributed(UNION_TITLE, UNION_BODY).encode("gbk"), now=NOW)
    assert (outcome.status, outcome.document_id, outcome.title, outcome.category) == (
        "imported",
        1,
        UNION_TITLE,
        "工会",
    )
    assert "职工" in outcome.keywords
    assert outcome.near_duplicates == ()
    document = store.get_document(1)
    assert document.body == UNION_BODY
    assert document.source == "union.txt"


def test_exact_duplicate_is_refused_even_with_other_spacing(library):
    respaced = distributed(UNION_TITLE, UNION_BODY.replace("，", ", ").replace("\n", "\n\n"))
    outcome = import_document(library, "again.txt", respaced.encode(), now=NOW)
    assert (outcome.status, outcome.document_id, outcome.title) == ("duplicate", 1, UNION_TITLE)
    assert library.document_count() == 3


def test_second_version_is_imported_and_reports_the_first(library):
    revised = UNION_BODY.replace("持续开展劳动竞赛和技能比武", "广泛开展劳动和技能竞赛") + "\n最后，祝大家工作顺利。"
    outcome = import_document(library, "v2.txt", distributed(UNION_TITLE + "（修改稿）", revised).encode(), now=NOW)
    assert outcome.status == "imported"
    assert [near.document_id for near in outcome.near_duplicates] == [1]
    assert outcome.near_duplicates[0].similarity >= 0.5


def test_folder_import_survives_bad_files_and_imports_nothing_twice(store, tmp_path):
    (tmp_path / "a.txt").write_text(distributed(UNION_TITLE, UNION_BODY), encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(distributed(RURAL_TITLE, RURAL_BODY).encode("gb18030"))
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "notes.xlsx").write_bytes(b"ignored: not a supported suffix inside folders")
    first = import_paths(store, [tmp_path], now=NOW)
    assert [(o.name.rsplit("/", 1)[-1], o.status) for o in first] == [
        ("a.txt", "imported"),
        ("b.txt", "imported"),
        ("broken.docx", "failed"),
    ]
    assert "docx" in first[2].reason
    second = import_paths(store, [tmp_path], now=NOW)
    assert [o.status for o in second] == ["duplicate", "duplicate", "failed"]
    assert store.document_count() == 2


def test_lines_recurring_across_a_batch_are_stripped(store, tmp_path):
    bodies = [UNION_BODY, RURAL_BODY, UNION_BODY.replace("工会", "妇联"), RURAL_BODY.replace("镇", "乡")]
    for index, body in enumerate(bodies):
        (tmp_path / f"{index}.txt").write_text(f"某某文稿网独家发布\n标题{index}\n{body}", encoding="utf-8")
    outcomes = import_paths(store, [tmp_path], now=NOW)
    assert [o.title for o in outcomes] == ["标题0", "标题1", "标题2", "标题3"]
    assert not any("文稿网" in document.body for document in store.iter_documents())


def test_configured_rules_win(store):
    rules = ImportRules.from_settings(["^本文由.*提供$"], {"劳模工作": ["技能比武"]})
    text = "本文由某某提供\n" + distributed("在区总工会全委会议上的讲话", UNION_BODY)
    outcome = import_document(store, "x.txt", text.encode(), now=NOW, rules=rules)
    assert outcome.category == "工会"  # title words weigh ten times: 工会 still wins
    outcome = import_document(store, "y.txt", "技能比武动员\n" "要开展技能比武，技能比武要常态化。".encode() * 2, now=NOW, rules=rules)
    assert outcome.category == "劳模工作"
    assert "本文由" not in store.get_document(1).body


def test_empty_body_fails_with_reason(store):
    outcome = import_document(store, "t.txt", "仅供学习 禁止外传\n只有标题".encode(), now=NOW)
    assert (outcome.status, outcome.reason) == ("failed", "正文太短或没有正文")
    assert store.document_count() == 0


def test_full_database_mid_import_leaves_nothing_half_written(library):
    pages = library.db.execute("PRAGMA page_count").fetchone()[0]
    library.db.execute(f"PRAGMA max_page_count = {pages + 1}")
    long_body = "\n".join(f"第{i}段：坚持以职工为中心，围绕中心服务大局，推进产业工人队伍建设改革。" for i in range(400))
    outcome = import_document(library, "big.txt", distributed("大文档", long_body).encode(), now=NOW)
    assert (outcome.status, outcome.title, outcome.reason) == ("failed", "大文档", texts.database_full())
    assert library.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 3
    assert library.db.execute("SELECT count(DISTINCT document_id) FROM sketches").fetchone()[0] == 3
    assert library.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(library.matching_ids('"工会"')) == [1, 3]


def test_reimporting_a_deleted_document_points_to_restore(library):
    from wenku import texts
    from wenku.sharing import delete_document

    delete_document(library, 1, NOW)
    outcome = import_document(library, "again.txt", distributed(UNION_TITLE, UNION_BODY).encode(), now=NOW)
    assert (outcome.status, outcome.document_id, outcome.duplicate_of_deleted) == ("duplicate", 1, True)
    assert texts.import_outcome(outcome) == (
        f"跳过 again.txt：与已删除的 #1 {UNION_TITLE} 完全相同，需要时发送「恢复 1」恢复"
    )
