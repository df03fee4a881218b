"""Search benchmark: latency, recall and false positives of the bot's search, with baselines.

    uv run --group bench python bench/search.py --docs 2000
    uv run --group bench python bench/search.py --db bench/out/library.db   # reuse a kept library

Builds the benchmark library (bench/_library.py) through the real importer, or
reuses ``--db`` when it already holds the same library, then answers a fixed,
seeded set of queries drawn from the corpus four ways:

* the bot's path: ``wenku.search.search`` then ``result_page(..., 1)`` (top 5 with snippets);
* exactness: the engine's full match set against exact-substring truth over
  the normalized title and body of every stored document;
* a ``LIKE '%word%'`` scan of the stored bodies (the no-index baseline);
* tantivy over the same bigram tokens (top 5 by BM25, title boosted, then the
  same fetch from SQLite and the same snippets).

Human-readable lines come first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _library import (  # noqa: E402
    WENKU_FINGERPRINT,
    Corpus,
    add_library_arguments,
    db_megabytes,
    fail,
    open_library,
    say,
)

from wenku.search import match_expression, result_page, search, snippet  # noqa: E402
from wenku.store import Store  # noqa: E402
from wenku.textnorm import index_tokens, normalize, query_terms, word_runs  # noqa: E402

KINDS = ("word2", "term", "and2", "title")
#: Two-character words a reader of speech drafts would type, common and rare,
#: two in traditional characters (they must find simplified text too).
# fmt: off
CURATED_WORDS = (
    "工会", "维权", "经济", "改革", "教育", "扶贫", "党建", "廉政", "就业", "医疗",
    "科技", "创新", "生态", "安全", "民生", "农村", "青年", "治理", "开放", "工會", "經濟",
)
# fmt: on
#: Frequency bands (occurrences in the source texts) that sampled two-character words are drawn from.
BIGRAM_BANDS = ((1000, math.inf), (200, 999), (40, 199), (8, 39), (2, 7), (1, 1))
LIKE_MIN_QUERIES = 30


@dataclass
class Query:
    kind: str
    text: str
    terms: list[str] = field(default_factory=list)
    ms: float = 0.0  # the bot's search + first result page, median of the timed runs
    rank_ms: float = 0.0  # of which wenku.search.search
    ranked: int = 0  # ids in the ranking (at most two windows)
    capped: bool = False
    truth: int = 0
    matched: int = 0
    missed: int = 0
    false_positives: int = 0
    like_ms: float | None = None  # every match, title or body
    like_newest5_ms: float | None = None  # the five newest bodies only
    tantivy_ms: float | None = None
    tantivy_count: int | None = None


# -- queries -------------------------------------------------------------------


def _runs(text: str, minimum: int) -> list[str]:
    return [run for run in word_runs(text) if len(run) >= minimum]


def _banded_bigrams(corpus: Corpus, rng: random.Random, count: int) -> list[str]:
    """``count`` Chinese character pairs sampled evenly across frequency bands of the corpus."""
    bands = [sorted(pair for pair, n in corpus.bigram_counts.items() if low <= n <= high) for low, high in BIGRAM_BANDS]
    picks: list[str] = []
    while len(picks) < count:
        band = bands[len(picks) % len(bands)]
        pair = rng.choice(band)
        if pair not in picks:
            picks.append(pair)
    return picks


def _substring(rng: random.Random, corpus: Corpus, low: int, high: int) -> str:
    """A run of ``low``-``high`` letters and digits from a random paragraph."""
    while True:
        runs = _runs(rng.choice(corpus.paragraphs), low)
        if runs:
            run = rng.choice(runs)
            size = rng.randint(low, min(high, len(run)))
            start = rng.randrange(len(run) - size + 1)
            return run[start : start + size]


def _and_query(rng: random.Random, corpus: Corpus) -> str:
    """Two words: half of the time from one paragraph (they co-occur), else independent."""
    while True:
        if rng.random() < 0.5:
            runs = _runs(rng.choice(corpus.paragraphs), 2)
            if len(runs) < 2:
                continue
            words = []
            for run in rng.sample(runs, 2):
                size = rng.randint(2, min(4, len(run)))
                start = rng.randrange(len(run) - size + 1)
                words.append(run[start : start + size])
        else:
            words = [rng.choice(corpus.topics), _substring(rng, corpus, 2, 3)]
        text = " ".join(words)
        if len(query_terms(text)) == 2:
            return text


def _title_fragment(rng: random.Random, titles: list[str]) -> str:
    while True:
        runs = _runs(rng.choice(titles), 3)
        if runs:
            run = rng.choice(runs)
            size = rng.randint(3, min(8, len(run)))
            start = rng.randrange(len(run) - size + 1)
            return run[start : start + size]


def make_queries(corpus: Corpus, titles: list[str], count: int, seed: int) -> list[Query]:
    """A fixed mix of query kinds, drawn from the corpus and the library's titles with ``seed``."""
    rng = random.Random(seed + 1)
    per_kind = count // len(KINDS)
    texts: dict[str, list[str]] = {kind: [] for kind in KINDS}
    words = list(CURATED_WORDS[:per_kind])
    words += _banded_bigrams(corpus, rng, count - per_kind * (len(KINDS) - 1) - len(words))
    texts["word2"] = words
    texts["term"] = [_substring(rng, corpus, 3, 6) for _ in range(per_kind)]
    texts["and2"] = [_and_query(rng, corpus) for _ in range(per_kind)]
    texts["title"] = [_title_fragment(rng, titles) for _ in range(per_kind)]
    return [Query(kind, text, query_terms(text)) for kind in KINDS for text in texts[kind]]


