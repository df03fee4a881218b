"""Who gets full texts, as a property: random runs of membership changes, codes, reports, bans,
time passing and requests, checked after every step against a model kept by this test.

Each example builds a fresh runtime (the library of plugin_support plus one long speech whose
body is much longer than the 300-character 摘要 opening) and drives it for up to
``MAX_STEPS`` steps. Chat commands go through the real matchers (NoneBug's test_matcher(),
one event per step); every API call the outbox makes lands on ``RecordingQQ``, injected as
the account the outbox sends through (``Library.bots``), which records the call and answers as
NapCat would, or refuses private sends, or lets them time out, when a step asks for a fault.
The daily job and the removal job are called directly with the same recorder. The clock is
frozen during a step and moves in whole seconds between steps, as the database stores times.

The model is independent of wenku.members: it keeps its own record of each QQ number's
membership end, lifetime flag and blacklisting, updated from the commands it saw succeed by
its own rules (the README's: renewal counts from the later of now and the current end,
cancelling ends it now, a ban ends it and blacklists, an approved report rewards the
reporter with a year). After every step:

1. every send that carries a full text (a merged-forward, an uploaded file, anything holding a
   watermark or the visible delivery line, or a run of a document body longer than the 摘要
   opening) went privately to someone the model allows: an admin, or an active member who is
   not blacklisted;
2. every such send carries marks that name deliveries of its recipient only, and the text of
   each delivery holds the visible line with the recipient's masked QQ and its number;
3. every delivery row the step added belongs to an allowed user and the requester, is no
   longer pending, and its status agrees with what reached QQ (sent: the whole text; partial:
   some; failed: nothing);

and, so that the model cannot drift unnoticed: the bot's role of every number is the model's,
a 全文 request is answered as the model expects (refusal, unknown number, quota, or a
delivery), join requests are decided as the model expects, the daily job never removes a
member, the removal job removes exactly those whose grace ended without a membership, a
number the bot must ignore (a blacklisted one, or any in an unconfigured group) gets no
reply at all, admin commands from anyone else get 没有权限, and nothing is logged as an error.

Steps are drawn one at a time with an eye on the model (st.data(), as a rule-based state
machine would, which Hypothesis cannot run async): numbers with a membership or a ban come up
often, decisions name open reports, redemptions name unused codes, and the clock jumps to a
second before, at or after a membership's end. A failing run shrinks to its steps, printed
as "Draw n (step k): …". ``--hypothesis-show-statistics`` shows what the runs went through.

Timeouts are treated as the bot treats them: a call that timed out may have arrived, so it
counts as arrived (``Call.arrived``). The test at the end pins the case this test found the
bot getting wrong (plain pieces that timed out were logged as a failed delivery).
"""

from __future__ import annotations

import base64
import calendar
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache, cached_property, partial

import pytest
from docx import Document
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st
from nonebot.adapters.onebot.v11 import Bot, Message
from nonebot.adapters.onebot.v11.exception import ActionFailed, NetworkError
from nonebug import App
from plugin_support import (
    BOT_ID,
    CONTACT,
    FREE_GROUP,
    IMPORTED_AT,
    MEMBER_GROUP,
    OTHER_GROUP,
    SUPERUSER,
    WATERMARK_SECRET,
    Library,
    chat_config,
    group_message,
    join_request,
    member_joined,
    make_store,
    private_message,
)

from wenku import texts
from wenku.importer import ImportRules, import_document
from wenku.store import Store
from wenku.watermark import find_marks, mask_qq
from wenku_bot.config import Config

#: Monday 2024-05-06, 12:00 in Asia/Shanghai: where every example's clock starts.
START = datetime(2024, 5, 6, 4, 0, tzinfo=timezone.utc)
SHANGHAI = timezone(timedelta(hours=8))  # no daylight saving: a fixed offset is exact

#: Admins: the superuser of install_runtime, and one from WENKU_ADMINS (nine digits, so that
#: its masked QQ differs from everyone else's).
SECOND_ADMIN = 100000202
ADMINS = (SUPERUSER, SECOND_ADMIN)
#: Everyone else: visitors until an admin, a code or a report makes them members.
PEOPLE = (300000011, 300000022, 300000033, 300000044)
EVERYONE = ADMINS + PEOPLE

#: Full texts per member per day: small, so that runs reach the quota.
DAILY_LIMIT = 2
#: The 摘要 shows this many characters of a body; more of one in a row is a full text.
PREVIEW_CHARS = 300
GROUP_OF = {"free": FREE_GROUP, "member": MEMBER_GROUP, "other": OTHER_GROUP}

#: 时长 as admins type them, and what they mean to the model: (days, months, lifetime).
LENGTHS = {"3天": (3, 0, False), "2周": (14, 0, False), "1月": (0, 1, False), "1年": (0, 12, False), "永久": (0, 0, True)}
REPORT_REWARD = (0, 12, False)  # WENKU_REPORT_REWARD's default, 1年
BOGUS_CODE = "ABCDE-FGHJK-MNPQR-STUVW"
CODE = re.compile(r"[2-9A-HJKMNP-Z]{5}(?:-[2-9A-HJKMNP-Z]{5}){3}")
REDEEM_FAILURES_ALLOWED = 5
REDEEM_FAILURE_WINDOW = timedelta(minutes=10)
REPORTS_PER_HOUR = 3
JOIN_GRACE = timedelta(minutes=10)  # WENKU_JOIN_GRACE's default

