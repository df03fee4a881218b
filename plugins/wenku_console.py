"""The admin web console under /admin, on the bot's own server and port."""

from nonebot import get_app, get_driver
from nonebot.log import logger
from nonebot.plugin import PluginMetadata

from wenku import texts
from wenku_bot.config import Config
from wenku_bot.console_actions import BotConsoleActions
from wenku_bot.runtime import get_runtime, now
from wenku_console import ConsoleSettings, create_console, hash_password, is_password_hash

__plugin_meta__ = PluginMetadata(
    name="文库网页后台",
    description="在浏览器里管理文档、会员、卡密、举报和溯源（/admin）",
    usage="设置 WENKU_ADMIN_PASSWORD 后重启，用浏览器打开 http://HOST:PORT/admin/",
    type="application",
    config=Config,
)


#: A console reachable from the network needs more than a PIN; the login throttle does the rest.
MIN_PASSWORD_LENGTH = 8


@get_driver().on_startup
async def _mount_console() -> None:
    runtime = get_runtime()
    password = runtime.config.wenku_admin_password
    if not password:
        logger.warning(texts.console_disabled())
        return
    if not is_password_hash(password) and len(password) < MIN_PASSWORD_LENGTH:
        logger.error(texts.console_password_refused(MIN_PASSWORD_LENGTH))
        return
    settings = ConsoleSettings(
        # A plain password from .env is hashed here and only the hash is kept in memory.
        password_hash=password if is_password_hash(password) else hash_password(password),
        admins=runtime.admins,
        report_reward=runtime.config.wenku_report_reward,
        watermark_secret=runtime.config.wenku_watermark_secret,
        daily_fulltext=runtime.config.wenku_daily_fulltext,
        max_upload_mb=runtime.config.wenku_max_upload_mb,
        evidence_dir=runtime.data_dir / "evidence",
    )
    console = create_console(store=runtime.store, settings=settings, actions=BotConsoleActions(runtime), clock=now)
    get_app().mount("/admin", console)
    driver = get_driver()
    host, port = driver.config.host, driver.config.port
    logger.info(texts.console_enabled(f"http://{host}:{port}/admin/"))
