"""Start the bare echo bot, the framework's ceiling: ``python bench/echo_bot.py``.

It is ``bot.py`` with everything of 文库 taken out: the same ``nonebot.init``
on the same settings file (``WENKU_ENV_FILE``; it reads only the NoneBot and
OneBot keys), the same OneBot V11 adapter and FastAPI driver, and instead of
the plugins only bench/echo_plugin/, which sends every group message back.
bench/e2e.py starts it beside the real bot and feeds both the same requests.
"""

import os
from pathlib import Path

import nonebot
from nonebot.adapters.onebot.v11 import Adapter as OneBotV11Adapter

HERE = Path(__file__).resolve().parent

# A one-element tuple: read exactly this file, as bot.py does.
nonebot.init(_env_file=(os.environ["WENKU_ENV_FILE"],))
nonebot.get_driver().register_adapter(OneBotV11Adapter)
nonebot.load_plugins(str(HERE / "echo_plugin"))

if __name__ == "__main__":
    nonebot.run()
