import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from click.testing import CliRunner

from wenku.cli import main
from wenku.search import match_expression
from wenku.store import Store

from .fixtures import RURAL_BODY, RURAL_TITLE, UNION_BODY, UNION_TITLE, distributed


def _folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(distributed(UNION_TITLE, UNION_BODY), encoding="utf-8")
    (folder / "b.txt").write_text(distributed(RURAL_TITLE, RURAL_BODY), encoding="gbk")
    (folder / "c.pdf").write_bytes(b"%PDF-1.4 broken")
    return folder


def test_import_search_stats(tmp_path, monkeypatch):
    monkeypatch.setenv("WENKU_ENV_FILE", str(tmp_path / "none.env"))
    db = str(tmp_path / "w.db")
    runner = CliRunner()
    result = runner.invoke(main, ["--db", db, "import", str(_folder(tmp_path))])
    assert result.exit_code == 1  # one file failed, and the operator should notice
    assert "已导入 #1 在区总工会全委会议上的讲话（工会）" in result.output
    assert "c.pdf：PDF 文件损坏" in result.output
    assert "共 3 个文件：导入 2，重复跳过 0，失败 1" in result.output

    result = runner.invoke(main, ["--db", db, "search", "工会", "--json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(row["number"], row["title"], row["category"]) for row in rows] == [(1, UNION_TITLE, "工会")]
    assert set(rows[0]) == {"number", "title", "category", "score", "snippet"}
    assert "【工会】" in rows[0]["snippet"]

    result = runner.invoke(main, ["--db", db, "search", '"*(NEAR'])
    assert result.exit_code == 0
    assert "没有找到包含「near」的文档" in result.output

    result = runner.invoke(main, ["--db", db, "search", "【】"])
    assert result.exit_code == 2
    assert "请在「搜索」后面写上关键词" in result.output

    result = runner.invoke(main, ["--db", db, "stats"])
    assert result.exit_code == 0
    assert result.output.startswith("文档：2 篇\n分类：")


def test_db_setting_comes_from_the_env_file(tmp_path, monkeypatch):
    env = tmp_path / "settings.env"
    env.write_text(f"WENKU_DB={tmp_path / 'from_env.db'}\n", encoding="utf-8")
    monkeypatch.setenv("WENKU_ENV_FILE", str(env))
    monkeypatch.delenv("WENKU_DB", raising=False)
    result = CliRunner().invoke(main, ["import", str(_folder(tmp_path) / "a.txt")])
    assert result.exit_code == 0, result.output
    assert Store.open(tmp_path / "from_env.db").document_count() == 1


def _count_documents(db) -> int:
    # A plain read-only connection: the importer owns the schema while it runs.
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_kill_during_import_leaves_a_consistent_database(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(400):
        body = "\n".join(f"第{index}号材料第{line}段，唯一标记甲{index}乙，推进工作落实。" * 8 for line in range(30))
        (folder / f"{index:04}.txt").write_text(f"材料{index}\n{body}", encoding="utf-8")
    db = tmp_path / "w.db"
    env = {**os.environ, "WENKU_ENV_FILE": str(tmp_path / "none.env")}
    command = [sys.executable, "-m", "wenku.cli", "--db", str(db), "import", "--quiet", str(folder)]
    log = (tmp_path / "import.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and _count_documents(db) < 20:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    imported = _count_documents(db)
    assert 20 <= imported < 400, (tmp_path / "import.log").read_text()

    store = Store.open(db)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every stored document is fully indexed: its own marker word finds it and only it.
    for document in store.iter_documents():
        marker = "甲" + document.title.removeprefix("材料") + "乙"
        assert store.matching_ids(match_expression([marker])) == [document.id]
    store.close()
    # Running the same import again completes the batch without importing anything twice.
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert f"导入 {400 - imported}，重复跳过 {imported}，失败 0" in finished.stdout
    assert _count_documents(db) == 400
