"""Watermark benchmark: marking and tracing cost, against the bot's own search.

    uv run python bench/watermark.py --docs 2000
    uv run python bench/watermark.py --docs 2000 --db bench/out/lib2000.db   # reuse a kept library

Measured in one run, on one machine, so that the ratios mean something:

* ``mark_text`` on an 8,000-character document (the longest a draft gets),
  made of stored bodies of the benchmark library;
* ``find_marks`` on 200-character fragments of the marked document, cut at
  random points (often inside a cluster) and re-wrapped, as an admin would
  paste a leaked excerpt; every one must name the delivery;
* the bot's search (``wenku.search.search`` then ``result_page(..., 1)``) over
  the library of ``bench/_library.py``, with the queries of ``bench/search.py``
  when it provides them;
* for information, ``find_marks`` on the whole marked document and
  ``fulltext_docx`` of it.

Every figure is a median. Human-readable lines come first; the last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _library  # noqa: E402
from _library import Corpus, fail, open_library, say  # noqa: E402
from wenku.docx_export import fulltext_docx  # noqa: E402
from wenku.search import result_page, search  # noqa: E402
from wenku.store import Store  # noqa: E402
from wenku.watermark import CLUSTER_LENGTH, MARK_CHARS, find_marks, mark_text, strip_marks  # noqa: E402

DEFAULT_DOCS = 5000
DOCUMENT_CHARS = 8000
FRAGMENT_CHARS = 200
SECRET = "bench-watermark-secret"
#: Queries used when bench/search.py offers no generator (or not the one expected).
FALLBACK_WORDS = ("工会", "维权", "经济", "改革", "教育", "扶贫", "党建", "廉政", "就业", "医疗", "科技", "创新")


def load_search_bench():
    """bench/search.py as a module, or None if it cannot be imported (it is edited separately)."""
    try:
        spec = importlib.util.spec_from_file_location("bench_search", BENCH / "search.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    except Exception as problem:  # noqa: BLE001 - any breakage there must not stop this benchmark
        sys.modules.pop("bench_search", None)
        say(f"bench/search.py could not be imported ({problem!r}): using the fallback queries")
        return None


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


# -- the bot's search ------------------------------------------------------------------


def query_texts(module, corpus: Corpus, store: Store, count: int, seed: int) -> tuple[list[str], str]:
    """The query strings and where they came from."""
    make_queries = getattr(module, "make_queries", None)
    if make_queries is not None:
        titles = [row[0] for row in store.db.execute("SELECT title FROM documents WHERE deleted_at IS NULL")]
        try:
            return [query.text for query in make_queries(corpus, titles, count, seed)], "bench/search.py make_queries"
        except Exception as problem:  # noqa: BLE001
            say(f"make_queries failed ({problem!r}): using the fallback queries")
    rng = random.Random(seed)
    return [rng.choice(FALLBACK_WORDS) for _ in range(count)], "fallback word list"


def search_latencies(store: Store, texts: list[str], repeat: int) -> list[float]:
    """Per query, the median seconds of search + first result page, after one warm-up pass."""
    for text in texts:
        result_page(store, search(store, text), 1)
    latencies = []
    for text in texts:
        samples = [timed(lambda text=text: result_page(store, search(store, text), 1)) for _ in range(repeat)]
        latencies.append(statistics.median(samples))
    return latencies


# -- watermarks ----------------------------------------------------------------------------


def sample_document(store: Store, size: int) -> str:
    """``size`` characters of stored bodies (newest first), joined by line breaks."""
    parts, total = [], 0
    for (body,) in store.db.execute("SELECT body FROM documents WHERE deleted_at IS NULL ORDER BY id DESC"):
        parts.append(body)
        total += len(body) + 1
        if total >= size:
            break
    text = "\n".join(parts)[:size]
    if len(text) < size:
        fail(f"the library holds only {len(text)} characters of text; build it with more --docs")
    return text


def fragments(rng: random.Random, marked: str, count: int) -> list[str]:
    """``count`` cuts of 200 visible characters at random places, edges at random inside the marks, re-wrapped."""
    visible = [i for i, char in enumerate(marked) if char not in MARK_CHARS]
    pieces = []
    for _ in range(count):
        start = rng.randrange(len(visible) - FRAGMENT_CHARS + 1)
        end = start + FRAGMENT_CHARS
        first = rng.randint(visible[start - 1] + 1 if start else 0, visible[start])
        last = rng.randint(visible[end - 1] + 1, visible[end] if end < len(visible) else len(marked))
        piece = marked[first:last].replace("\n", "")
        width = rng.randint(20, 60)
        pieces.append("\n".join(piece[i : i + width] for i in range(0, len(piece), width)))
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _library.add_library_arguments(parser)
    parser.set_defaults(docs=DEFAULT_DOCS)
    parser.add_argument("--queries", type=int, default=120, help="search queries (default %(default)s)")
    parser.add_argument("--search-repeat", type=int, default=3, help="timed runs per query")
    parser.add_argument("--marks", type=int, default=500, help="timed mark_text calls")
    parser.add_argument("--traces", type=int, default=3000, help="timed find_marks calls on fragments")
    args = parser.parse_args()
    if min(args.docs, args.queries, args.search_repeat, args.marks, args.traces) < 1:
        fail("--docs, --queries, --search-repeat, --marks and --traces must be at least 1")

    search_bench = load_search_bench()
    corpus = Corpus.load(args.corpus)
    scratch = Path(tempfile.mkdtemp(prefix="wenku-bench-"))
    try:
        db_path = args.db or scratch / "library.db"
        store, build = open_library(
            db_path, corpus, args.docs, args.seed, sketch_index=getattr(args, "sketch_index", False), log=say
        )
        docs = store.document_count()
        say(f"library: {docs} documents" + (" (reused)" if build.reused else f", built in {build.seconds:.1f} s"))

        texts, origin = query_texts(search_bench, corpus, store, args.queries, args.seed)
        say(f"search: {len(texts)} queries ({origin}), each timed {args.search_repeat}x after a warm-up")
        latencies = search_latencies(store, texts, args.search_repeat)
        document = sample_document(store, DOCUMENT_CHARS)
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rng = random.Random(args.seed)
    ids = [rng.randrange(2**32) for _ in range(args.marks)]
    for delivery_id in ids[:20]:  # warm-up: caches of the HMAC key and character tests
        mark_text(document, delivery_id=delivery_id, secret=SECRET)
    mark_samples = [timed(lambda i=i: mark_text(document, delivery_id=i, secret=SECRET)) for i in ids]

    delivery_id = ids[0]
    marked = mark_text(document, delivery_id=delivery_id, secret=SECRET)
    if strip_marks(marked) != document:
        fail("strip_marks did not give back the document")
    pieces = fragments(rng, marked, args.traces)
    wrong = sum(find_marks(piece, SECRET) != [delivery_id] for piece in pieces)
    trace_samples = [timed(lambda piece=piece: find_marks(piece, SECRET)) for piece in pieces]
    full_samples = [timed(lambda: find_marks(marked, SECRET)) for _ in range(200)]
    docx_samples = [timed(lambda: fulltext_docx("标题", marked, "仅供会员 123****89 使用")) for _ in range(20)]

    mark_ms, trace_ms = median_ms(mark_samples), median_ms(trace_samples)
    search_ms = statistics.median(latencies) * 1000
    growth = len(marked) / len(document) - 1

    say()
    clusters = (len(marked) - len(document)) // CLUSTER_LENGTH
    say(
        f"mark_text, {len(document)} characters:        median {mark_ms:.3f} ms over {len(mark_samples)} runs"
        f" (+{growth:.0%} characters, {clusters} clusters)"
    )
    say(
        f"find_marks, {FRAGMENT_CHARS}-character fragment: median {trace_ms:.4f} ms over {len(trace_samples)} fragments,"
        f" {wrong} not naming the delivery"
    )
    say(f"find_marks, whole marked document:   median {median_ms(full_samples):.3f} ms")
    say(f"fulltext_docx of the marked document: median {median_ms(docx_samples):.1f} ms")
    say(
        f"bot search + result page:            median {search_ms:.3f} ms over {len(latencies)} queries, {docs} documents"
    )
    say(f"ratios: mark / search {mark_ms / search_ms:.3f}, trace / search {trace_ms / search_ms:.4f}")

    result = {
        "mark_ms": round(mark_ms, 4),
        "trace_ms": round(trace_ms, 4),
        "search_p50_ms": round(search_ms, 3),
        "mark_ratio": round(mark_ms / search_ms, 4),
        "trace_ratio": round(trace_ms / search_ms, 5),
        "docs": docs,
        "trace_failures": wrong,
        "trace_full_ms": round(median_ms(full_samples), 4),
        "docx_ms": round(median_ms(docx_samples), 2),
        "marked_growth": round(growth, 3),
        "queries": len(latencies),
        "query_source": origin,
        "wenku": _library.WENKU_FINGERPRINT,
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    if wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