# -- exact-substring truth -------------------------------------------------------


class Truth:
    """Every stored document's normalized title and body in one string, searched with str.find."""

    SEPARATOR = "\x00"  # never part of a term: terms are letters and digits only

    def __init__(self, store: Store):
        self.ids: list[int] = []
        self.starts: list[int] = []
        self.titles: list[str] = []
        parts: list[str] = []
        offset = 0
        for row in store.db.execute("SELECT id, title, body FROM documents WHERE deleted_at IS NULL ORDER BY id"):
            text = normalize(row[1]) + "\n" + normalize(row[2])
            self.ids.append(row[0])
            self.titles.append(row[1])
            self.starts.append(offset)
            parts.append(text)
            offset += len(text) + 1
        self.text = self.SEPARATOR.join(parts)

    def containing(self, term: str) -> set[int]:
        """Ids of the documents whose normalized title or body contains ``term``."""
        found: set[int] = set()
        position = self.text.find(term)
        while position != -1:
            index = bisect_right(self.starts, position) - 1
            found.add(self.ids[index])
            if index + 1 == len(self.starts):
                break
            position = self.text.find(term, self.starts[index + 1])
        return found

    def matching(self, terms: list[str]) -> set[int]:
        result: set[int] | None = None
        for term in sorted(terms, key=len, reverse=True):  # longer terms are rarer: smaller sets first
            found = self.containing(term)
            result = found if result is None else result & found
        return result or set()


# -- timing helpers ----------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p99 of 240 values is the third largest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def median_ms(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# -- baselines ---------------------------------------------------------------------


def like_scan(store: Store, terms: list[str]) -> list[int]:
    """The no-index answer to the same question: every document holding every word.

    The bot's search answers with a count and a ranking over all matches, so
    the baseline must find all of them too; stopping at the first five newest
    hits would time a different, easier question (for a common word it reads
    a handful of rows).
    """
    where = " AND ".join("(title LIKE ? OR body LIKE ?)" for _ in terms)
    params = [pattern for term in terms for pattern in (f"%{term}%", f"%{term}%")]
    return [row[0] for row in store.db.execute(f"SELECT id FROM documents WHERE {where}", params).fetchall()]


def like_newest_five(store: Store, terms: list[str]) -> list[int]:
    """The five newest bodies holding every word, scanning newest first (stops early on common words)."""
    where = " AND ".join("body LIKE ?" for _ in terms)
    sql = f"SELECT id FROM documents WHERE {where} ORDER BY id DESC LIMIT 5"
    return [row[0] for row in store.db.execute(sql, [f"%{term}%" for term in terms]).fetchall()]


