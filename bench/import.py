"""Import throughput: documents per second through wenku.importer.import_document.

    uv run python bench/import.py --docs 2000
    uv run python bench/import.py --db bench/out/library.db   # keep the library for search.py

Builds the benchmark library (see bench/_library.py) into a new database and
reports how fast the real import path takes it in: reading and decoding the
bytes, cleaning, hashing, near-duplicate lookup, categories and keywords, and
the insert with its full-text index entries. Generating the drafts is not timed.
Human-readable lines come first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _library import (  # noqa: E402
    WENKU_FINGERPRINT,
    Corpus,
    add_library_arguments,
    db_megabytes,
    fail,
    generate_drafts,
    import_drafts,
    prepare_store,
    record_library,
    say,
)

from wenku.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_library_arguments(parser)
    parser.add_argument("--profile", action="store_true", help="also print the import's 25 costliest functions")
    args = parser.parse_args()
    if args.docs < 1:
        fail("--docs must be at least 1")

    corpus = Corpus.load(args.corpus)
    say(f"corpus: {len(corpus.paragraphs)} paragraphs from {len(corpus.sources)} documents in {args.corpus}")

    with tempfile.TemporaryDirectory(prefix="wenku-bench-") as scratch:
        db_path = args.db or Path(scratch) / "library.db"
        if db_path.exists():
            fail(f"{db_path} exists: the import benchmark needs a new database (delete it or pick another --db)")
        store = Store.open(db_path)
        prepare_store(store, args.sketch_index)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        build = import_drafts(store, generate_drafts(corpus, args.docs, args.seed), args.docs, log=say)
        if profiler:
            profiler.disable()
        record_library(store, args.docs, args.seed, build)
        docs = store.document_count()
        store.close()
        size = db_megabytes(db_path)

        say()
        say(f"imported {docs} documents in {build.seconds:.1f} s: {docs / build.seconds:.1f} docs/s")
        say(f"outcomes: {dict(build.statuses)}; near-duplicates reported for {build.near_duplicate_reports}")
        say(f"docs/s in each tenth of the build: {build.rates_by_tenth()}")
        say(f"database: {size} MiB" + (f" at {db_path}" if args.db else ""))
        if profiler:
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
            say(stream.getvalue())

    result = {
        "docs": docs,
        "seconds": round(build.seconds, 2),
        "docs_per_s": round(docs / build.seconds, 1),
        "db_mb": size,
        "statuses": dict(build.statuses),
        "near_duplicate_reports": build.near_duplicate_reports,
        "docs_per_s_by_tenth": build.rates_by_tenth(),
        "wall_s": round(build.wall_seconds, 2),
        "sketch_index": build.sketch_index,
        "wenku": WENKU_FINGERPRINT,
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
