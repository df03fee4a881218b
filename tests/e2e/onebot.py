"""A fake OneBot v11 implementation (the NapCat side) for end-to-end tests.

:class:`FakeOneBot` connects to the bot's reverse WebSocket the way NapCat or
Lagrange.OneBot does, sends events, and answers every API call the bot makes
(``{"action", "params", "echo"}``) with a OneBot v11 response. Every call is
recorded with the monotonic time it arrived, so tests can assert what the bot
sent, where to, and how it was paced.

The event builders produce the fields a real implementation reports: a
message is an array of segments and ``raw_message`` is its CQ-code form.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import itertools
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

__all__ = [
    "ApiCall",
    "assert_text_only",
    "FakeOneBot",
    "Response",
    "cq_escape",
    "docx_text",
    "file_text",
    "group_message",
    "group_request",
    "group_upload",
    "lifecycle_connect",
    "outgoing_texts",
    "private_message",
    "raw_message",
    "text",
]

JSON = dict[str, Any]
Segments = list[JSON]

_message_ids = itertools.count(100_000)
_request_flags = itertools.count(1)


# -- events ---------------------------------------------------------------------


def text(content: str) -> JSON:
    """A text segment."""
    return {"type": "text", "data": {"text": content}}


def cq_escape(content: str, *, in_param: bool = False) -> str:
    """Escape text as OneBot does inside CQ codes (``&``, ``[``, ``]``, and ``,`` in parameters)."""
    escaped = content.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return escaped.replace(",", "&#44;") if in_param else escaped


def raw_message(segments: Segments) -> str:
    """The CQ-code string form of ``segments``, as reported in ``raw_message``."""
    parts = []
    for segment in segments:
        if segment["type"] == "text":
            parts.append(cq_escape(segment["data"]["text"]))
        else:
            params = "".join(f",{key}={cq_escape(str(value), in_param=True)}" for key, value in segment["data"].items())
            parts.append(f"[CQ:{segment['type']}{params}]")
    return "".join(parts)


def _segments(message: str | Segments) -> Segments:
    return [text(message)] if isinstance(message, str) else message


def group_message(
    message: str | Segments,
    *,
    self_id: int,
    group_id: int,
    user_id: int,
    nickname: str = "群友",
    card: str = "",
    role: str = "member",
    message_id: int | None = None,
) -> JSON:
    """A group message event (``sub_type`` normal)."""
    segments = _segments(message)
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": message_id if message_id is not None else next(_message_ids),
        "group_id": group_id,
        "user_id": user_id,
        "anonymous": None,
        "message": segments,
        "raw_message": raw_message(segments),
        "font": 0,
        "sender": {"user_id": user_id, "nickname": nickname, "card": card, "role": role, "sex": "unknown", "age": 0},
    }


def private_message(
    message: str | Segments,
    *,
    self_id: int,
    user_id: int,
    nickname: str = "网友",
    message_id: int | None = None,
) -> JSON:
    """A private message event from a friend."""
    segments = _segments(message)
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "message",
        "message_type": "private",
        "sub_type": "friend",
        "message_id": message_id if message_id is not None else next(_message_ids),
        "user_id": user_id,
        "message": segments,
        "raw_message": raw_message(segments),
        "font": 0,
        "sender": {"user_id": user_id, "nickname": nickname, "card": "", "sex": "unknown", "age": 0},
    }


def group_request(
    *,
    self_id: int,
    group_id: int,
    user_id: int,
    comment: str = "",
    flag: str | None = None,
    sub_type: str = "add",
) -> JSON:
    """A request to join a group (``sub_type`` add) or an invitation of the bot (invite)."""
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "request",
        "request_type": "group",
        "sub_type": sub_type,
        "group_id": group_id,
        "user_id": user_id,
        "comment": comment,
        "flag": flag if flag is not None else f"request-{next(_request_flags)}",
    }


def group_upload(
    *,
    self_id: int,
    group_id: int,
    user_id: int,
    file_id: str,
    name: str,
    size: int,
    busid: int = 102,
) -> JSON:
    """A file dropped into a group (notice ``group_upload``); the bot asks get_group_file_url for its address."""
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "notice",
        "notice_type": "group_upload",
        "group_id": group_id,
        "user_id": user_id,
        "file": {"id": file_id, "name": name, "size": size, "busid": busid},
    }


def lifecycle_connect(self_id: int) -> JSON:
    """The meta event NapCat sends right after the WebSocket opens."""
    return {
        "time": int(time.time()),
        "self_id": self_id,
        "post_type": "meta_event",
        "meta_event_type": "lifecycle",
        "sub_type": "connect",
    }


# -- API calls and responses ------------------------------------------------------


SEND_ACTIONS = frozenset({"send_msg", "send_group_msg", "send_private_msg"})


@dataclass(frozen=True)
class ApiCall:
    """One API request the bot sent, with the ``time.monotonic()`` it arrived at."""

    action: str
    params: JSON
    echo: Any
    received_at: float

    @property
    def segments(self) -> Segments:
        """The ``message`` parameter; fails the test unless it is an array of segments."""
        message = self.params.get("message")
        assert isinstance(message, list), f"{self.action} sent message as {type(message).__name__}: {message!r}"
        return message

    @property
    def text(self) -> str:
        """The concatenated text of the message's text segments."""
        return "".join(segment["data"].get("text", "") for segment in self.segments if segment.get("type") == "text")

    def is_send_to(self, *, group_id: int | None = None, user_id: int | None = None) -> bool:
        """True for send_group_msg to ``group_id`` / send_private_msg to ``user_id``."""
        if group_id is not None:
            return self.action == "send_group_msg" and int(self.params.get("group_id", -1)) == group_id
        if user_id is not None:
            return self.action == "send_private_msg" and int(self.params.get("user_id", -1)) == user_id
        return self.action in SEND_ACTIONS


