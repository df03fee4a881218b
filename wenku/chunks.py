"""Split long text into pieces QQ delivers: at paragraphs, then sentences, never mid-word if avoidable."""

from __future__ import annotations

import re

__all__ = ["QQ_PIECE_LIMIT", "split_text"]

#: QQ's risk control silently drops long messages; this stays well below.
QQ_PIECE_LIMIT = 1500

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")


def _split_paragraph(paragraph: str, limit: int) -> list[str]:
    pieces, current = [], ""
    for sentence in filter(None, _SENTENCE_END.split(paragraph)):
        if len(sentence) > limit:  # a sentence longer than a piece: cut it hard, on its own
            if current:
                pieces.append(current)
            whole = len(sentence) - len(sentence) % limit or len(sentence) - limit
            pieces.extend(sentence[i : i + limit] for i in range(0, whole, limit))
            current, sentence = "", sentence[whole:]
        if len(current) + len(sentence) > limit:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int = QQ_PIECE_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, in order; only the newlines where a cut falls are dropped."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n"):
        candidate = paragraph if not current else current + "\n" + paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if len(paragraph) <= limit:
            current = paragraph
        else:
            *whole, current = _split_paragraph(paragraph, limit)
            pieces.extend(whole)
    if current or not pieces:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()] or [text[:limit]]