MARK_CHARACTERS = "\u200b\u200c\u200d\u2060"
_DROP_MARKS = str.maketrans("", "", MARK_CHARACTERS)
_SPACE = re.compile(r"\s+")
VISIBLE_LINE_START = texts.watermark_line("", 0).split("QQ")[0]  # 【会员专享 禁止外传】

#: Document numbers: 1-7 are plugin_support's short speeches, 8 the long one, 9 does not exist.
LONG_SPEECH = 8
MISSING_DOCUMENT = 9
#: How the bot hands out a full text: what RecordingQQ refuses in the faults that hit them.
FULLTEXT_APIS = ("send_private_forward_msg", "upload_private_file")

#: Runs are long enough for a code or a report to be made and then used; shrinking keeps at least this many.
MIN_STEPS = 10
MAX_STEPS = 25
EXAMPLES = 60


def long_speech() -> str:
    """A speech of about 1,600 characters: its full text is far more than the 摘要 opening,
    and marked it is four forward nodes, or four plain messages."""
    topics = [
        "考核评价", "队伍建设", "基层治理", "数字化转型", "财务管理", "档案管理",
        "后勤保障", "宣传教育", "应急值守", "督查督办", "政务公开", "信访接待",
        "统计调查", "教育培训", "信息报送", "保密管理",
    ]
    paragraphs = [
        f"第{number}部分讲{topic}。{topic}工作要坚持问题导向，建立健全第{number}本工作台账，"
        f"明确责任分工和完成时限，做到每月有调度、每季有通报、年底有考核，"
        f"确保{topic}各项任务按期保质完成，形成可复制可推广的经验做法。"
        for number, topic in enumerate(topics, 1)
    ]
    return "在全系统年度重点工作推进会上的讲话\n同志们：\n" + "\n".join(paragraphs) + "\n"


def access_store() -> Store:
    """The plugin tests' library, and the long speech as document #8."""
    store = make_store()
    outcome = import_document(store, "tuijin.txt", long_speech().encode("utf-8"), now=IMPORTED_AT, rules=ImportRules())
    assert outcome.status == "imported" and store.document_count() == LONG_SPEECH, outcome
    return store


def tally(label: str) -> None:
    """Count what a run went through (shown by --hypothesis-show-statistics); a no-op outside Hypothesis."""
    if currently_in_test_context():
        event(label)


def plain(text: str) -> str:
    """``text`` without marks and without any whitespace: how body runs are compared (the
    摘要 joins lines with spaces, a message may re-wrap them)."""
    return _SPACE.sub("", text.translate(_DROP_MARKS))


# -- the QQ side -------------------------------------------------------------------------------------


@dataclass
class Call:
    """One API call the bot made, and whether it reached QQ (a call that timed out did)."""

    api: str
    data: dict
    arrived: bool
    step: int

    @property
    def private_to(self) -> int | None:
        """The user a private send goes to; None for anything addressed to a group."""
        return None if "group_id" in self.data else self.data.get("user_id")

    @property
    def group(self) -> int | None:
        return self.data.get("group_id")

    @cached_property
    def text(self) -> str:
        """All the text the call carries, whatever the API: a message, forward nodes, or a
        .docx's paragraphs, footer and properties."""
        parts = []
        if isinstance(self.data.get("message"), Message):
            parts.append(self.data["message"].extract_plain_text())
        for node in self.data.get("messages") or []:
            parts.append(node.data["content"].extract_plain_text())
        if isinstance(self.data.get("file"), str):
            parts.append(docx_text(self.data["file"]))
        return "\n".join(parts)

    @property
    def carries_fulltext(self) -> bool:
        """Whether this call hands out a full text, however it is dressed."""
        return (
            "forward" in self.api
            or "file" in self.api
            or bool(find_marks(self.text, WATERMARK_SECRET))
            or VISIBLE_LINE_START in self.text
            or carries_long_run(self.text)
        )


def docx_text(file: str) -> str:
    assert file.startswith("base64://"), f"a file upload not sent as base64 content: {file[:40]!r}"
    document = Document(io.BytesIO(base64.b64decode(file.removeprefix("base64://"))))
    footers = [paragraph.text for section in document.sections for paragraph in section.footer.paragraphs]
    properties = document.core_properties
    return "\n".join([*(paragraph.text for paragraph in document.paragraphs), *footers, properties.comments])


@cache
def long_runs() -> frozenset[str]:
    """Every run of PREVIEW_CHARS + 1 characters of the long speech's stored body: a message
    holding one shows more than any 摘要 does. (Only the long speech is long enough to have any.)"""
    store = access_store()
    try:
        flat = plain(store.get_document(LONG_SPEECH).body)
    finally:
        store.close()
    size = PREVIEW_CHARS + 1
    return frozenset(flat[start : start + size] for start in range(len(flat) - size + 1))


def carries_long_run(text: str) -> bool:
    flat, runs, size = plain(text), long_runs(), PREVIEW_CHARS + 1
    return any(flat[start : start + size] in runs for start in range(len(flat) - size + 1))


