"""How plugins listen and answer: command rules, the chats served, replies and error replies."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from nonebot.adapters.onebot.v11 import Bot, Event, MessageEvent
from nonebot.exception import IgnoredException, NoneBotException
from nonebot.log import logger
from nonebot.message import event_preprocessor
from nonebot.rule import Rule
from nonebot.typing import T_State

from wenku import texts
from wenku.errors import PermissionDenied, WenkuError
from wenku.textnorm import scrub_surrogates

from .outbox import Target
from .runtime import get_runtime

__all__ = ["ARGS", "command", "served_command", "served_chat_command", "served", "served_chat", "require_admin", "target_of", "replying", "chat_kind", "is_free_group"]

ARGS = "wenku_args"
_SPACE = re.compile(r"\s")


def _command_args(text: str, names: tuple[str, ...]) -> str | None:
    """The argument text if ``text`` invokes one of ``names``, else None.

    With the / prefix the arguments may follow directly (/搜索工会); without
    it the word must stand alone or be followed by a space, so that ordinary
    chat such as 搜索一下… does not trigger the bot.
    """
    text = text.strip()
    prefixed = text.startswith("/")
    if prefixed:
        text = text[1:].lstrip()
    for name in names:
        # Case-insensitive for the Latin aliases: phones capitalise "Search".
        if not text[: len(name)].lower() == name.lower():
            continue
        rest = text[len(name) :]
        if not rest or _SPACE.match(rest) or prefixed:
            return rest.strip()
    return None


def _command_text(event: MessageEvent) -> str:
    """The message as text, with an @mention written as the QQ number it names.

    So 开通 @某人 1年 reads as 开通 12345678 1年. Only real mention segments
    count; "[CQ:at,…]" typed by a user is a text segment and stays text.
    """
    parts = []
    for segment in event.message:
        if segment.type == "text":
            parts.append(segment.data.get("text", ""))
        elif segment.type == "at":
            parts.append(f" {segment.data.get('qq', '')} ")
    # A lone surrogate (possible in JSON) could be neither stored nor sent: it becomes U+FFFD.
    return scrub_surrogates("".join(parts))


def group_id_of(event) -> int | None:
    """The group an event happened in (a message, an upload, a join), None in private chat."""
    return getattr(event, "group_id", None)


async def _served(event: MessageEvent) -> bool:
    return get_runtime().chat_kind(group_id_of(event)) is not None


async def _not_blacklisted(event: MessageEvent) -> bool:
    return get_runtime().role_of(event.user_id) != "blacklisted"


#: The bot answers in private chats and configured groups, and stays silent elsewhere.
served_chat = Rule(_served)
#: As ``served_chat``, and not for blacklisted numbers: they get nothing but help.
served = Rule(_served, _not_blacklisted)


def _command_rule(names: tuple[str, ...], checks: tuple[Callable[[MessageEvent], Awaitable[bool]], ...]) -> Rule:
    ordered = tuple(sorted(names, key=len, reverse=True))

    async def _invokes(event: MessageEvent, state: T_State) -> bool:
        args = _command_args(_command_text(event), ordered)
        if args is None:
            return False
        # One checker, the cheap test first: NoneBot runs a rule's checkers all at once,
        # so "command & served" would look up the sender's role in the database for
        # every matcher on every message. Here only the matching command does.
        for check in checks:
            if not await check(event):
                return False
        state[ARGS] = args
        return True

    return Rule(_invokes)


def command(*names: str) -> Rule:
    """Matches a message that invokes one of ``names``; puts the argument text in state[ARGS]."""
    return _command_rule(names, ())


def served_command(*names: str) -> Rule:
    """As ``command``, in a served chat and not from a blacklisted number (``served``)."""
    return _command_rule(names, (_served, _not_blacklisted))


def served_chat_command(*names: str) -> Rule:
    """As ``command``, in a served chat, from anyone (``served_chat``: 帮助 for the blacklisted too)."""
    return _command_rule(names, (_served,))


def require_admin(event: MessageEvent) -> None:
    """Raise the refusal every non-admin gets for an admin command (replied as 没有权限)."""
    if not get_runtime().is_admin(event.user_id):
        raise PermissionDenied()


def chat_kind(event: MessageEvent) -> str | None:
    return get_runtime().chat_kind(group_id_of(event))


def is_free_group(event: MessageEvent) -> bool:
    return chat_kind(event) == "free"


def target_of(bot: Bot, event: MessageEvent) -> Target:
    group_id = group_id_of(event)
    if group_id is not None:
        return Target(self_id=bot.self_id, kind="group", id=group_id)
    return Target(self_id=bot.self_id, kind="private", id=event.user_id)


@asynccontextmanager
async def replying(bot: Bot, event: MessageEvent) -> AsyncIterator[Callable[[str], Awaitable[bool]]]:
    """Yields ``reply(text)``; a core error inside the block becomes its reply, in this one place."""
    target = target_of(bot, event)
    outbox = get_runtime().outbox

    async def reply(text: str) -> bool:
        return await outbox.send_text(target, text)

    try:
        yield reply
    except WenkuError as problem:
        await reply(texts.error(problem))
    except NoneBotException:
        raise
    except Exception:
        what = event.get_plaintext()[:200] if isinstance(event, MessageEvent) else event.get_event_name()
        logger.exception(f"command from {event.user_id} failed: {what!r}")
        await reply(texts.internal_error())


def parse_number(text: str) -> int | None:
    """A document number as users type it: 12, #12, ＃１２."""
    from wenku.textnorm import normalize

    match = re.fullmatch(r"#?\s*(\d{1,9})", normalize(text.strip()))
    return int(match.group(1)) if match else None


