"""Start 文库 bot: ``uv run bot.py``.

On a fresh clone the first start writes `.env` with random OneBot secrets and
prints how to connect NapCat or Lagrange.OneBot. ``WENKU_ENV_FILE`` names
another settings file (the end-to-end tests use one per test).
"""

import os
from pathlib import Path

import nonebot
from nonebot.adapters.onebot.v11 import Adapter as OneBotV11Adapter

from wenku_bot.firstrun import close_http_event_routes, ensure_env_file, require_credentials

ROOT = Path(__file__).resolve().parent
env_file = Path(os.environ.get("WENKU_ENV_FILE", ".env"))
ensure_env_file(env_file, ROOT / ".env.example")

# A one-element tuple: read exactly this file (a plain string would also read ./.env).
nonebot.init(_env_file=(str(env_file),))
require_credentials()

driver = nonebot.get_driver()
driver.register_adapter(OneBotV11Adapter)
close_http_event_routes(nonebot.get_app())  # reverse WebSocket only: see the function

nonebot.load_from_toml(str(ROOT / "pyproject.toml"))

if __name__ == "__main__":
    nonebot.run()