class RecordingQQ:
    """The account the outbox sends through: records every call and answers like NapCat.

    ``fault`` disturbs private sends for one step, as QQ does:
    "no_forward" refuses merged-forwards (the bot falls back to plain messages),
    "breaks_midway" refuses forwards, files and every private message after the first,
    "no_private" refuses every private send (a stranger who is no friend of the bot),
    "timeout" delivers forwards and files but the answer never comes (NetworkError),
    "plain_timeout" refuses forwards and delivers plain private messages without an answer.
    """

    def __init__(self) -> None:
        self.self_id = BOT_ID
        self.calls: list[Call] = []
        self.fault = "none"
        self.step = 0
        self._private_messages_this_step = 0

    def start_step(self, step: int, fault: str = "none") -> None:
        self.step, self.fault, self._private_messages_this_step = step, fault, 0

    def calls_of(self, step: int) -> list[Call]:
        return [call for call in self.calls if call.step == step]

    def _outcome(self, api: str) -> str:
        """What QQ does with this call: "ok", "refused" (nothing arrived) or "timeout" (arrived, no answer)."""
        if self.fault == "no_private" and api in ("send_private_msg", *FULLTEXT_APIS):
            return "refused"
        if self.fault in ("no_forward", "plain_timeout") and api == "send_private_forward_msg":
            return "refused"
        if self.fault == "plain_timeout" and api == "send_private_msg":
            return "timeout"
        if self.fault == "timeout" and api in FULLTEXT_APIS:
            return "timeout"
        if self.fault == "breaks_midway":
            if api == "send_private_msg":
                self._private_messages_this_step += 1
                return "refused" if self._private_messages_this_step > 1 else "ok"
            if api in FULLTEXT_APIS:
                return "refused"
        return "ok"

    async def call_api(self, api: str, **data):
        outcome = self._outcome(api)
        self.calls.append(Call(api, data, outcome != "refused", self.step))
        if outcome == "refused":
            raise ActionFailed(status="failed", retcode=100, msg="fake refusal", wording="发送失败")
        if outcome == "timeout":
            raise NetworkError("WebSocket call api send_private_msg timeout")
        if api == "get_group_member_list":
            # Everyone is in the member group; the daily job must leave members and admins there.
            return [{"user_id": qq, "role": "member"} for qq in EVERYONE]
        if api.startswith("send_"):
            return {"message_id": len(self.calls)}
        return None

    def __getattr__(self, name: str):
        # bot.send_private_msg(...), bot.set_group_kick(...): OneBot's Bot turns these into call_api.
        if name.startswith("_"):
            raise AttributeError(name)
        return partial(self.call_api, name)


# -- the model ---------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, the day clamped to the month's last (31 May + 1 month = 30 June)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


@dataclass
class Person:
    """What the model knows of one QQ number."""

    until: datetime | None = None  # end of the last membership; None: never one, or lifetime
    lifetime: bool = False
    blacklisted: bool = False
    redeem_failures: list[datetime] = field(default_factory=list)
    reports_filed: list[datetime] = field(default_factory=list)
    fulltexts: list[datetime] = field(default_factory=list)  # deliveries that reached QQ at least in part


@dataclass
class ModelCode:
    code: str
    length: str
    state: str = "unused"  # unused, used, void


@dataclass
class ModelReport:
    reporter: int
    reported: int
    state: str = "open"


class Model:
    """Memberships, the blacklist, codes, reports and quotas as the README describes them."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.people = {qq: Person() for qq in EVERYONE}
        self.codes: list[ModelCode] = []
        self.reports: list[ModelReport] = []
        self.removals: list[tuple[int, datetime]] = []  # who entered the member group without a membership, and when their grace ends

    # -- questions

    def is_admin(self, qq: int) -> bool:
        return qq in ADMINS

    def active(self, qq: int) -> bool:
        person = self.people[qq]
        return person.lifetime or (person.until is not None and person.until > self.now)

    def allowed(self, qq: int) -> bool:
        """May ``qq`` receive a full text now?"""
        return self.is_admin(qq) or (not self.people[qq].blacklisted and self.active(qq))

    def role(self, qq: int) -> str:
        if self.is_admin(qq):
            return "admin"
        if self.people[qq].blacklisted:
            return "blacklisted"
        return "member" if self.active(qq) else "visitor"

    def served(self, qq: int, where: str) -> bool:
        """Does the bot answer ``qq``'s commands in ``where``? Not in other groups, not when blacklisted."""
        return where != "other" and self.role(qq) != "blacklisted"

    def quota_left(self, qq: int) -> int:
        today = self.now.astimezone(SHANGHAI).date()
        used = sum(1 for moment in self.people[qq].fulltexts if moment.astimezone(SHANGHAI).date() == today)
        return max(0, DAILY_LIMIT - used)

    # -- changes

    def extend(self, qq: int, length: tuple[int, int, bool]) -> None:
        """Start or lengthen a membership, from the later of now and the running membership's end."""
        days, months, lifetime = length
        person = self.people[qq]
        if self.active(qq) and person.lifetime:
            return
        base = person.until if self.active(qq) else self.now
        if lifetime:
            person.until, person.lifetime = None, True
        else:
            person.until, person.lifetime = add_months(base, months) + timedelta(days=days), False

    def cancel(self, qq: int) -> bool:
        if not self.active(qq):
            return False
        person = self.people[qq]
        person.until, person.lifetime = self.now, False
        return True

    def ban(self, qq: int) -> None:
        self.people[qq].blacklisted = True
        self.cancel(qq)

    def __str__(self) -> str:
        people = ", ".join(
            f"{qq}:{self.role(qq)}"
            + (" lifetime" if person.lifetime else f" until {person.until:%m-%d %H:%M:%S}" if person.until else "")
            for qq, person in self.people.items()
        )
        return f"at {self.now:%Y-%m-%d %H:%M:%S}Z: {people}"


