"""Redeem codes (卡密): unguessable, easy to type, stored only as hashes, usable once."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import texts
from .durations import Duration, parse_duration
from .errors import CodeRefused, TooManyAttempts, TooManyCodes
from .members import Membership, extend
from .store import Store
from .textnorm import normalize

__all__ = ["ALPHABET", "CODE_LENGTH", "new_code", "normalize_code", "generate", "redeem", "void", "CodeInfo", "list_codes"]

#: No 0/O, 1/I/L: nothing a member can misread when typing a code from a chat.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 20 characters of 31 symbols: 99 random bits.
CODE_LENGTH = 20
MAX_CODES_AT_ONCE = 100
#: Wrong codes allowed per QQ number within the window before redeeming is refused.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=10)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 5] for i in range(0, CODE_LENGTH, 5))


def normalize_code(text: str) -> str:
    """Upper case, full-width folded (a Chinese IME types ＡＢＣ), dashes and spaces dropped."""
    return "".join(char for char in normalize(text).upper() if char.isalnum())


def code_hash(code: str) -> str:
    # 99 random bits make a plain hash irreversible: a copy of the database reveals no code.
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def generate(store: Store, count: int, duration: Duration, *, now: datetime, actor: str) -> list[str]:
    if not 1 <= count <= MAX_CODES_AT_ONCE:
        raise TooManyCodes(MAX_CODES_AT_ONCE)
    codes = [new_code() for _ in range(count)]
    with store.write():
        for code in codes:
            store.add_code(code_hash(code), str(duration), now, actor)
    return codes


def redeem(store: Store, user_id: str, code: str, *, now: datetime) -> Membership:
    """Use a code for ``user_id``: exactly one of any number of simultaneous redeemers succeeds."""
    if store.redeem_failures_since(user_id, now - FAILURE_WINDOW) >= MAX_FAILURES:
        raise TooManyAttempts(int(FAILURE_WINDOW.total_seconds() // 60))
    digest = code_hash(code)
    with store.write():
        claimed = store.claim_code(digest, user_id, now)
        if claimed is not None:
            return extend(
                store,
                user_id,
                parse_duration(claimed["duration"]),
                now=now,
                actor=user_id,
                action="redeem",
                source="code",
                note=texts.code_note(claimed["id"]),
            )
    existing = store.code_by_hash(digest)
    if existing is None:
        store.record_redeem_failure(user_id, now)
        raise CodeRefused("unknown")
    raise CodeRefused("void" if existing["voided_at"] else "used")


def void(store: Store, code_or_number: str, *, now: datetime, actor: str) -> int:
    """Void an unused code given as the code itself or its list number; returns the number."""
    text = normalize(code_or_number).strip().lstrip("#").strip()
    # Only plain ASCII digits of a sane length are a list number: str.isdigit() also accepts
    # ² and ٣, which int() refuses, and SQLite refuses numbers past 64 bits.
    if re.fullmatch(r"[0-9]{1,18}", text):
        row = store.code_by_id(int(text))
    else:
        row = store.code_by_hash(code_hash(text))
    if row is None:
        raise CodeRefused("unknown")
    if row["used_at"]:
        raise CodeRefused("used")
    if not store.void_code(row["id"], now, actor):
        raise CodeRefused("void")
    return row["id"]


@dataclass(frozen=True)
class CodeInfo:
    id: int
    duration: str
    created_at: datetime
    status: str  # unused, used, void
    used_by: str | None


def list_codes(store: Store, limit: int = 30) -> list[CodeInfo]:
    return [
        CodeInfo(
            id=row["id"],
            duration=row["duration"],
            created_at=datetime.fromisoformat(row["created_at"]),
            status="void" if row["voided_at"] else "used" if row["used_at"] else "unused",
            used_by=row["used_by"],
        )
        for row in store.codes(limit)
    ]
