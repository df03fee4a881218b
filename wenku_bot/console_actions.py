"""What the web console needs done in QQ, carried out over the connected accounts.

The same functions as the chat commands: kicks go through `remove_from_member_groups`,
imports through `import_bytes` (so subscribers and pushes follow), messages
through the paced outbox.
"""

from __future__ import annotations

from nonebot.adapters.onebot.v11 import Bot

from wenku.importer import ImportOutcome

from .membership_jobs import remove_from_member_groups
from .outbox import Target, connected_bots
from .runtime import Runtime, now
from .sharing_jobs import import_bytes

__all__ = ["BotConsoleActions"]


class BotConsoleActions:
    """`wenku_console.BotActions` for the running bot: acts through the first connected account."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def _bot(self) -> Bot | None:
        bots = connected_bots()
        return bots[0] if bots else None

    def connected(self) -> bool:
        return self._bot() is not None

    async def import_file(self, name: str, data: bytes, actor: str) -> ImportOutcome:
        bot = self._bot()
        return await import_bytes(self.runtime, bot.self_id if bot else None, name, data, actor=actor, now=now())

    async def remove_from_member_groups(self, user_id: str) -> list[tuple[int, bool]]:
        return await remove_from_member_groups(self.runtime, user_id)

    async def tell(self, user_id: str, text: str) -> bool:
        bot = self._bot()
        if bot is None or not user_id.isdigit():
            return False
        return await self.runtime.outbox.send_text(Target(bot.self_id, "private", int(user_id)), text)