# -- steps -------------------------------------------------------------------------------------------
# Each step is what happens in the world; ``World.run`` performs it against the bot and the model.


@dataclass(frozen=True)
class Grant:
    actor: int
    target: int
    verb: str  # 开通 or 续费
    length: str
    where: str


@dataclass(frozen=True)
class Cancel:
    actor: int
    target: int
    where: str


@dataclass(frozen=True)
class Generate:
    actor: int
    length: str
    where: str


@dataclass(frozen=True)
class Void:
    actor: int
    code: int  # index into the codes generated so far; past the end: a made-up code
    where: str


@dataclass(frozen=True)
class Redeem:
    user: int
    code: int  # index into the codes generated so far; past the end: a made-up code
    where: str


@dataclass(frozen=True)
class Report:
    reporter: int
    reported: int
    where: str


@dataclass(frozen=True)
class Decide:
    actor: int
    number: int  # report number, counted from 1; may name none
    approve: bool
    where: str


@dataclass(frozen=True)
class Ban:
    actor: int
    target: int
    where: str


@dataclass(frozen=True)
class Unban:
    actor: int
    target: int
    where: str


@dataclass(frozen=True)
class Wait:
    seconds: int


@dataclass(frozen=True)
class ToExpiry:
    """Move the clock to a second around the end of someone's membership (no-op if there is none ahead)."""

    user: int
    offset: int  # seconds after the end: -1, 0 or 1


@dataclass(frozen=True)
class DailyJob:
    pass


@dataclass(frozen=True)
class Join:
    user: int
    group: str  # member or free


@dataclass(frozen=True)
class Enter:
    """Someone gets into the member group past the join check (invited by a member)."""

    user: int


@dataclass(frozen=True)
class RemovalJob:
    """The job that removes, once their grace is over, those who entered without a membership."""


@dataclass(frozen=True)
class FullText:
    user: int
    document: int  # 1-8 exist, 9 does not
    form: str  # 文本 or 文件
    where: str
    fault: str  # what QQ does with private sends during this step (see RecordingQQ)


@dataclass(frozen=True)
class Browse:
    user: int
    text: str
    where: str


chat = st.sampled_from(("private", "free", "member", "private", "free", "member", "other"))
served_chat = st.sampled_from(("private", "free", "member"))
length = st.sampled_from(tuple(LENGTHS))
#: "plain_timeout" is left out: see test_a_plain_piece_that_timed_out_counts_as_arrived.
faults = st.sampled_from(("none", "none", "none", "no_forward", "breaks_midway", "no_private", "timeout"))
BROWSING = ("帮助", "搜索 工会", "搜索 台账", f"摘要 {LONG_SPEECH}", "摘要 1", "下一页", "会员")
WAITS = (59, 3600, 12 * 3600, 86400, 6 * 86400, 31 * 86400)


