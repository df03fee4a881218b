"""Shared corpus builder of the benchmarks: a reproducible library of speech drafts.

The source texts are the real official documents in ``../shared/corpus/*.jsonl``
(beside the repository's root, never copied into it). They hold about 1.4
million characters, far less than a real library, so the benchmark library is
built by recombining their paragraphs with a fixed random seed: every run with
the same ``--docs`` and ``--seed`` produces byte-for-byte the same files, and
``--docs 2000`` is exactly the first 2,000 documents of the default 50,000.

Each generated document is a file as the business distributes it: sometimes a
few advertising lines (which the importer's cleaner must remove), a title
line, sometimes a salutation, then 3,000-8,000 characters of paragraphs. It is
fed to the real import path, :func:`wenku.importer.import_document`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import wenku
from wenku.importer import ImportOutcome, ImportRules, import_document
from wenku.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
DEFAULT_DOCS = 50_000
DEFAULT_SEED = 20240517
#: Bumped whenever generation changes, so that a kept --db of an older library is not reused.
GENERATOR_VERSION = 1
#: The time every benchmark document is imported "at".
IMPORT_TIME = datetime(2025, 1, 1, tzinfo=UTC)

MIN_PARAGRAPH = 21  # keep paragraphs longer than 20 characters
MIN_CHARS, MAX_CHARS = 3000, 8000

# Pieces of synthetic titles such as 在全市深化改革工作会议上的讲话; the topic comes from the corpus.
_SCOPES = ("全市", "全县", "全区", "全省", "市委", "县委", "全系统", "全局", "集团", "全国")
_MEETINGS = ("工作会议", "推进会", "座谈会", "专题会议", "动员部署会", "总结表彰大会", "务虚会", "调度会")
_TEMPLATES = (
    "在{scope}{topic}{meeting}上的讲话",
    "在{scope}{topic}{meeting}上的讲话",
    "{year}年{scope}{topic}{meeting}讲话稿",
    "关于{topic}工作情况的报告",
    "{scope}{topic}专题党课讲稿",
)
_SALUTATIONS = ("同志们：", "各位代表：", "同志们，朋友们：")
# Advertising lines of the kind the importer's default boilerplate patterns remove.
_HEADERS = (
    ("内部资料 仅供学习", "整理不易 禁止外传"),
    ("现在订阅立享全年资料",),
    ("仅供学习交流使用", "会员群：", "免费QQ群："),
)
# Characters that rarely start or end a topical word (for the title vocabulary only).
_WEAK_CHARS = set(
    "的了和是在我们你他她它这那有为对把与也就都而及等其之以于上中下个不到说将一要着被从让给很更最还又并或由向能会可所已此该些各每"
)
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def wenku_fingerprint(package: Path | None = None) -> str:
    """A short hash of wenku's sources, so that a figure can be tied to the code it measured."""
    package = package or Path(wenku.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


#: Taken when the benchmark starts, right after wenku was imported.
WENKU_FINGERPRINT = wenku_fingerprint()


def fail(message: str) -> None:
    """Stop the benchmark with a message a person can act on."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


@dataclass(frozen=True)
class Draft:
    """One generated file: its name, the title line it starts with, its bytes."""

    index: int
    name: str
    title: str
    data: bytes


class Corpus:
    """The paragraphs of the source documents, and statistics drawn from them."""

    def __init__(self, sources: list[list[str]], files: list[Path]):
        self.sources = [paragraphs for paragraphs in sources if paragraphs]
        self.files = files
        self.paragraphs = [paragraph for paragraphs in self.sources for paragraph in paragraphs]

    @classmethod
    def load(cls, directory: Path | str | None = None) -> Corpus:
        directory = Path(directory) if directory else DEFAULT_CORPUS
        files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
        if not files:
            fail(
                f"no corpus found: expected *.jsonl files in {directory} "
                "(the shared corpus beside the repository root; pass --corpus DIR to use another folder)"
            )
        sources: list[list[str]] = []
        for path in files:
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if not line.strip():
                        continue
                    content = json.loads(line).get("content") or ""
                    paragraphs = [p.strip(" \t\u3000\ufeff\xa0") for p in content.splitlines()]
                    sources.append([p for p in paragraphs if len(p) >= MIN_PARAGRAPH])
        corpus = cls(sources, files)
        if sum(map(len, corpus.paragraphs)) < 10 * MAX_CHARS:
            fail(f"the corpus in {directory} is too small to build documents from")
        return corpus

    @cached_property
    def bigram_counts(self) -> Counter[str]:
        """How often each pair of Chinese characters occurs in the source texts."""
        counts: Counter[str] = Counter()
        for paragraph in self.paragraphs:
            for run in _CJK.findall(paragraph):
                counts.update(run[i : i + 2] for i in range(len(run) - 1))
        return counts

    @cached_property
    def topics(self) -> list[str]:
        """Frequent 2- and 4-character words of the source texts, the topics of synthetic titles.

        A character sequence counts as a word when no single neighbouring
        character accompanies most of its occurrences (济社会发 is almost always
        inside 经济社会发展, so it is a fragment).
        """
        counts: Counter[str] = Counter()
        for paragraph in self.paragraphs:
            for run in _CJK.findall(paragraph):
                for size in (2, 3, 4, 5):
                    counts.update(run[i : i + size] for i in range(len(run) - size + 1))
        widest: Counter[str] = Counter()  # the count of a gram's commonest one-character extension
        for gram, count in counts.items():
            if len(gram) in (3, 5):
                for part in (gram[1:], gram[:-1]):
                    widest[part] = max(widest[part], count)
        topics: list[str] = []
        for size in (2, 4):
            words = [
                gram
                for gram, count in counts.most_common()
                if len(gram) == size
                and count >= 20
                and gram[0] not in _WEAK_CHARS
                and gram[-1] not in _WEAK_CHARS
                and widest[gram] < 0.5 * count
            ]
            topics.extend(words[:500])
        return sorted(topics)


def _first_clause(paragraph: str) -> str:
    for clause in re.split(r"[，。；：！？、,.;:!?（）()“”\s]", paragraph):
        if len(clause) >= 6:
            return clause[:24]
    return paragraph[:20]


def _title(rng: random.Random, corpus: Corpus, body: list[str]) -> str:
    if rng.random() < 0.3:
        # A fragment of the first paragraph, as when a file has no real title line.
        return _first_clause(body[0])
    text = "".join(body[:6])
    topic = next((t for t in rng.sample(corpus.topics, 12) if t in text), rng.choice(corpus.topics))
    return rng.choice(_TEMPLATES).format(
        scope=rng.choice(_SCOPES), topic=topic, meeting=rng.choice(_MEETINGS), year=rng.randint(2015, 2025)
    )


def generate_drafts(corpus: Corpus, count: int, seed: int = DEFAULT_SEED) -> Iterator[Draft]:
    """``count`` documents of recombined paragraphs; the same seed always gives the same files.

    A body is runs of 1-5 consecutive paragraphs of one source taken from random
    places until it holds 3,000-8,000 characters, so that neighbouring
    paragraphs keep their topic as in a real speech.
    """
    rng = random.Random(seed)
    for index in range(count):
        target = rng.randint(MIN_CHARS, MAX_CHARS)
        body: list[str] = []
        size = 0
        while size < target:
            source = rng.choice(corpus.sources)
            start = rng.randrange(len(source))
            for paragraph in source[start : start + rng.randint(1, 5)]:
                if size >= target:
                    break
                remaining = target - size
                if len(paragraph) > remaining + 200:
                    paragraph = paragraph[: max(remaining, MIN_PARAGRAPH)]
                body.append(paragraph)
                size += len(paragraph)
        title = _title(rng, corpus, body)
        lines: list[str] = []
        if rng.random() < 0.25:
            lines.extend(rng.choice(_HEADERS))
            lines.append("")
        lines.append(title)
        if rng.random() < 0.5:
            lines.append(rng.choice(_SALUTATIONS))
        lines.extend(body)
        text = "\n".join(lines) + "\n"
        # Most files are UTF-8; some arrive in GB18030 as saved by older Windows editors.
        encoding = "gb18030" if rng.random() < 0.1 else "utf-8"
        yield Draft(index=index, name=f"{index + 1:06d}.txt", title=title, data=text.encode(encoding))


# -- building a library --------------------------------------------------------


@dataclass
class BuildResult:
    """What importing the drafts cost and produced."""

    requested: int
    seconds: float = 0.0  # time spent inside import_document (and the final checkpoint)
    wall_seconds: float = 0.0  # including generating the drafts
    statuses: Counter[str] | None = None
    near_duplicate_reports: int = 0
    checkpoints: list[tuple[int, float]] | None = None  # (documents done, cumulative seconds)
    reused: bool = False
    sketch_index: bool = False  # sketches(document_id) was indexed during the build

    def rates_by_tenth(self) -> list[float]:
        """Documents per second in each tenth of the build (it slows as the library grows)."""
        rates = []
        previous_docs, previous_s = 0, 0.0
        for docs, seconds in self.checkpoints or []:
            if seconds > previous_s:
                rates.append(round((docs - previous_docs) / (seconds - previous_s), 1))
            previous_docs, previous_s = docs, seconds
        return rates


def db_megabytes(path: Path) -> float:
    """Size of the database file with its WAL, in MiB."""
    total = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return round(total / 2**20, 1)


def import_drafts(
    store: Store,
    drafts: Iterator[Draft],
    requested: int,
    *,
    log: Callable[[str], None] | None = None,
    on_outcome: Callable[[Draft, ImportOutcome], None] | None = None,
) -> BuildResult:
    """Feed every draft to :func:`import_document`, timing only the import calls."""
    rules = ImportRules()
    result = BuildResult(requested=requested, statuses=Counter(), checkpoints=[], sketch_index=has_sketch_index(store))
    step = max(1, requested // 10)
    started = time.perf_counter()
    for done, draft in enumerate(drafts, 1):
        before = time.perf_counter()
        outcome = import_document(store, draft.name, draft.data, now=IMPORT_TIME, rules=rules)
        result.seconds += time.perf_counter() - before
        result.statuses[outcome.status] += 1
        result.near_duplicate_reports += bool(outcome.near_duplicates)
        if on_outcome:
            on_outcome(draft, outcome)
        if done % step == 0 or done == requested:
            result.checkpoints.append((done, result.seconds))
            if log:
                rate = done / result.seconds if result.seconds else 0.0
                log(f"  imported {done:>6}/{requested} documents, {result.seconds:7.1f} s, {rate:6.1f} docs/s")
    before = time.perf_counter()
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result.seconds += time.perf_counter() - before
    result.wall_seconds = time.perf_counter() - started
    return result


def library_meta(store: Store) -> dict | None:
    raw = store.get_meta("bench_library")
    return json.loads(raw) if raw else None


def has_sketch_index(store: Store) -> bool:
    """True when some index leads with sketches.document_id (wenku's migration m004 adds one)."""
    return any(index.columns[:1] == ["document_id"] for index in store.db["sketches"].indexes)


def prepare_store(store: Store, sketch_index: bool) -> None:
    """With ``--sketch-index``, index sketches(document_id) before importing if wenku has not.

    Versions of wenku before migration m004 lacked this index, and each import
    then scanned the whole sketches table; the option lets such a version be
    measured with the fix. On a current wenku it changes nothing.
    """
    if sketch_index and not has_sketch_index(store):
        store.db.execute("CREATE INDEX bench_sketches_by_document ON sketches(document_id)")


def record_library(store: Store, docs: int, seed: int, build: BuildResult) -> None:
    """Remember in the database how it was built, so that a later run can reuse it."""
    meta = {
        "generator": GENERATOR_VERSION,
        "docs": docs,
        "seed": seed,
        "build_s": round(build.seconds, 2),
        "sketch_index": build.sketch_index,
        "wenku": WENKU_FINGERPRINT,
    }
    store.set_meta("bench_library", json.dumps(meta))


def open_library(
    db_path: Path,
    corpus: Corpus,
    docs: int,
    seed: int,
    *,
    log: Callable[[str], None],
    sketch_index: bool = False,
) -> tuple[Store, BuildResult]:
    """Open the library at ``db_path``, building it first unless it already holds exactly these documents."""
    store = Store.open(db_path)
    meta = library_meta(store)
    if meta is not None:
        wanted = {"generator": GENERATOR_VERSION, "docs": docs, "seed": seed}
        if all(meta.get(key) == value for key, value in wanted.items()):
            log(
                f"reusing {db_path} ({store.document_count()} documents, built in {meta['build_s']} s"
                f" by wenku {meta.get('wenku', 'unknown')}; wenku now {WENKU_FINGERPRINT})"
            )
            return store, BuildResult(
                requested=docs, seconds=meta["build_s"], reused=True, sketch_index=meta.get("sketch_index", False)
            )
        store.close()
        fail(
            f"{db_path} holds a different benchmark library ({meta}); "
            "delete it or pass the --docs/--seed it was built with"
        )
    if store.document_count():
        store.close()
        fail(f"{db_path} already holds documents that the benchmark did not build; use another --db path")
    log(f"building a library of {docs} documents in {db_path} (seed {seed})")
    prepare_store(store, sketch_index)
    build = import_drafts(store, generate_drafts(corpus, docs, seed), docs, log=log)
    record_library(store, docs, seed, build)
    return store, build


def add_library_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help="documents in the library (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed of the library and queries")
    parser.add_argument("--db", type=Path, help="keep the database at this path (reused by search.py if it exists)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of the source *.jsonl files")
    parser.add_argument(
        "--sketch-index",
        action="store_true",
        help="index sketches(document_id) before building if wenku has not (only matters for wenku"
        " versions before migration m004, whose imports slowed down as the library grew)",
    )


def say(line: str = "") -> None:
    """A human-readable line, flushed at once so that a log file shows progress."""
    print(line, flush=True)
