"""Hashing of the web console's password (scrypt, from the standard library).

`wenku password` prints a hash to put in .env as WENKU_ADMIN_PASSWORD, so the
file need not hold the password itself; a plain password there is hashed when
the bot starts and only the hash is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_password", "is_password_hash", "verify_password"]

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
    except (ValueError, TypeError):  # TypeError: hashlib's answer to a parameter beyond a C integer
        return False
    return hmac.compare_digest(computed, expected)