def weighted(*branches: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of ``branches``, each drawn about ``weight`` times as often as a branch of weight 1.
    The first branch is what shrinking turns irrelevant steps into: keep it harmless.
    (st.one_of would drop repeated branches, so the weights are repeats in a sampled list.)"""
    return st.sampled_from([strategy for weight, strategy in branches for _ in range(weight)]).flatmap(lambda strategy: strategy)


def next_step(model: Model) -> st.SearchStrategy:
    """The next step, drawn with an eye on the model's state, as a rule-based machine would:
    numbers that have a story (a membership, a ban) come up often, decisions name reports
    that exist, redemptions name codes that exist, and the clock jumps to ends of memberships."""
    noted = [qq for qq in PEOPLE if model.people[qq].until or model.people[qq].lifetime or model.people[qq].blacklisted]
    people = st.sampled_from(PEOPLE) if not noted else st.one_of(st.sampled_from(PEOPLE), st.sampled_from(noted))
    anyone = st.one_of(st.sampled_from(EVERYONE), people)
    members = [qq for qq in PEOPLE if model.allowed(qq)]
    requester = st.one_of(people, st.sampled_from(members)) if members else people
    # Admin commands mostly from admins in a served chat; sometimes from anyone, anywhere (refused or ignored).
    admin_command = weighted((3, st.tuples(st.sampled_from(ADMINS), served_chat)), (1, st.tuples(anyone, chat)))

    def by_admin(kind, *arguments: st.SearchStrategy) -> st.SearchStrategy:
        return st.builds(lambda pair, *rest: kind(pair[0], *rest, pair[1]), admin_command, *arguments)

    ending = [qq for qq in EVERYONE if not model.people[qq].lifetime and (model.people[qq].until or model.now) > model.now]
    code = st.integers(0, len(model.codes))  # len(model.codes): a code that does not exist
    unused = [index for index, known in enumerate(model.codes) if known.state == "unused"]
    usable_code = st.one_of(st.sampled_from(unused), code) if unused else code
    report = st.integers(1, len(model.reports) + 1)  # one more than filed: a report that does not exist
    open_reports = [number for number, known in enumerate(model.reports, 1) if known.state == "open"]
    open_report = st.one_of(st.sampled_from(open_reports), report) if open_reports else report
    return weighted(
        (1, st.builds(Browse, anyone, st.sampled_from(BROWSING), chat)),
        (2, st.builds(FullText, anyone, st.integers(1, MISSING_DOCUMENT), st.sampled_from(("文本", "文件")), chat, faults)),
        # The long speech, the text worth leaking, asked for often by those who may have it (up to the quota).
        (5, st.builds(FullText, requester, st.just(LONG_SPEECH), st.sampled_from(("文本", "文件")), served_chat, faults)),
        (3, by_admin(Grant, people, st.sampled_from(("开通", "续费")), length)),
        (1, by_admin(Grant, anyone, st.sampled_from(("开通", "续费")), length)),
        (2, by_admin(Cancel, anyone)),
        (2, by_admin(Generate, length)),
        (1, by_admin(Void, code)),
        (3, st.builds(Redeem, anyone, usable_code, chat)),
        (3, st.builds(Report, people, anyone, served_chat)),
        (3, by_admin(Decide, open_report, st.booleans())),
        (2, by_admin(Ban, anyone)),
        (2, by_admin(Unban, anyone)),
        (2, st.builds(Wait, st.sampled_from(WAITS))),
        (3, st.builds(ToExpiry, st.sampled_from(ending), st.sampled_from((-1, 0, 1))) if ending else st.builds(Wait, st.sampled_from(WAITS))),
        (1, st.just(DailyJob())),
        (1, st.builds(Join, anyone, st.sampled_from(("member", "free")))),
        (1, st.builds(Enter, anyone)),
        (1, st.just(RemovalJob())),
    )


# -- the world: bot, recorder and model side by side ----------------------------------------------


class World:
    def __init__(self, app: App, library: Library, qq: RecordingQQ, model: Model, logged_errors: list) -> None:
        self.app = app
        self.library = library
        self.qq = qq
        self.model = model
        self.logged_errors = logged_errors
        self.step = 0
        self.seen_deliveries = 0

    @property
    def store(self) -> Store:
        return self.library.store

    async def say(self, user: int, where: str, text: str) -> None:
        """``user`` types ``text`` in ``where``; the real matchers handle it."""
        if where == "private":
            event = private_message(text, user_id=user)
        else:
            event = group_message(text, group_id=GROUP_OF[where], user_id=user)
        await self.receive(event)

    async def receive(self, event) -> None:
        async with self.app.test_matcher() as ctx:
            # NoneBug's bot only carries the event in; everything the bot sends goes through the
            # outbox to RecordingQQ, so no API call reaches NoneBug's strict expectations.
            bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
            ctx.receive_event(bot, event)

    def calls(self) -> list[Call]:
        return self.qq.calls_of(self.step)

    def replies(self, user: int, where: str) -> list[str]:
        """What the bot said in the chat a command came from (full texts excluded)."""
        if where == "private":
            said = [call for call in self.calls() if call.api == "send_private_msg" and call.private_to == user]
        else:
            said = [call for call in self.calls() if call.api == "send_group_msg" and call.group == GROUP_OF[where]]
        return [call.text for call in said if not call.carries_fulltext]

    def expect_replies(self, step, user: int, where: str, expected: list[str]) -> None:
        assert self.replies(user, where) == expected, f"{step}: replies {self.replies(user, where)!r}, expected {expected!r}"

    def expect_reply_starting(self, step, user: int, where: str, start: str) -> None:
        """One reply, beginning with ``start`` (the rest holds dates the model need not format)."""
        replies = self.replies(user, where)
        assert len(replies) == 1 and replies[0].startswith(start), f"{step}: replies {replies!r}, expected {start!r}…"

    def ignored(self, step) -> bool:
        """Must the bot say and do nothing at all? A message in an unconfigured group, or from a
        blacklisted number (except 帮助, which answers everyone in a served chat)."""
        where = getattr(step, "where", None)
        if where is None:
            return False  # not a chat message: time, the daily job, a join request
        speaker = next(getattr(step, name) for name in ("actor", "user", "reporter") if hasattr(step, name))
        if isinstance(step, Browse) and step.text == "帮助":
            return where == "other"
        return not self.model.served(speaker, where)

    # -- one step

    async def run(self, step) -> None:
        self.step += 1
        self.qq.start_step(self.step, getattr(step, "fault", "none"))
        allowed_before = {qq: self.model.allowed(qq) for qq in EVERYONE}
        silent = self.ignored(step)
        handler = getattr(self, f"_{type(step).__name__.lower()}")
        try:
            await handler(step, silent)  # performs the step, and checks the answers the model expects
        except AssertionError:
            # A broken promise explains a failure better than the unexpected answer that came with it.
            self.check_promises(step, allowed_before)
            raise
        if silent:
            tally("ignored: " + ("an unconfigured group" if step.where == "other" else "a blacklisted number"))
            assert self.calls() == [], f"{step}: the bot must ignore this message, but it called {self.calls()}"
        self.check_promises(step, allowed_before)
        self.check_roles(step)
        assert [record["message"] for record in self.logged_errors] == [], f"{step}: errors logged"

    async def _grant(self, step: Grant, silent: bool) -> None:
        await self.say(step.actor, step.where, f"{step.verb} {step.target} {step.length}")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        self.model.extend(step.target, LENGTHS[step.length])
        self.expect_reply_starting(step, step.actor, step.where, "已开通" if step.verb == "开通" else "已续费")

    async def _cancel(self, step: Cancel, silent: bool) -> None:
        await self.say(step.actor, step.where, f"取消会员 {step.target}")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        ended = self.model.cancel(step.target)
        self.expect_reply_starting(step, step.actor, step.where, "已取消" if ended else texts.not_a_member(str(step.target)))

    async def _generate(self, step: Generate, silent: bool) -> None:
        await self.say(step.actor, step.where, f"生成卡密 1 {step.length}")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        # The code reaches the admin privately; that message is the only place it exists.
        found = [
            code
            for call in self.calls()
            if call.api == "send_private_msg" and call.private_to == step.actor
            for code in CODE.findall(call.text)
        ]
        assert len(found) == 1, f"{step}: expected one code sent privately, got {self.calls()}"
        self.model.codes.append(ModelCode(found[0], step.length))

    async def _void(self, step: Void, silent: bool) -> None:
        code = self.model.codes[step.code] if step.code < len(self.model.codes) else None
        await self.say(step.actor, step.where, f"作废卡密 {code.code if code else BOGUS_CODE}")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        if code is None:
            expected = texts.code_refused("unknown")
        elif code.state != "unused":
            expected = texts.code_refused(code.state)
        else:
            code.state = "void"
            expected = texts.code_voided(step.code + 1)  # one code per 生成卡密: numbered in order
        self.expect_replies(step, step.actor, step.where, [expected])

    async def _redeem(self, step: Redeem, silent: bool) -> None:
        code = self.model.codes[step.code] if step.code < len(self.model.codes) else None
        await self.say(step.user, step.where, f"兑换 {code.code if code else BOGUS_CODE}")
        if silent:
            return
        person = self.model.people[step.user]
        recent = [moment for moment in person.redeem_failures if moment >= self.model.now - REDEEM_FAILURE_WINDOW]
        if len(recent) >= REDEEM_FAILURES_ALLOWED:
            expected = texts.too_many_attempts(10)
        elif code is None:
            person.redeem_failures.append(self.model.now)
            expected = texts.code_refused("unknown")
        elif code.state != "unused":
            expected = texts.code_refused(code.state)
        else:
            code.state = "used"
            tally("code redeemed")
            self.model.extend(step.user, LENGTHS[code.length])
            expected = "兑换成功！"
        self.expect_reply_starting(step, step.user, step.where, expected)

    async def _report(self, step: Report, silent: bool) -> None:
        await self.say(step.reporter, step.where, f"举报 {step.reported} 在闲鱼倒卖会员资料")
        if silent:
            return
        filed = self.model.people[step.reporter].reports_filed
        if step.reported == step.reporter:
            expected = texts.report_refused("self")
        elif self.model.is_admin(step.reported):
            expected = texts.report_refused("admin")
        elif sum(1 for moment in filed if moment >= self.model.now - timedelta(hours=1)) >= REPORTS_PER_HOUR:
            expected = texts.report_refused("throttled")
        else:
            filed.append(self.model.now)
            self.model.reports.append(ModelReport(step.reporter, step.reported))
            expected = texts.report_filed(len(self.model.reports))
        # An admin reporting in private also gets the alert every admin gets, after the answer.
        replies = self.replies(step.reporter, step.where)
        assert replies[:1] == [expected], f"{step}: replies {replies!r}, expected {expected!r} first"

    async def _decide(self, step: Decide, silent: bool) -> None:
        command = f"举报通过 {step.number}" if step.approve else f"举报驳回 {step.number} 证据不足"
        await self.say(step.actor, step.where, command)
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        report = self.model.reports[step.number - 1] if step.number <= len(self.model.reports) else None
        if report is None or report.state != "open":
            expected = texts.report_not_open(step.number, report.state if report else None)
            self.expect_replies(step, step.actor, step.where, [expected])
            return
        if not step.approve:
            report.state = "rejected"
            return
        report.state = "approved"
        tally("report approved")
        self.model.extend(report.reporter, REPORT_REWARD)
        self.model.ban(report.reported)
        kicked = [call.data["user_id"] for call in self.calls() if call.api == "set_group_kick"]
        assert kicked == [report.reported], f"{step}: kicked {kicked}, expected the reseller {report.reported}"

    async def _ban(self, step: Ban, silent: bool) -> None:
        await self.say(step.actor, step.where, f"拉黑 {step.target} 倒卖资料")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        if self.model.is_admin(step.target):
            self.expect_replies(step, step.actor, step.where, [texts.cannot_blacklist_admin()])
            return
        self.model.ban(step.target)

    async def _unban(self, step: Unban, silent: bool) -> None:
        await self.say(step.actor, step.where, f"解除拉黑 {step.target}")
        if silent:
            return
        if not self.model.is_admin(step.actor):
            self.expect_replies(step, step.actor, step.where, [texts.permission_denied()])
            return
        was = self.model.people[step.target].blacklisted
        self.model.people[step.target].blacklisted = False
        self.expect_replies(step, step.actor, step.where, [texts.unblacklisted(str(step.target), was)])

    async def _wait(self, step: Wait, silent: bool) -> None:
        self.model.now += timedelta(seconds=step.seconds)

    async def _toexpiry(self, step: ToExpiry, silent: bool) -> None:
        person = self.model.people[step.user]
        if person.lifetime or person.until is None or person.until <= self.model.now:
            return
        self.model.now = max(self.model.now, person.until + timedelta(seconds=step.offset))
        tally(f"clock moved to a membership's end {step.offset:+d}s")

    async def _dailyjob(self, step: DailyJob, silent: bool) -> None:
        # Imported here: wenku_bot.runtime needs the NoneBot that NoneBug starts after collection.
        from wenku_bot.membership_jobs import run_daily_job

        await run_daily_job(self.library.runtime, self.model.now, bots=[self.qq])
        kicked = [call.data["user_id"] for call in self.calls() if call.api == "set_group_kick"]
        wrongly = [qq for qq in kicked if self.model.allowed(qq)]
        assert wrongly == [], f"{step}: the daily job removed members or admins {wrongly} from the member group"

    async def _join(self, step: Join, silent: bool) -> None:
        await self.receive(join_request(step.user, GROUP_OF[step.group]))
        if step.group == "member":
            expected = self.model.allowed(step.user)
        else:
            expected = self.model.role(step.user) != "blacklisted"
        decisions = [call.data["approve"] for call in self.calls() if call.api == "set_group_add_request"]
        assert decisions == [expected], f"{step}: decided {decisions}, expected approve={expected}"

    async def _enter(self, step: Enter, silent: bool) -> None:
        await self.receive(member_joined(step.user, MEMBER_GROUP))
        alerted = sorted(call.private_to for call in self.calls() if call.api == "send_private_msg")
        if self.model.allowed(step.user):
            assert alerted == [], f"{step}: admins were alerted about a member"
            return
        assert alerted == sorted(ADMINS), f"{step}: alerts went to {alerted}, expected every admin"
        self.model.removals.append((step.user, self.model.now + JOIN_GRACE))

    async def _removaljob(self, step: RemovalJob, silent: bool) -> None:
        from wenku_bot.membership_jobs import process_due_removals

        await process_due_removals(self.library.runtime, self.model.now, bots=[self.qq])
        due = [(user, at) for user, at in self.model.removals if at <= self.model.now]
        self.model.removals = [removal for removal in self.model.removals if removal not in due]
        expected = [user for user, at in sorted(due, key=lambda removal: removal[1]) if not self.model.allowed(user)]
        kicked = [call.data["user_id"] for call in self.calls() if call.api == "set_group_kick"]
        assert sorted(kicked) == sorted(expected), f"{step}: removed {kicked}, expected {expected} ({self.model})"

    async def _browse(self, step: Browse, silent: bool) -> None:
        await self.say(step.user, step.where, step.text)

    async def _fulltext(self, step: FullText, silent: bool) -> None:
        document = self.store.get_document(step.document)
        quota_left = self.model.quota_left(step.user)
        await self.say(step.user, step.where, f"全文 {step.document} {step.form}")
        if silent:
            return
        new_rows = self.new_delivery_rows()
        if not self.model.allowed(step.user):
            tally(f"全文: refused to a {self.model.role(step.user)}")
            self.expect_replies(step, step.user, step.where, [texts.fulltext_refused(CONTACT)])
            assert new_rows == [], f"{step}: a delivery was logged for someone not allowed"
            return
        if document is None:
            self.expect_replies(step, step.user, step.where, [texts.document_not_found(step.document)])
            return
        if quota_left == 0:
            tally("全文: quota used up")
            self.expect_replies(step, step.user, step.where, [texts.quota_exhausted(DAILY_LIMIT)])
            assert new_rows == [], f"{step}: a delivery was logged past the quota"
            return
        assert [(row["user_id"], row["document_id"]) for row in new_rows] == [(str(step.user), step.document)], (
            f"{step}: expected one delivery of #{step.document} to {step.user}, got {new_rows}"
        )
        status = new_rows[0]["status"]
        tally(f"全文: {status} to a {self.model.role(step.user)}")
        if status in ("sent", "partial"):
            self.model.people[step.user].fulltexts.append(self.model.now)
        if status == "partial":
            expected = [texts.private_send_partial()]
        elif status == "failed":
            expected = [texts.private_send_failed()]
        elif step.where != "private":
            expected = [texts.sent_privately()]
        elif step.form == "文件":
            expected = [texts.fulltext_file_sent(document.title)]
        else:
            expected = []
        self.expect_replies(step, step.user, step.where, expected)

    # -- invariants

    def check_promises(self, step, allowed_before: dict[int, bool]) -> None:
        self.check_sends(step, allowed_before)
        self.check_deliveries(step, allowed_before)

    def new_delivery_rows(self) -> list[dict]:
        return list(self.store.db.query("SELECT * FROM deliveries WHERE id > ? ORDER BY id", [self.seen_deliveries]))

    def check_sends(self, step, allowed_before: dict[int, bool]) -> None:
        """Invariants 1 and 2: full texts go privately to allowed users, marked for them."""
        delivered_text: dict[int, list[str]] = {}
        for call in self.calls():
            if not call.carries_fulltext:
                continue
            recipient = call.private_to
            assert recipient is not None, f"{step}: a full text went to a group: {call.api} {call.data.get('group_id')}"
            assert allowed_before.get(recipient, False), (
                f"{step}: {recipient} received a full text without an active membership ({self.model})"
            )
            marks = find_marks(call.text, WATERMARK_SECRET)
            assert marks, f"{step}: a full text to {recipient} carries no watermark"
            for delivery_id in marks:
                row = self.store.delivery(delivery_id)
                assert row is not None and row["user_id"] == str(recipient), (
                    f"{step}: the text sent to {recipient} is marked for delivery {delivery_id}: {row}"
                )
                delivered_text.setdefault(delivery_id, []).append(call.text)
        for delivery_id, pieces in delivered_text.items():
            recipient = self.store.delivery(delivery_id)["user_id"]
            line = texts.watermark_line(mask_qq(recipient), delivery_id)
            assert line in "\n".join(pieces), f"{step}: delivery {delivery_id} lacks its visible line {line!r}"

    def check_deliveries(self, step, allowed_before: dict[int, bool]) -> None:
        """Invariant 3: the log agrees with who was allowed and with what reached QQ."""
        for row in self.new_delivery_rows():
            user = int(row["user_id"])
            assert isinstance(step, FullText) and user == step.user, f"{step}: unexpected delivery {row}"
            assert allowed_before[user], f"{step}: delivery {row['id']} logged for {user}, who is not allowed"
            assert row["status"] in ("sent", "partial", "failed"), f"{step}: delivery {row['id']} left {row['status']}"
            arrived = [
                call.text
                for call in self.calls()
                if call.arrived and call.carries_fulltext and row["id"] in find_marks(call.text, WATERMARK_SECRET)
            ]
            document = self.store.get_document(row["document_id"])
            whole = plain(f"{document.title}{document.body}") in plain("".join(arrived))
            observed = "sent" if whole else "partial" if arrived else "failed"
            assert row["status"] == observed, f"{step}: delivery {row['id']} is {row['status']}, QQ saw {observed}"
            self.seen_deliveries = row["id"]

    def check_roles(self, step) -> None:
        roles = {qq: self.library.runtime.role_of(qq) for qq in EVERYONE}
        expected = {qq: self.model.role(qq) for qq in EVERYONE}
        assert roles == expected, f"after {step}: the bot's roles {roles} differ from the model's ({self.model})"


# -- the property ----------------------------------------------------------------------------------


def access_config() -> Config:
    return chat_config(wenku_admins=[SECOND_ADMIN], wenku_watermark_secret=WATERMARK_SECRET, wenku_daily_fulltext=DAILY_LIMIT)


async def run_steps(app: App, plugins: tuple, logged_errors: list, steps) -> None:
    """One run: a fresh runtime and model, then each step of ``steps(model)`` and the checks after it."""
    import wenku_bot.runtime
    from conftest import install_runtime

    logged_errors.clear()
    model = Model(START)
    with pytest.MonkeyPatch.context() as patch:
        library = install_runtime(patch, access_config(), store=access_store())
        qq = RecordingQQ()
        library.bots[BOT_ID] = qq
        # The bot's clock is the model's: every step happens at one frozen moment.
        for module in (wenku_bot.runtime, *plugins):
            patch.setattr(module, "now", lambda: model.now)
        world = World(app, library, qq, model, logged_errors)
        try:
            for step in steps(model):
                await world.run(step)
        finally:
            library.store.close()


@pytest.fixture
def plugins(wenku_plugin, wenku_members_plugin, wenku_reports_plugin) -> tuple:
    return (wenku_plugin, wenku_members_plugin, wenku_reports_plugin)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Explaining which parts of a failing run vary freely reruns it hundreds of times: too slow here.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
async def test_full_texts_reach_only_allowed_members_marked_for_them(app: App, plugins, logged_errors, data):
    def drawn(model: Model):
        for number in range(1, data.draw(st.integers(MIN_STEPS, MAX_STEPS), label="steps") + 1):
            yield data.draw(next_step(model), label=f"step {number}")

    await run_steps(app, plugins, logged_errors, drawn)


async def test_a_plain_piece_that_timed_out_counts_as_arrived(app: App, plugins, logged_errors):
    """QQ refuses the merged-forward, so the bot falls back to plain messages; those reach the
    member but their answers time out. The text is in the member's hands: the log must say so."""
    member = PEOPLE[0]
    steps = [
        Grant(SUPERUSER, member, "开通", "1月", "private"),
        FullText(member, LONG_SPEECH, "文本", "member", "plain_timeout"),
    ]
    await run_steps(app, plugins, logged_errors, lambda model: iter(steps))
