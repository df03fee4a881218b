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

# Passwords are hashed by the core, so `wenku password` on the command line needs no web stack.
from wenku.passwords import hash_password, is_password_hash, verify_password

__all__ = ["hash_password", "is_password_hash", "verify_password", "Session", "SessionStore", "LoginThrottle"]


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