def assert_text_only(calls: list[ApiCall]) -> None:
    """Every message the bot sent is an array of text segments: user text can never become a QQ code.

    A merged forward is an array of custom nodes, each holding text segments only.
    """
    for call in calls:
        if call.action in SEND_ACTIONS:
            kinds = [segment.get("type") for segment in call.segments]
            assert kinds and set(kinds) == {"text"}, f"{call.action} sent non-text segments {kinds}: {call.params}"
        elif call.action.endswith("_forward_msg"):
            nodes = call.params.get("messages")
            assert isinstance(nodes, list) and nodes, f"{call.action} without nodes: {call.params}"
            for node in nodes:
                content = node.get("data", {}).get("content")
                kinds = [segment.get("type") for segment in content] if isinstance(content, list) else [type(content).__name__]
                assert node.get("type") == "node" and kinds and set(kinds) == {"text"}, f"{call.action} node {node}"


def docx_text(data: bytes) -> str:
    """Every text a .docx carries: paragraphs, tables, headers, footers and core properties."""
    from docx import Document  # python-docx, a dependency of the bot

    document = Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_footer, section.even_page_footer):
            parts += [paragraph.text for paragraph in part.paragraphs]
    properties = document.core_properties
    parts += [properties.title or "", properties.subject or "", properties.comments or "", properties.identifier or ""]
    return "\n".join(parts)


def _segment_texts(segments: Any) -> Iterator[str]:
    if isinstance(segments, str):
        yield segments
        return
    for segment in segments if isinstance(segments, list) else []:
        data = segment.get("data") or {}
        if segment.get("type") == "text":
            yield data.get("text", "")
        elif segment.get("type") == "node":
            yield from _segment_texts(data.get("content"))


def file_text(file: str) -> str:
    """An uploaded file's text: a base64 .docx decoded and read, other base64 content as UTF-8."""
    if not file.startswith("base64://"):
        return file
    try:
        data = base64.b64decode(file.removeprefix("base64://"), validate=True)
    except (binascii.Error, ValueError):
        return file
    try:
        return docx_text(data)
    except (zipfile.BadZipFile, KeyError, ValueError):
        return data.decode("utf-8", errors="replace")


def outgoing_texts(call: ApiCall) -> list[str]:
    """All the text an API call carries to QQ users, one entry per text segment (so per forward node),
    uploaded file (decoded), file name and request reason."""
    found: list[str] = []
    for key in ("message", "messages"):
        found.extend(_segment_texts(call.params.get(key)))
    for key in ("file", "name", "reason"):
        value = call.params.get(key)
        if isinstance(value, str):
            found.append(file_text(value) if key == "file" else value)
    return found


