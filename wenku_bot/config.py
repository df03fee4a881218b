"""Settings of the bot, read from the environment and `.env` (environment wins).

Every field is listed with its meaning in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from wenku import texts


class Config(BaseModel):
    wenku_db: Path = Path("data/wenku.db")
    wenku_member_groups: list[int] = Field(default_factory=list)
    wenku_free_groups: list[int] = Field(default_factory=list)
    wenku_admins: list[int] = Field(default_factory=list)
    wenku_contact: str = texts.DEFAULT_CONTACT
    wenku_daily_fulltext: int = 20
    wenku_send_interval: float = 1.5
    wenku_join_mode: Literal["auto", "manual"] = "auto"
    wenku_daily_at: str = "09:00"
    wenku_report_reward: str = "1年"
    wenku_watermark_secret: str = ""
    wenku_push_on_import: bool = False
    wenku_admin_password: str = ""
    wenku_demo: bool = True
    wenku_boilerplate: list[str] = Field(default_factory=list)
    wenku_category_rules: dict[str, list[str]] = Field(default_factory=dict)
    wenku_reconnect_wait: float = 60.0
    wenku_join_grace: int = 10
    wenku_backup_keep: int = 14
    wenku_recommend_at: str = "10:00"
    wenku_digest_at: str = "mon 09:30"
    wenku_subscription_daily_cap: int = 10
    wenku_max_upload_mb: int = 20
