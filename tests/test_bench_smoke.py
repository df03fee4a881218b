"""Smoke test of the benchmarks in bench/: they run end to end on a small library.

Slow (tens of seconds), so deselected by default; run with ``uv run pytest -m slow``.
Only correctness is asserted (search finds exactly the documents that contain
every word; under load every request is answered once, without errors, and
pacing holds); timings depend on the machine and are never checked here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
DOCS = 300

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def requirements() -> None:
    if not any(CORPUS.glob("*.jsonl")):
        pytest.skip(f"benchmark corpus not found in {CORPUS}")


@pytest.fixture
def tantivy() -> None:
    pytest.importorskip("tantivy", reason="tantivy is not installed (uv sync --group bench)")


def run_benchmark(script: str, *args: str) -> dict:
    """Run bench/<script> with a small library; return the JSON object of its last line."""
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / script), "--docs", str(DOCS), *args],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-3000:]
    return json.loads(lines[-1])


@pytest.mark.usefixtures("tantivy")
def test_search_benchmark_finds_exactly_the_documents_holding_every_word() -> None:
    result = run_benchmark("search.py")
    assert result["docs"] == DOCS
    assert result["queries"] >= 200
    assert result["recall"] == 1.0
    assert result["false_positives"] == 0
    assert result["tantivy_count_mismatches"] == 0
    for key in ("p50_ms", "p99_ms", "like_p50_ms", "tantivy_p50_ms", "db_mb", "build_s"):
        assert isinstance(result[key], (int, float)), key


def test_import_benchmark_imports_every_document() -> None:
    result = run_benchmark("import.py")
    assert result["docs"] == DOCS
    assert result["statuses"] == {"imported": DOCS}
    for key in ("seconds", "docs_per_s", "db_mb"):
        assert isinstance(result[key], (int, float)), key


def test_e2e_benchmark_answers_every_request_once_while_importing() -> None:
    """bench/e2e.py at a small scale: the real bot and the echo ceiling, an import, a paced burst."""
    result = run_benchmark(
        "e2e.py",
        *("--requests", "200", "--users", "20", "--imports", "20", "--warmup", "10", "--solo", "10"),
        *("--burst", "30", "--pace-interval", "0.05"),
    )
    assert result["docs"] == DOCS
    for run in ("bot", "echo_before", "echo_after"):
        assert result[run]["answered"] == result[run]["requests"] == 200, run
        assert result[run]["duplicate_replies"] == 0 and result[run]["unmatched_frames"] == 0, run
    assert result["lost"] == result["duplicate_replies"] == result["unmatched_frames"] == 0
    assert result["errors"] == 0 and result["database_locked"] == 0
    assert result["import"]["complete"] and result["import"]["statuses"] == {"已导入": 20}
    pacing = result["pacing"]
    assert pacing["answered"] == pacing["requests"] == 30 and pacing["lost"] == 0
    assert pacing["sends"] >= 30 and pacing["gaps_under_interval"] == 0
    for key in ("rps", "p50_ms", "p99_ms", "ceiling_rps", "rps_ratio", "p50_ratio", "rss_mib"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
