"""文库 bot's admin web console: server-rendered pages on the bot's own FastAPI app.

It uses the core (`wenku`) directly and never imports NoneBot; what must happen
in QQ goes through the `BotActions` the bot passes in.
"""

from .app import LOGIN_COOKIE, SESSION_COOKIE, BotActions, ConsoleSettings, create_console
from .security import LoginThrottle, SessionStore, hash_password, is_password_hash, verify_password

__all__ = [
    "BotActions",
    "ConsoleSettings",
    "create_console",
    "SESSION_COOKIE",
    "LOGIN_COOKIE",
    "LoginThrottle",
    "SessionStore",
    "hash_password",
    "is_password_hash",
    "verify_password",
]
