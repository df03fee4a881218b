"""Text normalization and the character-bigram tokenization behind search.

Why bigrams: most Chinese keywords are two characters long. FTS5's trigram
tokenizer cannot match them, unicode61 cannot split Chinese at all, and a
word segmenter splits compounds unpredictably (工会 inside 全国总工会).
Indexing every overlapping pair of characters and querying a word as the
phrase of its pairs finds every document that contains the word.

Normalization folds full-width to half-width, traditional to simplified
characters and ASCII case. Every mapping is one character to one character,
so a position in the normalized text is the same position in the original:
snippets are cut from the original text at offsets found in the normalized one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = [
    "normalize",
    "folded_occurrences",
    "scrub_surrogates",
    "drop_invisible",
    "word_runs",
    "index_tokens",
    "query_terms",
    "term_match_expression",
]


def _traditional_to_simplified() -> dict[int, int]:
    """Single-character traditional -> simplified pairs from OpenCC's table."""
    table: dict[int, int] = {}
    text = (
        resources.files("opencc")
        .joinpath("dictionary/TSCharacters.txt")
        .read_text(encoding="utf-8")
    )
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 2:
            continue
        source, targets = parts
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and source != target:
            table[ord(source)] = ord(target)
    return table


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, int]:
    table = _traditional_to_simplified()
    # Full-width ASCII variants (！ to ～) and the ideographic space.
    for code in range(0xFF01, 0xFF5F):
        table[code] = code - 0xFEE0
    table[0x3000] = 0x20
    # Lower-case after width folding, so Ａ -> a as well as A -> a.
    for code, target in list(table.items()):
        if 0x41 <= target <= 0x5A:
            table[code] = target + 32
    for code in range(0x41, 0x5B):
        table[code] = code + 32
    return table


def normalize(text: str) -> str:
    """Fold width, script and case; the result has exactly ``len(text)`` characters."""
    return text.translate(_fold_table())


@lru_cache(maxsize=1)
def _unfolded() -> dict[str, str]:
    """For each character, every character that normalize() turns into it (itself included if kept)."""
    table = _fold_table()
    sources: dict[str, set[str]] = {}
    for source, target in table.items():
        sources.setdefault(chr(target), set()).add(chr(source))
    for target, found in sources.items():
        if ord(target) not in table:
            found.add(target)
    return {target: "".join(sorted(found)) for target, found in sources.items()}


@lru_cache(maxsize=4096)
def _unfolded_pattern(term: str) -> re.Pattern[str]:
    unfolded, table = _unfolded(), _fold_table()
    parts = []
    for char in term:
        options = unfolded.get(char, "" if ord(char) in table else char)
        if len(options) == 1:
            parts.append(re.escape(options))
        else:
            # No option at all: nothing normalizes to this character, so the term never matches.
            parts.append("[" + "".join(map(re.escape, options)) + "]" if options else "(?!)")
    return re.compile("".join(parts))


def folded_occurrences(text: str, term: str, limit: int) -> list[int]:
    """Where ``normalize(text)`` contains ``term``, overlaps included; at most ``limit`` positions.

    The same as searching the normalized text, without normalizing it: for a
    whole document that costs several times more than a regular expression
    of the characters that fold into the term's.
    """
    pattern, found = _unfolded_pattern(term), []
    # One search at a time from the last start + 1, so overlaps (巴巴 in 巴巴巴) are found;
    # a lookahead would find them too, but it stops the regex engine's fast scan for a prefix.
    match = pattern.search(text)
    while match is not None and len(found) < limit:
        found.append(match.start())
        match = pattern.search(text, match.start() + 1)
    return found


# Letters and digits of any script (Python's \w without the underscore); the
# same characters FTS5's unicode61 tokenizer keeps in a token.
_WORD_RUN = re.compile(r"[^\W_]+")


def word_runs(normalized: str) -> list[str]:
    """Maximal runs of letters and digits; punctuation and spaces separate them."""
    return _WORD_RUN.findall(normalized)


def _run_tokens(run: str) -> list[str]:
    # Overlapping pairs, then the last character alone: every character starts
    # a token, so a one-character query can still be answered as a prefix.
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def index_tokens(text: str) -> str:
    """The space-separated token stream stored in the FTS5 index for ``text``."""
    tokens: list[str] = []
    for run in word_runs(normalize(text)):
        tokens.extend(_run_tokens(run))
    return " ".join(tokens)


#: Zero-width characters: invisible, yet they would split a word in two.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def scrub_surrogates(text: str) -> str:
    """``text`` with lone surrogates (which JSON can carry but UTF-8 cannot store) as U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def drop_invisible(text: str) -> str:
    return text.translate(INVISIBLE)


def query_terms(query: str) -> list[str]:
    """Split user input into normalized search terms (all of them must match).

    Anything that is not a letter or digit separates terms, so FTS5 syntax
    (quotes, ``*``, parentheses, ``-``, ``NEAR``...) never reaches MATCH.
    Duplicate terms and terms contained in another term are dropped.
    """
    terms: list[str] = []
    # Pasted text may carry watermarks: zero-width characters must not split words.
    for run in word_runs(normalize(drop_invisible(query))):
        if run not in terms:
            terms.append(run)
    return [t for t in terms if not any(t != other and t in other for other in terms)]


def term_match_expression(term: str) -> str:
    """An FTS5 expression that matches documents containing ``term`` as a substring.

    A term of several characters is the phrase of its pairs; one character
    is a prefix query. Tokens are letters and digits only, so quoting them
    is always safe.
    """
    if len(term) == 1:
        return f'"{term}" *'
    pairs = " ".join(term[i : i + 2] for i in range(len(term) - 1))
    return f'"{pairs}"'
