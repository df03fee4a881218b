"""Invisible marks that name the delivery a leaked piece of text came from.

Every full text sent to a member is a *delivery* with an integer number
assigned by the database. :func:`mark_text` hides that number, many times
over, in zero-width characters spread through the text; :func:`find_marks`
reads it back from any pasted fragment of about 200 characters.

The mark
    A *cluster* is 32 zero-width characters, each one of U+200B (ZERO WIDTH
    SPACE), U+200C (ZWNJ), U+200D (ZWJ) and U+2060 (WORD JOINER), so 2 bits
    each: 64 bits, most significant first. The high 32 bits are the delivery
    number, the low 32 bits a MAC: the first 4 bytes of
    HMAC-SHA256(secret, b"wenku-watermark-v1:" + delivery number as 4 bytes,
    big-endian). Without the secret (``WENKU_WATERMARK_SECRET``) nobody can
    make a cluster that names another member's delivery, so a leaked text
    cannot be used to frame someone; a guess passes with probability 2**-32.
    The domain prefix keeps these MACs apart from any other use of the same
    secret and lets a later version of the scheme be told apart.

Where clusters go
    One near the start (after the first 1-8 characters), then one after every
    60-75 characters, the exact gaps drawn from the same HMAC (they differ
    from delivery to delivery, so the positions are not a fixed grid). A
    cluster is only placed between two characters that are both "plain":
    not whitespace or a control character (a cluster never touches a line
    break, so re-wrapping, trimming and one-paragraph-per-line .docx export
    keep it whole), not a combining mark, format character, surrogate,
    variation selector, emoji modifier, regional indicator or Hangul jamo (so
    no grapheme, emoji sequence or surrogate pair is split and no visible
    character changes). If the planned gap is not plain the cluster moves
    forward to the next plain gap, so in ordinary Chinese text clusters are
    at most about 76 characters apart and any 200 consecutive characters hold
    at least two whole clusters: one is enough to name the delivery.

Reading marks back
    Runs of the four characters are collected, whitespace inside a run is
    ignored (a pasted text may have been re-wrapped or had spaces added), and
    each whole 32-character cluster is checked against its MAC. Runs shorter
    than a cluster (cut at a fragment's edge) are ignored; so are clusters
    made with another secret. Two clusters that end up adjacent (the visible
    text between them deleted) are read as two.

Lone characters of the four kinds that a text already holds (a ZWJ inside an
emoji, a ZWNJ in Persian, a stray ZWSP from a web page) are left alone by
:func:`strip_marks`: a mark is a run of two or more. So
``strip_marks(mark_text(t)) == t`` for every text ``t`` in which no such
character starts or ends the text or stands next to another one.

Limits: zero-width characters survive copy and paste in QQ, WeChat, Word and
browsers in ordinary use, but anyone who knows they are there can delete
them all with one search-and-replace, and some editors or "clean text" tools
drop them. The mark deters and traces casual leaks; the visible line of
:mod:`wenku.docx_export` is the other half of the deterrent.

Size: a cluster is 32 characters (96 bytes in UTF-8) per 60-75 visible
characters, so a marked text has about 45% more characters (about 3,700 more
for 8,000 characters). Front ends that cap message length must count the
marked text, or send the .docx.

TODO(texts.py): user-facing strings around this module (to live in wenku/texts.py):
    * the visible line is ``texts.watermark_line(masked_qq, delivery_id)`` and
      the admin's answer ``texts.trace_result`` (both exist);
    * missing: ``trace_unknown(delivery_ids: Sequence[int]) -> str`` for marks
      that verify but name no delivery in the database (a restored backup, a
      second bot sharing the secret), which ``wenku.fulltext.trace`` now drops
      silently, e.g. ``"水印有效（编号 " + "、".join(map(str, delivery_ids)) + "），但数据库里没有这次发送的记录。"``
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import pairwise

__all__ = [
    "MARK_CHARS",
    "CLUSTER_LENGTH",
    "mark_text",
    "find_marks",
    "strip_marks",
    "mask_qq",
]

#: The four zero-width characters, in the order of the 2-bit values they stand for.
MARK_CHARS = "\u200b\u200c\u200d\u2060"
#: Characters in one cluster: 64 bits at 2 bits each.
CLUSTER_LENGTH = 32

_DOMAIN = b"wenku-watermark-v1:"
_ID_LIMIT = 2**32
_FIRST_MAX = 8  # the first cluster comes after 1.._FIRST_MAX characters
_GAP_MIN, _GAP_MAX = 60, 75  # characters between clusters, before moving to a plain gap
_MAX_CHUNKS = 16  # whole clusters read from each end of one run (bounds work on hostile input)

_CLASS = f"[{MARK_CHARS}]"
#: A run of mark characters, whitespace between them allowed (re-wrapped text).
_RUN = re.compile(rf"{_CLASS}(?:\s*{_CLASS})*")
#: What strip_marks removes: runs of two or more, and any run at the text's very start or end.
_STRIP = re.compile(rf"{_CLASS}(?:\s*{_CLASS})+|\A{_CLASS}|{_CLASS}\Z")
_TO_DIGITS = str.maketrans({char: str(value) for value, char in enumerate(MARK_CHARS)})
_DELETE_MARKS = str.maketrans(dict.fromkeys(MARK_CHARS))
#: Each hexadecimal digit of the 64-bit payload as two mark characters.
_HEX_TO_MARKS = {f"{value:x}": MARK_CHARS[value >> 2] + MARK_CHARS[value & 3] for value in range(16)}

# Categories that must not touch a cluster: marks (they combine with what
# precedes), format/control/surrogate/private/unassigned, separators.
_UNSAFE_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_UNSAFE_RANGES = (
    (0x1100, 0x11FF),  # Hangul jamo (conjoin into syllables)
    (0xA960, 0xA97F),
    (0xD7B0, 0xD7FF),
    (0xFE00, 0xFE0F),  # variation selectors
    (0x1F1E6, 0x1F1FF),  # regional indicators (flags are pairs)
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
    (0xE0000, 0xE01EF),  # tags and variation selectors supplement
)


@lru_cache(maxsize=4096)
def _plain(char: str) -> bool:
    """Whether a cluster may stand next to ``char`` without changing what is seen."""
    code = ord(char)
    if any(low <= code <= high for low, high in _UNSAFE_RANGES):
        return False
    return unicodedata.category(char) not in _UNSAFE_CATEGORIES and not char.isspace()


@lru_cache(maxsize=8)
def _keyed(secret: str) -> hmac.HMAC:
    """An HMAC primed with the secret; copied for each message (skips re-keying)."""
    if not isinstance(secret, str) or not secret:
        raise ValueError("the watermark secret must be a non-empty string")
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def _digest(keyed: hmac.HMAC, delivery_id: int) -> bytes:
    mac = keyed.copy()
    mac.update(_DOMAIN + delivery_id.to_bytes(4, "big"))
    return mac.digest()


def _check_id(delivery_id: int) -> int:
    delivery_id = operator.index(delivery_id)
    if not 0 <= delivery_id < _ID_LIMIT:
        raise ValueError(f"delivery_id must be in 0..{_ID_LIMIT - 1}, got {delivery_id}")
    return delivery_id


def _cluster(delivery_id: int, digest: bytes) -> str:
    payload = (delivery_id << 32) | int.from_bytes(digest[:4], "big")
    return "".join(_HEX_TO_MARKS[digit] for digit in f"{payload:016x}")


def _positions(text: str, digest: bytes) -> list[int]:
    """Offsets in ``text`` (between ``text[p-1]`` and ``text[p]``) where clusters go."""
    size = len(text)
    spread = _GAP_MAX - _GAP_MIN + 1
    gaps = [_GAP_MIN + byte % spread for byte in digest[5:]]
    positions: list[int] = []
    target = 1 + digest[4] % _FIRST_MAX
    turn = 0
    while target < size:
        position = target
        while position < size and not (_plain(text[position - 1]) and _plain(text[position])):
            position += 1
        if position >= size:
            break
        positions.append(position)
        target = position + gaps[turn % len(gaps)]
        turn += 1
    return positions


def mark_text(text: str, *, delivery_id: int, secret: str) -> str:
    """``text`` with invisible clusters naming ``delivery_id`` spread through it.

    Visible characters are never changed, removed or reordered:
    ``strip_marks`` gives back ``text``. A text with no plain gap between two
    characters (a single character, say) gets one cluster at whichever end
    is a plain character, and is returned unmarked when neither is (empty,
    or only whitespace and controls at both ends). Raises ValueError for an
    empty secret or a ``delivery_id`` outside 0..2**32-1.
    """
    delivery_id = _check_id(delivery_id)
    digest = _digest(_keyed(secret), delivery_id)
    if not text:
        return text
    cluster = _cluster(delivery_id, digest)
    positions = _positions(text, digest)
    if not positions:
        # Too short or too odd for an inner gap: next to a plain character at an end.
        if _plain(text[-1]):
            return text + cluster
        if _plain(text[0]):
            return cluster + text
        return text  # only spaces, controls and the like: nothing worth marking
    bounds = [0, *positions, len(text)]
    return cluster.join([text[start:end] for start, end in pairwise(bounds)])


def _candidates(text: str) -> list[str]:
    """Every whole cluster (as base-4 digits) in ``text``, in order of appearance."""
    found: list[str] = []
    for run in _RUN.findall(text):
        if len(run) < CLUSTER_LENGTH:
            continue
        digits = "".join(run.split()).translate(_TO_DIGITS)
        count = len(digits) // CLUSTER_LENGTH
        if not count:
            continue
        starts = set(range(0, CLUSTER_LENGTH * min(count, _MAX_CHUNKS), CLUSTER_LENGTH))
        # Aligned from the end too: a cluster glued behind a partial one.
        tail = len(digits) - CLUSTER_LENGTH
        starts.update(tail - CLUSTER_LENGTH * k for k in range(min(count, _MAX_CHUNKS)))
        found.extend(digits[start : start + CLUSTER_LENGTH] for start in sorted(starts))
    return found


def find_marks(text: str, secret: str) -> list[int]:
    """The delivery numbers of the verified clusters in ``text``, most frequent first.

    Ties keep the order in which the numbers first appear. Clusters cut at
    the text's edges and clusters made with another secret are ignored, so
    an ordinary or tampered text gives ``[]``. Never raises because of
    ``text`` (anything that is not a ``str`` gives ``[]``); raises ValueError
    only for an empty secret, which is a configuration error.
    """
    keyed = _keyed(secret)
    if not isinstance(text, str):
        return []
    counts = Counter(_candidates(text))
    verified: dict[int, int] = {}
    for digits, count in counts.items():  # Counter keeps first-appearance order
        payload = int(digits, 4)
        delivery_id, mac = payload >> 32, payload & 0xFFFFFFFF
        expected = _digest(keyed, delivery_id)[:4]
        if hmac.compare_digest(expected, mac.to_bytes(4, "big")):
            verified[delivery_id] = verified.get(delivery_id, 0) + count
    return sorted(verified, key=verified.__getitem__, reverse=True)  # stable: ties keep order


def strip_marks(text: str) -> str:
    """``text`` without marks: every run of two or more mark characters, and any at either end.

    Whitespace inside a run (from re-wrapping) is kept. A lone mark
    character between two others (a ZWJ inside an emoji) is not a mark and
    stays.
    """
    return _STRIP.sub(lambda match: match.group().translate(_DELETE_MARKS), text)


def mask_qq(user_id: str | int) -> str:
    """A QQ number shown with its middle hidden, the length kept: ``123456789`` -> ``123****89``.

    Nine digits or more keep the first 3 and last 2; 6-8 keep the first 2
    and last 1; 3-5 keep the first only; shorter numbers are hidden
    entirely. At least three characters are hidden from 6 characters on.
    """
    number = str(user_id).strip()
    size = len(number)
    if size >= 9:
        head, tail = 3, 2
    elif size >= 6:
        head, tail = 2, 1
    elif size >= 3:
        head, tail = 1, 0
    else:
        head, tail = 0, 0
    return number[:head] + "*" * (size - head - tail) + number[size - tail :]
