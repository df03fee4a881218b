"""First start on a fresh clone: write `.env` with fresh secrets, and refuse to run without them."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

from wenku import texts

__all__ = ["ensure_env_file", "require_credentials", "close_http_event_routes"]

#: Where the OneBot adapter takes events reported over HTTP POST.
HTTP_EVENT_PATHS = ("/onebot/v11/", "/onebot/v11/http", "/onebot/v11/http/")

GENERATED = ("ONEBOT_ACCESS_TOKEN", "ONEBOT_SECRET", "WENKU_WATERMARK_SECRET")


def ensure_env_file(env_file: Path, example: Path) -> bool:
    """Create ``env_file`` from ``example`` with random secrets; True if it was created."""
    if env_file.exists():
        return False
    template = example.read_text(encoding="utf-8") if example.exists() else ""
    values = {name: secrets.token_urlsafe(32) for name in GENERATED}
    for name, value in values.items():
        template, found = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", template)
        if not found:
            template += f"\n{name}={value}\n"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(template, encoding="utf-8")
    env_file.chmod(0o600)
    # The process environment wins over .env, as it will for NoneBot.
    host = os.environ.get("HOST") or _setting(template, "HOST", "127.0.0.1")
    port = os.environ.get("PORT") or _setting(template, "PORT", "8080")
    print(
        texts.first_run_instructions(
            env_file=str(env_file),
            host=host,
            port=port,
            # What NoneBot will use: the process environment wins over the file.
            access_token=os.environ.get("ONEBOT_ACCESS_TOKEN") or values["ONEBOT_ACCESS_TOKEN"],
        ),
        flush=True,
    )
    return True


def _setting(template: str, name: str, default: str) -> str:
    found = re.search(rf"(?m)^{name}=(.*)$", template)
    return found.group(1).strip() if found and found.group(1).strip() else default


def require_credentials() -> None:
    """Exit unless both OneBot credentials are set: without them anyone could drive the bot.

    Read the way the OneBot adapter reads them (its plugin config: file and
    process environment), so that the check and the adapter never disagree.
    """
    from nonebot import get_plugin_config
    from nonebot.adapters.onebot.v11.config import Config as OneBotConfig

    config = get_plugin_config(OneBotConfig)
    missing = [name for name in ("onebot_access_token", "onebot_secret") if not getattr(config, name, None)]
    if missing:
        print(texts.missing_credentials([name.upper() for name in missing]), file=sys.stderr, flush=True)
        sys.exit(2)


def close_http_event_routes(app) -> int:
    """Take the adapter's HTTP POST event routes off the server; returns how many were removed.

    The bot is reached over reverse WebSocket only. Events posted over HTTP
    could not be answered anyway (that needs ONEBOT_API_ROOTS), and a signed
    post for an account whose WebSocket is down registers an HTTP-only bot that
    then refuses the real WebSocket as a duplicate until a restart.
    """
    kept = [
        route
        for route in app.router.routes
        if not (getattr(route, "path", None) in HTTP_EVENT_PATHS and "POST" in (getattr(route, "methods", None) or ()))
    ]
    removed = len(app.router.routes) - len(kept)
    app.router.routes[:] = kept
    return removed
