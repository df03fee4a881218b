"""Strip the distribution boilerplate from a document and find its title.

The business's files carry advertising lines (仅供学习 禁止外传, 酷乐文行整理，
咨询QQ…, 现在订阅立享…, 【打击倒卖活动】…, 会员群/免费QQ群…) around the
speech itself. They are short lines, so a pattern only removes a line of at
most ``BOILERPLATE_MAX_LINE`` characters: a paragraph of the speech that
happens to say 禁止外传 is kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from . import texts
from .textnorm import drop_invisible

__all__ = [
    "DEFAULT_BOILERPLATE",
    "CleanDocument",
    "clean",
    "compile_patterns",
    "recurring_lines",
]

BOILERPLATE_MAX_LINE = 60
TITLE_MAX_LENGTH = 60

DEFAULT_BOILERPLATE = (
    r"仅供学习",
    r"禁止外传",
    r"酷乐文行",
    r"自建平台",
    r"实时分享",
    r"不断迭代",
    r"订阅立享",
    r"打击倒卖",
    r"举报.{0,12}倒卖|倒卖.{0,12}举报",
    r"会员群\s*[:：]",
    r"免费\s*(QQ|qq)\s*群",
    r"咨询\s*(QQ|qq|微信|VX|vx)",
    r"(QQ|qq)\s*[:：号]?\s*\d{5,}",
)

_SALUTATION = re.compile(r"^(同志们|各位[^，。]{0,12}|尊敬的[^。]{0,30}|大家好)[：:，,！!]?$")


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def _lines(text: str) -> list[str]:
    # A re-imported leaked copy carries watermarks: they are no part of the text.
    text = drop_invisible(text).replace("\r\n", "\n").replace("\r", "\n")
    # Strip ASCII and ideographic indentation; paragraphs are kept one per line.
    return [line.strip(" \t\u3000\ufeff\xa0") for line in text.split("\n")]


def _is_boilerplate(line: str, patterns: tuple[re.Pattern[str], ...], extra: frozenset[str]) -> bool:
    if line in extra:
        return True
    return len(line) <= BOILERPLATE_MAX_LINE and any(pattern.search(line) for pattern in patterns)


def recurring_lines(texts: Iterable[str], *, min_documents: int = 3, share: float = 0.3) -> frozenset[str]:
    """Short header/footer lines that recur in many documents of one batch.

    Only the first 12 and last 6 non-empty lines of a document count, and a
    salutation such as 同志们： is never boilerplate however common it is.
    """
    counts: Counter[str] = Counter()
    documents = 0
    for text in texts:
        documents += 1
        lines = [line for line in _lines(text) if line]
        edge = set(lines[:12] + lines[-6:])
        counts.update(
            line for line in edge if len(line) <= BOILERPLATE_MAX_LINE and not _SALUTATION.match(line)
        )
    threshold = max(min_documents, share * documents)
    return frozenset(line for line, count in counts.items() if count >= threshold)


@dataclass(frozen=True)
class CleanDocument:
    title: str
    body: str
    removed: tuple[str, ...]


def _title_from_name(name: str) -> str | None:
    stem = PurePath(name).stem.strip()
    stem = re.sub(r"^[\d_\-\s.]+", "", stem)
    # Names made by a machine (hashes, numbers) are no title.
    if not stem or re.fullmatch(r"[0-9a-fA-F_\-]{6,}", stem):
        return None
    return stem[:TITLE_MAX_LENGTH]


def _looks_like_title(line: str) -> bool:
    return (
        len(line) <= TITLE_MAX_LENGTH
        and not _SALUTATION.match(line)
        and not line.endswith(("：", ":", "；", ";", "，", ","))
        and not re.fullmatch(r"[\W\d_]+", line)
    )


def clean(
    text: str,
    name: str,
    patterns: tuple[re.Pattern[str], ...],
    extra_lines: frozenset[str] = frozenset(),
) -> CleanDocument:
    kept: list[str] = []
    removed: list[str] = []
    for line in _lines(text):
        if not line:
            continue
        if _is_boilerplate(line, patterns, extra_lines):
            removed.append(line)
        else:
            kept.append(line)
    title = None
    if kept and _looks_like_title(kept[0]):
        title = kept.pop(0)
    if title is None:
        title = _title_from_name(name)
    if title is None:
        opening = next((line for line in kept if not _SALUTATION.match(line)), "")
        title = re.split(r"[。！？!?]", opening)[0][:30] or None
    return CleanDocument(title=title or texts.UNTITLED, body="\n".join(kept), removed=tuple(removed))
