"""Smoke test of the benchmarks in bench/: they run end to end on a small library.

Slow (tens of seconds), so deselected by default; run with ``uv run pytest -m slow``.
Only correctness is asserted (search finds exactly the documents that contain
every word); timings depend on the machine and are never checked here.
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