class TantivyLibrary:
    """The same bigram tokens indexed by tantivy, searched the way the bot searches.

    Fields hold the output of ``wenku.textnorm.index_tokens`` split on spaces
    (no lower-casing or other filter: the tokens are already normalized). A
    term is the phrase of its pairs, as in FTS5; the title counts ten times.
    """

    TITLE_BOOST = 10.0  # the weight wenku gives the title column in bm25(documents_fts, 10.0, 1.0)

    def __init__(self, directory: Path):
        import tantivy

        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("id", stored=True, indexed=True, fast=True)
        builder.add_text_field("title", tokenizer_name="bigrams", index_option="position")
        builder.add_text_field("body", tokenizer_name="bigrams", index_option="position")
        self.schema = builder.build()
        directory.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(directory), reuse=False)
        analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        self.index.register_tokenizer("bigrams", analyzer)
        self.build_s = 0.0
        self.tokenize_s = 0.0

    def build(self, store: Store) -> None:
        """Index every stored document; the time includes making the tokens, as the store's does."""
        tantivy = self.tantivy
        started = time.perf_counter()
        writer = self.index.writer(heap_size=512 * 2**20)
        rows = store.db.execute("SELECT id, title, body FROM documents WHERE deleted_at IS NULL ORDER BY id")
        for document_id, title, body in rows:
            before = time.perf_counter()
            title_tokens, body_tokens = index_tokens(title), index_tokens(body)
            self.tokenize_s += time.perf_counter() - before
            document = tantivy.Document()
            document.add_integer("id", document_id)
            document.add_text("title", title_tokens)
            document.add_text("body", body_tokens)
            writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.build_s = time.perf_counter() - started

    def _term_query(self, field_name: str, term: str):
        Query = self.tantivy.Query
        if len(term) == 1:  # a lone character is a prefix, like FTS5's "x" *
            return Query.regex_query(self.schema, field_name, f"{term}.*")
        pairs = [term[i : i + 2] for i in range(len(term) - 1)]
        if len(pairs) == 1:
            return Query.term_query(self.schema, field_name, pairs[0])
        return Query.phrase_query(self.schema, field_name, pairs)

    def query(self, terms: list[str]):
        """Every term in the title or the body (like FTS5 across columns), title hits boosted."""
        Query, Occur = self.tantivy.Query, self.tantivy.Occur
        per_term = [
            Query.boolean_query(
                [
                    (Occur.Should, Query.boost_query(self._term_query("title", term), self.TITLE_BOOST)),
                    (Occur.Should, self._term_query("body", term)),
                ]
            )
            for term in terms
        ]
        return Query.boolean_query([(Occur.Must, query) for query in per_term])

    def top_ids(self, terms: list[str], limit: int = 5) -> list[int]:
        searcher = self.index.searcher()
        hits = searcher.search(self.query(terms), limit=limit, count=False).hits
        return searcher.fast_field_values("id", [address for _, address in hits])

    def count(self, terms: list[str]) -> int:
        return self.index.searcher().search(self.query(terms), limit=1, count=True).count

    def result_page(self, store: Store, terms: list[str]) -> list[str]:
        """The timed path: top five, then the same fetch and snippets as wenku.search.result_page."""
        ids = self.top_ids(terms)
        documents = store.get_documents(ids)
        return [snippet(documents[i].body, terms) for i in ids if i in documents]


# -- the benchmark ---------------------------------------------------------------------


def run_bot_search(store: Store, queries: list[Query], repeat: int) -> None:
    for query in queries:  # warm-up: the page cache and SQLite's own cache, as in a running bot
        result_page(store, search(store, query.text), 1)
    for query in queries:
        totals, ranks = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            ranking = search(store, query.text)
            ranked_at = time.perf_counter()
            result_page(store, ranking, 1)
            finished = time.perf_counter()
            totals.append((finished - started) * 1000)
            ranks.append((ranked_at - started) * 1000)
        query.ms, query.rank_ms = statistics.median(totals), statistics.median(ranks)
        query.ranked, query.capped = ranking.total, ranking.capped


def check_exactness(store: Store, truth: Truth, queries: list[Query]) -> list[str]:
    """Fill each query's truth and match counts; return a few examples of errors."""
    examples = []
    for query in queries:
        expected = truth.matching(query.terms)
        matched = set(store.matching_ids(match_expression(query.terms)))
        query.truth, query.matched = len(expected), len(matched)
        query.missed = len(expected - matched)
        query.false_positives = len(matched - expected)
        if (query.missed or query.false_positives) and len(examples) < 5:
            examples.append(
                f"  {query.text!r}: truth {len(expected)}, matched {len(matched)}, "
                f"missed e.g. {sorted(expected - matched)[:3]}, extra e.g. {sorted(matched - expected)[:3]}"
            )
    return examples


