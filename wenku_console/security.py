"""Password checks, sessions, CSRF tokens and login throttling of the web console.

Nothing here reads the clock: every call takes the time, so tests can walk
through expiry and lockouts without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["hash_password", "is_password_hash", "verify_password", "Session", "SessionStore", "LoginThrottle"]

# scrypt at n=2**14, r=8 costs about 16 MB and tens of milliseconds: cheap for
# one admin logging in, expensive for anyone guessing.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PREFIX = "scrypt"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The storable form ``scrypt$n$r$p$salt$hash`` (hex); a fresh random salt unless given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"{_PREFIX}${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def is_password_hash(text: str) -> bool:
    parts = text.split("$")
    return len(parts) == 6 and parts[0] == _PREFIX and all(part.isalnum() for part in parts[1:])


def verify_password(candidate: str, stored: str) -> bool:
    """Constant-time comparison of a typed password with a stored hash."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        computed = _scrypt(candidate, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed, expected)


def _token_key(token: str) -> str:
    # Sessions are looked up by a hash of the cookie, so the table itself holds nothing to replay.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass
class Session:
    csrf: str
    created_at: datetime
    last_seen: datetime
    address: str
    #: Messages for the next page shown (post/redirect/get): (kind, text), kind "ok" or "error".
    flash: list = field(default_factory=list)

    def check_csrf(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode("utf-8", "replace"), self.csrf.encode())


class SessionStore:
    """Sessions in memory: a restart of the bot logs everyone out, which is the safe direction."""

    def __init__(self, *, idle: timedelta = timedelta(hours=2), lifetime: timedelta = timedelta(hours=12)):
        self.idle = idle
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}

    def create(self, now: datetime, address: str) -> tuple[str, Session]:
        """A new session and the cookie value that names it."""
        self._expire(now)
        token = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), created_at=now, last_seen=now, address=address)
        self._sessions[_token_key(token)] = session
        return token, session

    def get(self, token: str | None, now: datetime) -> Session | None:
        if not token:
            return None
        key = _token_key(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if now - session.last_seen > self.idle or now - session.created_at > self.lifetime:
            del self._sessions[key]
            return None
        session.last_seen = now
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_token_key(token), None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self, now: datetime) -> None:
        stale = [
            key
            for key, session in self._sessions.items()
            if now - session.last_seen > self.idle or now - session.created_at > self.lifetime
        ]
        for key in stale:
            del self._sessions[key]


@dataclass
class LoginThrottle:
    """Failed logins, per address and in all: too many within ``window`` lock logins until they age out.

    The overall limit stops a guesser who spreads attempts over many addresses;
    its price is that such an attack also locks the real admin out for a while,
    which the console says plainly.
    """

    per_address: int = 5
    overall: int = 30
    window: timedelta = timedelta(minutes=15)
    _failures: deque = field(default_factory=deque)  # (time, address), oldest first

    def _forget_old(self, now: datetime) -> None:
        while self._failures and now - self._failures[0][0] >= self.window:
            self._failures.popleft()

    def wait(self, address: str, now: datetime) -> timedelta | None:
        """How long ``address`` must wait before it may try again, or None if it may try now."""
        self._forget_old(now)
        mine = [moment for moment, who in self._failures if who == address]
        waits = []
        if len(mine) >= self.per_address:
            waits.append(mine[-self.per_address] + self.window - now)
        if len(self._failures) >= self.overall:
            waits.append(self._failures[-self.overall][0] + self.window - now)
        return max(waits) if waits else None

    def failed(self, address: str, now: datetime) -> None:
        self._forget_old(now)
        self._failures.append((now, address))

    def succeeded(self, address: str) -> None:
        self._failures = deque(item for item in self._failures if item[1] != address)