@dataclass
class Response:
    """How the fake answers one API call; ``data=None`` with status ok uses the action's default."""

    data: Any = None
    status: str = "ok"
    retcode: int = 0
    message: str = ""
    delay: float = 0.0

    @classmethod
    def failure(cls, retcode: int = 1200, message: str = "发送失败", delay: float = 0.0) -> Response:
        return cls(data=None, status="failed", retcode=retcode, message=message, delay=delay)


Responder = Response | Callable[[ApiCall], Response]


@dataclass
class _Override:
    responder: Responder
    remaining: int | None  # None: every call; n: the next n calls


class ConnectionLost(AssertionError):
    pass


@dataclass
class FakeOneBot:
    """A OneBot v11 reverse-WebSocket client that answers every API call.

    Use as ``async with FakeOneBot(url, self_id=..., access_token=...) as onebot:``.
    """

    url: str
    self_id: int
    access_token: str | None
    send_lifecycle: bool = True
    nickname: str = "文库测试号"
    calls: list[ApiCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._overrides: dict[str, list[_Override]] = {}
        self._cursor = 0
        self._arrived = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._replies: set[asyncio.Task[None]] = set()
        self._closed_reason: str | None = None
        #: Calls whose answer went out on the socket, in that order (a held answer is not here yet).
        self.answered: list[ApiCall] = []

    # -- connection -----------------------------------------------------------

    def headers(self) -> dict[str, str]:
        headers = {"X-Self-ID": str(self.self_id), "X-Client-Role": "Universal"}
        if self.access_token is not None:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers

    async def connect(self, timeout: float = 5.0) -> None:
        """Open the WebSocket (raises websockets' ``InvalidStatus`` if the handshake is refused)."""
        self._ws = await connect(self.url, additional_headers=self.headers(), open_timeout=timeout, max_size=None)
        self._closed_reason = None
        self._receiver = asyncio.create_task(self._receive(self._ws))
        if self.send_lifecycle:
            await self.send_event(lifecycle_connect(self.self_id))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._receiver is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        for task in list(self._replies):
            task.cancel()
        self._ws = self._receiver = None

    async def __aenter__(self) -> FakeOneBot:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._closed_reason is None

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                payload = json.loads(frame)
                if not isinstance(payload, dict) or "action" not in payload:
                    continue
                call = ApiCall(
                    action=payload["action"],
                    params=payload.get("params") or {},
                    echo=payload.get("echo"),
                    received_at=time.monotonic(),
                )
                self.calls.append(call)
                self._notify()
                task = asyncio.create_task(self._answer(ws, call))
                self._replies.add(task)
                task.add_done_callback(self._replies.discard)
            self._closed_reason = f"closed: code={ws.close_code} reason={ws.close_reason!r}"
        except Exception as error:  # a dead connection must wake the waiters, not hang them
            self._closed_reason = f"receive failed: {error!r}"
        finally:
            self._notify()

    def _notify(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    # -- answering --------------------------------------------------------------

    def respond(self, action: str, response: Responder, *, times: int | None = None) -> None:
        """Answer ``action`` with ``response`` (a Response or a function of the call).

        ``times`` limits the override to the next n calls; later overrides of
        the same action are used after earlier ones run out.
        """
        self._overrides.setdefault(action, []).append(_Override(response, times))

    def _response_for(self, call: ApiCall) -> Response:
        queue = self._overrides.get(call.action, [])
        while queue:
            override = queue[0]
            if override.remaining is not None:
                if override.remaining <= 0:
                    queue.pop(0)
                    continue
                override.remaining -= 1
            responder = override.responder
            return responder(call) if callable(responder) else responder
        return Response()

    def default_data(self, call: ApiCall) -> Any:
        if call.action in SEND_ACTIONS or call.action.endswith("_forward_msg"):
            return {"message_id": next(_message_ids)}
        if call.action.startswith("get_") and call.action.endswith("_list"):
            return []
        if call.action == "get_login_info":
            return {"user_id": self.self_id, "nickname": self.nickname}
        if call.action == "get_status":
            return {"online": True, "good": True}
        return None

    async def _answer(self, ws: ClientConnection, call: ApiCall) -> None:
        response = self._response_for(call)
        if response.delay:
            await asyncio.sleep(response.delay)
        data = response.data
        if data is None and response.status == "ok":
            data = self.default_data(call)
        frame = {
            "status": response.status,
            "retcode": response.retcode,
            "data": data,
            "message": response.message,
            "wording": response.message,
            "echo": call.echo,
        }
        with contextlib.suppress(Exception):  # the bot may be gone; the call is recorded anyway
            await ws.send(json.dumps(frame, ensure_ascii=False))
            self.answered.append(call)
            self._notify()

    # -- sending events ----------------------------------------------------------

    async def send_event(self, event: JSON) -> None:
        if self._ws is None:
            raise ConnectionLost("not connected")
        await self._ws.send(json.dumps(event, ensure_ascii=False))

    async def send_frame(self, frame: str | bytes) -> None:
        """Send one WebSocket frame as it is (text or binary), for frames no event builder makes."""
        if self._ws is None:
            raise ConnectionLost("not connected")
        await self._ws.send(frame)

    def group_message(self, message: str | Segments, *, group_id: int, user_id: int, **fields: Any) -> JSON:
        return group_message(message, self_id=self.self_id, group_id=group_id, user_id=user_id, **fields)

    def private_message(self, message: str | Segments, *, user_id: int, **fields: Any) -> JSON:
        return private_message(message, self_id=self.self_id, user_id=user_id, **fields)

    def group_request(self, *, group_id: int, user_id: int, **fields: Any) -> JSON:
        return group_request(self_id=self.self_id, group_id=group_id, user_id=user_id, **fields)

    def group_upload(self, *, group_id: int, user_id: int, **fields: Any) -> JSON:
        return group_upload(self_id=self.self_id, group_id=group_id, user_id=user_id, **fields)

    # -- waiting for calls --------------------------------------------------------

    def mark(self) -> int:
        """The index the next call will get; pass it as ``after=`` to wait only for later calls."""
        return len(self.calls)

    def reset(self) -> None:
        """Forget overrides and move the cursor past every call received so far."""
        self._overrides.clear()
        self._cursor = len(self.calls)

    async def wait_for_calls(
        self,
        n: int = 1,
        match: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,
        after: int | None = None,
    ) -> list[ApiCall]:
        """The next ``n`` calls matching ``match``, from index ``after`` (default: the cursor).

        The cursor then moves past the last call returned. Fails the test with
        every call seen if they do not arrive within ``timeout`` seconds.
        """
        match = match or (lambda call: True)
        start = self._cursor if after is None else after
        deadline = time.monotonic() + timeout
        while True:
            found = [(index, call) for index, call in enumerate(self.calls[start:], start) if match(call)]
            if len(found) >= n:
                self._cursor = found[n - 1][0] + 1
                return [call for _, call in found[:n]]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed_reason is not None:
                seen = "\n".join(f"  {call.action} {json.dumps(call.params, ensure_ascii=False)[:300]}" for call in self.calls[start:])
                why = f"connection {self._closed_reason}" if self._closed_reason else f"timeout {timeout}s"
                raise AssertionError(f"expected {n} matching API call(s), got {len(found)} ({why}); calls since #{start}:\n{seen or '  none'}")
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), remaining)

    async def request(
        self,
        event: JSON,
        n: int = 1,
        match: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,
    ) -> list[ApiCall]:
        """Send ``event`` and return the next ``n`` matching calls it caused."""
        start = self.mark()
        await self.send_event(event)
        return await self.wait_for_calls(n, match, timeout=timeout, after=start)

    async def wait_until_answered(self, call: ApiCall, *, timeout: float = 5.0) -> None:
        """Return once the answer to ``call`` has been written to the socket (so a close sent later follows it)."""
        deadline = time.monotonic() + timeout
        while not any(answered is call for answered in self.answered):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed_reason is not None:
                raise AssertionError(f"{call.action} not answered ({self._closed_reason or f'timeout {timeout}s'})")
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), remaining)

    async def assert_no_calls(self, within: float, *, after: int | None = None) -> None:
        """Fail if any API call arrives (after index ``after``) during the next ``within`` seconds."""
        start = self.mark() if after is None else after
        await asyncio.sleep(within)
        unexpected = self.calls[start:]
        assert not unexpected, f"unexpected API calls: {[(call.action, call.params) for call in unexpected]}"