# -- two accounts in one group ----------------------------------------------------------------

#: Group events already handled: key -> (the account that handled it, when).
_handled: OrderedDict[tuple, tuple[str, float]] = OrderedDict()
#: Seconds a copy is remembered: far longer than two accounts' copies of one event can be apart.
HANDLED_FOR = 300.0


def _group_event_key(event: Event) -> tuple | None:
    """What identifies a group event across accounts, or None for events that are one account's own.

    Copies differ in self_id and message_id (each OneBot implementation numbers
    messages itself); the group, the person, the time and the content are QQ's.
    """
    group_id = getattr(event, "group_id", None)
    if not isinstance(group_id, int) or getattr(event, "post_type", None) == "meta_event":
        return None  # also a malformed event's group_id (a list, say): nothing to compare
    if isinstance(event, MessageEvent):
        # Not the whole segment: an image's url carries a per-account key, so the two copies of
        # one screenshot differ there; its file name (the image's hash) is the same.
        detail = tuple(
            (segment.type, str(segment.data.get("text") or segment.data.get("qq") or segment.data.get("file") or ""))
            for segment in event.original_message
        )
    elif getattr(event, "file", None) is not None:  # a group upload: the file's id is QQ's
        detail = (getattr(event.file, "id", ""), getattr(event.file, "name", ""))
    else:  # join requests, entries, leaves: who, where, when, and what they said
        detail = (getattr(event, "sub_type", ""), getattr(event, "comment", ""))
    key = (event.get_event_name(), group_id, getattr(event, "user_id", None), getattr(event, "time", None), detail)
    try:
        hash(key)
    except TypeError:  # odd field types in an event the adapter let through
        return None
    return key


@event_preprocessor
async def handle_each_group_event_once(bot: Bot, event: Event) -> None:
    """When two of the bot's accounts sit in one group, QQ gives each event to both: only the first copy
    is handled, so a request is answered once (and a full text charged once).

    Only a copy through *another* account is dropped: one account never delivers an event
    twice, so the same words sent again in the same second through it are a new message.
    Private chats are one account's and are never affected.
    """
    key = _group_event_key(event)
    if key is None:
        return
    moment = time.monotonic()
    while _handled and next(iter(_handled.values()))[1] < moment - HANDLED_FOR:
        _handled.popitem(last=False)
    first = _handled.get(key)
    if first is not None and first[0] != bot.self_id:
        raise IgnoredException("the same group event, through another account")
    _handled[key] = (bot.self_id, moment)
    _handled.move_to_end(key)