def interleaved(queries: list[Query], seed: int) -> list[Query]:
    """The queries shuffled within each kind, then taken one kind after another."""
    rng = random.Random(seed + 2)
    by_kind = [[q for q in queries if q.kind == kind] for kind in KINDS]
    for group in by_kind:
        rng.shuffle(group)
    return [q for round_ in zip(*by_kind) for q in round_] + [
        q for group in by_kind for q in group[min(map(len, by_kind)) :]
    ]


def run_like(store: Store, queries: list[Query], seed: int, budget_s: float) -> int:
    """Time the LIKE scan once per query; stop early once 30 queries are done and ``budget_s`` is spent."""
    started = time.perf_counter()
    done = 0
    for query in interleaved(queries, seed):
        query.like_ms = median_ms(partial(like_scan, store, query.terms), 1)
        query.like_newest5_ms = median_ms(partial(like_newest_five, store, query.terms), 1)
        done += 1
        if done >= LIKE_MIN_QUERIES and time.perf_counter() - started > budget_s:
            break
    return done


def run_tantivy(store: Store, queries: list[Query], directory: Path, repeat: int) -> TantivyLibrary:
    library = TantivyLibrary(directory)
    library.build(store)
    for query in queries:
        library.result_page(store, query.terms)  # warm-up, as for the bot's search
    for query in queries:
        query.tantivy_ms = median_ms(partial(library.result_page, store, query.terms), repeat)
        query.tantivy_count = library.count(query.terms)
    return library


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": rounded(percentile(values, 0.5)),
        "p99_ms": rounded(percentile(values, 0.99)),
        "max_ms": rounded(max(values) if values else None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_library_arguments(parser)
    parser.add_argument("--queries", type=int, default=240, help="number of queries, split over 4 kinds")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (its latency is their median)")
    parser.add_argument(
        "--like-budget",
        type=float,
        default=60.0,
        help="stop the LIKE scans once 30 queries are done and this many seconds spent",
    )
    parser.add_argument("--no-tantivy", action="store_true", help="skip the tantivy baseline")
    args = parser.parse_args()
    if args.docs < 1 or args.queries < 2 * len(KINDS) or args.repeat < 1:
        fail("--docs must be at least 1, --queries at least 8 and --repeat at least 1")

    tantivy_available = False
    if not args.no_tantivy:
        try:
            import tantivy  # noqa: F401

            tantivy_available = True
        except ImportError:
            say("tantivy is not installed (uv sync --group bench): its baseline is skipped")

    corpus = Corpus.load(args.corpus)
    scratch = Path(tempfile.mkdtemp(prefix="wenku-bench-"))
    try:
        db_path = args.db or scratch / "library.db"
        store, build = open_library(db_path, corpus, args.docs, args.seed, log=say, sketch_index=args.sketch_index)
        docs = store.document_count()
        size = db_megabytes(db_path)
        say(
            f"library: {docs} documents, {size} MiB, built in {build.seconds:.1f} s"
            + (" (reused)" if build.reused else "")
        )

        truth = Truth(store)
        queries = make_queries(corpus, truth.titles, args.queries, args.seed)
        counts = {kind: sum(q.kind == kind for q in queries) for kind in KINDS}
        say(f"queries: {len(queries)} {counts}, each timed {args.repeat}x after one warm-up run")

        run_bot_search(store, queries, args.repeat)
        errors = check_exactness(store, truth, queries)
        like_done = run_like(store, queries, args.seed, args.like_budget)
        library = run_tantivy(store, queries, scratch / "tantivy", args.repeat) if tantivy_available else None
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    true_total = sum(q.truth for q in queries)
    found = true_total - sum(q.missed for q in queries)
    recall = found / true_total if true_total else 1.0
    false_positives = sum(q.false_positives for q in queries)
    latencies = [q.ms for q in queries]
    like = [q.like_ms for q in queries if q.like_ms is not None]
    like_newest5 = [q.like_newest5_ms for q in queries if q.like_newest5_ms is not None]
    tantivy_ms = [q.tantivy_ms for q in queries if q.tantivy_ms is not None]
    by_kind = {kind: [q for q in queries if q.kind == kind] for kind in KINDS}

    say()
    say(
        f"wenku search + result page: p50 {percentile(latencies, 0.5):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms"
    )
    for kind, group in by_kind.items():
        stats = summary([q.ms for q in group])
        ranks = summary([q.rank_ms for q in group])
        say(
            f"  {kind:<6} n={stats['n']:<3} p50 {stats['p50_ms']:7.2f} ms  p99 {stats['p99_ms']:7.2f} ms"
            f"  max {stats['max_ms']:7.2f} ms  (search() alone p50 {ranks['p50_ms']:.2f}, p99 {ranks['p99_ms']:.2f})"
            f"  median matches {statistics.median(q.matched for q in group):.0f}"
        )
    say(f"exactness: recall {recall:.4f} ({found} of {true_total} true matches), false positives {false_positives}")
    for line in errors:
        say(line)
    like_note = "" if like_done == len(queries) else f" (only {like_done} queries: the scan is slow)"
    say(
        f"LIKE scan, every match in title or body: p50 {percentile(like, 0.5):.2f} ms,"
        f" p99 {percentile(like, 0.99):.2f} ms over {like_done} queries{like_note}"
    )
    say(
        f"LIKE scan, five newest bodies (ORDER BY id DESC LIMIT 5): p50 {percentile(like_newest5, 0.5):.2f} ms,"
        f" p99 {percentile(like_newest5, 0.99):.2f} ms over the same queries"
    )
    if library:
        mismatched = sum(q.tantivy_count != q.truth for q in queries)
        say(
            f"tantivy (same bigrams): build {library.build_s:.1f} s (tokenizing {library.tokenize_s:.1f} s),"
            f" p50 {percentile(tantivy_ms, 0.5):.2f} ms, p99 {percentile(tantivy_ms, 0.99):.2f} ms,"
            f" match counts differing from the truth: {mismatched}"
        )
        for kind, group in by_kind.items():
            stats = summary([q.tantivy_ms for q in group])
            say(f"  {kind:<6} p50 {stats['p50_ms']:7.2f} ms  p99 {stats['p99_ms']:7.2f} ms")
    say("slowest 10 queries (wenku search + page):")
    for q in sorted(queries, key=lambda q: q.ms, reverse=True)[:10]:
        say(
            f"  {q.ms:8.2f} ms (search {q.rank_ms:7.2f})  {q.kind:<6} {q.text!r:<16} matches {q.matched:>6}"
            f"  ranked {q.ranked}{'+' if q.capped else ''}"
            + (f"  tantivy {q.tantivy_ms:.2f} ms" if q.tantivy_ms is not None else "")
        )

    result = {
        "docs": docs,
        "queries": len(queries),
        "recall": round(recall, 6),
        "false_positives": false_positives,
        "p50_ms": rounded(percentile(latencies, 0.5)),
        "p99_ms": rounded(percentile(latencies, 0.99)),
        "like_p50_ms": rounded(percentile(like, 0.5)),
        "tantivy_p50_ms": rounded(percentile(tantivy_ms, 0.5)),
        "db_mb": size,
        "build_s": round(build.seconds, 2),
        "build_reused": build.reused,
        "sketch_index": build.sketch_index,
        "wenku": WENKU_FINGERPRINT,
        "like_queries": like_done,
        "like_newest5_p50_ms": rounded(percentile(like_newest5, 0.5)),
        "tantivy_p99_ms": rounded(percentile(tantivy_ms, 0.99)),
        "tantivy_build_s": round(library.build_s, 2) if library else None,
        "tantivy_count_mismatches": sum(q.tantivy_count != q.truth for q in queries) if library else None,
        "kinds": {
            kind: {
                **summary([q.ms for q in group]),
                "search_p50_ms": rounded(percentile([q.rank_ms for q in group], 0.5)),
                "tantivy_p50_ms": rounded(percentile([q.tantivy_ms for q in group if q.tantivy_ms is not None], 0.5)),
                "tantivy_p99_ms": rounded(percentile([q.tantivy_ms for q in group if q.tantivy_ms is not None], 0.99)),
            }
            for kind, group in by_kind.items()
        },
        "slowest": [
            {"q": q.text, "kind": q.kind, "ms": round(q.ms, 2), "matches": q.matched, "ranked": q.ranked}
            for q in sorted(queries, key=lambda q: q.ms, reverse=True)[:10]
        ],
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
