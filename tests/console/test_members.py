"""Members in the console: the filtered list, one member's page, grant, extend, revoke, ban and unban."""

from datetime import timedelta

import pytest

from wenku import reports
from wenku.durations import parse_duration
from wenku.members import extend

from .conftest import ADMIN, MEMBER_GROUP, NOW, NOW_TEXT, UNION_TITLE, flashes, message, rows, snapshot, squeeze, table_rows

HEADER = ["QQ", "状态", "到期", "开始", "来源"]
NO_BOT = "QQ 账号未连接：数据库已更新，但群内移出和私聊通知没有执行，请连接后在群里手动处理"


@pytest.fixture
def members(store):
    """30001 active, 30002 ending in 3 days, 30003 lapsed, 30004 lifetime, 30005 banned, 30006 lapsed and banned."""
    for user, duration, days_ago in [
        ("30001", "1年", 30),
        ("30002", "7天", 4),
        ("30003", "1月", 40),
        ("30004", "永久", 100),
        ("30006", "1月", 60),
    ]:
        extend(store, user, parse_duration(duration), now=NOW - timedelta(days=days_ago), actor=ADMIN, action="grant")
    reports.blacklist(store, "30005", "刷广告", actor=ADMIN, now=NOW - timedelta(hours=1))
    reports.blacklist(store, "30006", "倒卖资料", actor=ADMIN, now=NOW - timedelta(hours=2))
    return store


def member_row(store, user: str) -> dict | None:
    return store.get_member(user)


def last_event(store, user: str) -> dict:
    event = store.member_events(user, 1)[0]
    del event["id"]
    return event


# -- the list ----------------------------------------------------------------------------------


async def test_all_lists_every_number_with_its_state(admin, members):
    page = (await admin.get("/admin/members", status="all")).text
    assert table_rows(page, "members") == [
        HEADER,
        ["30006", "黑名单 已过期", "2026-10-25 10:00", "2026-09-25", "管理员开通"],
        ["30003", "已过期", "2026-11-15 10:00", "2026-10-15", "管理员开通"],
        ["30002", "有效", "2026-11-27 10:00", "2026-11-20", "管理员开通"],
        ["30001", "有效", "2027-10-25 10:00", "2026-10-25", "管理员开通"],
        ["30004", "有效", "永久", "2026-08-16", "管理员开通"],
        ["30005", "黑名单", "", "", ""],
    ]
    assert "6 个" in page


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        ("active", ["30002", "30001", "30004"]),  # soonest end first, lifetime last
        ("expiring", ["30002"]),
        ("expired", ["30003", "30006"]),  # latest lapse first
        ("blacklisted", ["30005", "30006"]),  # latest ban first
        ("all", ["30006", "30003", "30002", "30001", "30004", "30005"]),
        ("no-such-filter", ["30002", "30001", "30004"]),  # falls back to active
    ],
)
async def test_each_filter_lists_exactly_its_members(admin, members, status, listed):
    page = (await admin.get("/admin/members", status=status)).text
    assert [row[0] for row in table_rows(page, "members")[1:]] == listed


async def test_the_default_filter_is_active(admin, members):
    page = (await admin.get("/admin/members")).text
    assert [row[0] for row in table_rows(page, "members")[1:]] == ["30002", "30001", "30004"]
    assert '<strong class="tag ok">有效</strong>' in page


async def test_finding_a_number_within_a_filter(admin, members):
    page = (await admin.get("/admin/members", status="all", q="QQ 3000-1")).text  # only digits count
    assert [row[0] for row in table_rows(page, "members")[1:]] == ["30001"]
    assert 'name="q" value="30001"' in page
    page = (await admin.get("/admin/members", status="expired", q="30001")).text
    assert table_rows(page, "members")[1:] == [["没有符合条件的会员"]]


# -- one member -------------------------------------------------------------------------------


async def test_a_members_page_shows_membership_history_and_full_texts(admin, members, library):
    delivery = members.add_delivery(user_id="30001", document_id=1, now=NOW, format="text", group_id=None)
    members.set_delivery_status(delivery, "sent")
    page = (await admin.get("/admin/members/30001")).text
    assert '<h1>QQ 30001 <span class="tag ok">有效会员</span></h1>' in squeeze(page)
    assert "会员（有效）：2026-10-25 起，至 2027-10-25 10:00；今日还可领取全文 19 份" in squeeze(page)
    assert table_rows(page, "events") == [
        ["时间", "操作", "时长", "到期（前 → 后）", "操作人", "备注"],
        ["2026-10-25 10:00", "开通", "1年", "— → 2027-10-25 10:00", ADMIN, ""],
    ]
    assert f'<a href="/admin/documents/1">#1 {UNION_TITLE}</a></td><td>2026-11-24 10:00</td><td>已发送</td>' in page


async def test_a_banned_numbers_page_says_why_and_offers_unban(admin, members):
    page = (await admin.get("/admin/members/30006")).text
    assert '<span class="tag bad">黑名单</span>' in page
    assert "已拉黑：倒卖资料（10001，2026-11-24 08:00）" in page
    assert 'action="/admin/members/30006/unban"' in page
    assert "今日还可领取全文" not in page  # a lapsed membership has no quota


async def test_a_number_never_seen_has_an_empty_page(admin, store):
    page = (await admin.get("/admin/members/987654321")).text
    assert '<span class="tag">非会员</span>' in page
    assert "没有会员记录。" in page


@pytest.mark.parametrize("path", ["/admin/members/12", "/admin/members/abc", "/admin/members/01234567"])
async def test_a_page_for_something_that_is_no_qq_number(admin, store, path):
    response = await admin.get(path)
    assert response.status_code == 400
    assert message(response.text) == f"「{path.rsplit('/', 1)[1]}」不是有效的QQ号。"


# -- grant, extend, revoke ---------------------------------------------------------------------


async def test_granting_a_new_member(admin, members):
    response = await admin.post("/admin/members/grant", {"qq": " ３００１０ ", "duration": "1年"})  # full-width digits
    assert response.headers["location"] == "/admin/members/30010"
    assert await admin.flashes_after(response) == [("ok", "已开通 30010 的会员，有效期至 2027-11-24 10:00。")]
    assert flashes((await admin.get("/admin/members/30010")).text) == []  # shown once
    assert member_row(members, "30010") == {
        "user_id": "30010",
        "started_at": NOW_TEXT,
        "valid_until": "2027-11-24T02:00:00+00:00",
        "lifetime": 0,
        "source": "admin",
        "updated_at": NOW_TEXT,
    }
    assert last_event(members, "30010") == {
        "user_id": "30010",
        "at": NOW_TEXT,
        "action": "grant",
        "duration": "1年",
        "before_until": None,
        "after_until": "2027-11-24T02:00:00+00:00",
        "actor": "网页后台",
        "note": "",
    }


async def test_the_grant_form_can_extend_from_the_current_end(admin, members):
    response = await admin.post("/admin/members/grant", {"qq": "30001", "duration": "1月", "action": "extend"})
    assert await admin.flashes_after(response) == [("ok", "已续费 30001 的会员，有效期至 2027-11-25 10:00。")]
    assert member_row(members, "30001")["valid_until"] == "2027-11-25T02:00:00+00:00"
    assert last_event(members, "30001")["action"] == "extend"


async def test_extending_an_active_member_adds_to_the_end(admin, members):
    response = await admin.post("/admin/members/30002/extend", {"duration": "1月"})
    assert response.headers["location"] == "/admin/members/30002"
    assert await admin.flashes_after(response) == [("ok", "已续费 30002 的会员，有效期至 2026-12-27 10:00。")]
    assert member_row(members, "30002")["valid_until"] == "2026-12-27T02:00:00+00:00"
    assert last_event(members, "30002") == {
        "user_id": "30002",
        "at": NOW_TEXT,
        "action": "extend",
        "duration": "1个月",
        "before_until": "2026-11-27T02:00:00+00:00",
        "after_until": "2026-12-27T02:00:00+00:00",
        "actor": "网页后台",
        "note": "",
    }


async def test_extending_a_lapsed_member_starts_from_now(admin, members):
    response = await admin.post("/admin/members/30003/extend", {"duration": "7天"})
    assert await admin.flashes_after(response) == [("ok", "已续费 30003 的会员，有效期至 2026-12-01 10:00。")]
    assert (member_row(members, "30003")["started_at"], member_row(members, "30003")["valid_until"]) == (
        NOW_TEXT,
        "2026-12-01T02:00:00+00:00",
    )


async def test_revoking_ends_a_membership_now(admin, members):
    response = await admin.post("/admin/members/30001/revoke")
    assert await admin.flashes_after(response) == [("ok", "已取消 30001 的会员。")]
    assert member_row(members, "30001")["valid_until"] == NOW_TEXT
    assert last_event(members, "30001") == {
        "user_id": "30001",
        "at": NOW_TEXT,
        "action": "cancel",
        "duration": None,
        "before_until": "2027-10-25T02:00:00+00:00",
        "after_until": NOW_TEXT,
        "actor": "网页后台",
        "note": "",
    }


async def test_revoking_a_lapsed_membership_is_refused(admin, members):
    before = snapshot(members)
    response = await admin.post("/admin/members/30003/revoke")
    assert response.status_code == 400
    assert message(response.text) == "30003 目前不是会员。"
    assert snapshot(members) == before


@pytest.mark.parametrize(
    ("form", "refusal"),
    [
        ({"qq": "abc", "duration": "1年"}, "「abc」不是有效的QQ号。"),
        ({"qq": "1234", "duration": "1年"}, "「1234」不是有效的QQ号。"),
        ({"qq": "", "duration": "1年"}, "「（空）」不是有效的QQ号。"),
        ({"qq": "30010", "duration": "3世纪"}, "看不懂时长「3世纪」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"),
        ({"qq": "30010", "duration": "0天"}, "看不懂时长「0天」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"),
        ({"qq": "30010"}, "看不懂时长「（空）」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"),
    ],
)
async def test_a_bad_number_or_length_is_refused_with_the_cores_words(admin, members, form, refusal):
    before = snapshot(members)
    response = await admin.post("/admin/members/grant", form)
    assert response.status_code == 400
    assert message(response.text) == refusal
    assert snapshot(members) == before


async def test_a_bad_length_on_a_members_page_is_refused(admin, members):
    before = snapshot(members)
    response = await admin.post("/admin/members/30002/extend", {"duration": "很久"})
    assert response.status_code == 400
    assert message(response.text) == "看不懂时长「很久」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"
    response = await admin.post("/admin/members/12/extend", {"duration": "1年"})
    assert response.status_code == 400
    assert message(response.text) == "「12」不是有效的QQ号。"
    assert snapshot(members) == before


# -- ban and unban ----------------------------------------------------------------------------------


async def test_banning_a_member_ends_the_membership_and_removes_them_from_the_groups(admin, members, actions):
    response = await admin.post("/admin/members/30001/ban", {"reason": "在闲鱼倒卖资料"})
    assert response.headers["location"] == "/admin/members/30001"
    assert await admin.flashes_after(response) == [("ok", f"已拉黑 30001，并取消其会员。\n移出会员群 {MEMBER_GROUP}：成功")]
    assert members.blacklist_entry("30001") == {"user_id": "30001", "reason": "在闲鱼倒卖资料", "at": NOW_TEXT, "actor": "网页后台"}
    assert member_row(members, "30001")["valid_until"] == NOW_TEXT
    assert (last_event(members, "30001")["action"], last_event(members, "30001")["note"]) == ("revoke", "在闲鱼倒卖资料")
    audit = members.audit_of("30001", 1)[0]
    assert (audit["at"], audit["actor"], audit["action"], audit["report_id"], audit["detail"]) == (
        NOW_TEXT, "网页后台", "ban", None, "在闲鱼倒卖资料",
    )  # fmt: skip
    assert actions.removals == ["30001"]


async def test_a_failed_removal_is_reported_for_each_group(admin, members, actions):
    actions.kick_results = [(20002, False), (20003, True)]
    response = await admin.post("/admin/members/30009/ban", {"reason": "刷屏"})
    assert await admin.flashes_after(response) == [
        ("ok", "已拉黑 30009。\n移出会员群 20002：失败，请手动移出\n移出会员群 20003：成功")
    ]
    assert members.blacklist_entry("30009")["reason"] == "刷屏"


async def test_banning_without_a_connected_qq_account_bans_and_says_what_was_not_done(admin, members, actions):
    actions.is_connected = False
    response = await admin.post("/admin/members/30001/ban", {"reason": "倒卖"})
    assert await admin.flashes_after(response) == [("ok", "已拉黑 30001，并取消其会员。"), ("ok", NO_BOT)]
    assert members.blacklist_entry("30001")["reason"] == "倒卖"
    assert actions.removals == []


async def test_an_admin_cannot_be_banned(admin, members, actions):
    before = snapshot(members)
    response = await admin.post(f"/admin/members/{ADMIN}/ban", {"reason": "试试"})
    assert response.status_code == 400
    assert message(response.text) == "不能拉黑管理员。"
    assert snapshot(members) == before
    assert actions.removals == []


async def test_a_ban_needs_a_reason(admin, members, actions):
    before = snapshot(members)
    response = await admin.post("/admin/members/30001/ban", {"reason": "   "})
    assert response.status_code == 400
    assert message(response.text) == "格式：拉黑 QQ 理由，例如：拉黑 12345678 倒卖资料"
    assert snapshot(members) == before
    assert actions.removals == []


async def test_unbanning(admin, members):
    response = await admin.post("/admin/members/30005/unban")
    assert await admin.flashes_after(response) == [("ok", "已解除拉黑 30005。")]
    assert [row["user_id"] for row in rows(members, "blacklist")] == ["30006"]
    audit = members.audit_of("30005", 1)[0]
    assert (audit["actor"], audit["action"]) == ("网页后台", "unban")


async def test_unbanning_a_number_that_is_not_banned_says_so_and_logs_nothing(admin, members):
    audit_before = rows(members, "audit")
    response = await admin.post("/admin/members/30001/unban")
    assert await admin.flashes_after(response) == [("ok", "30001 不在黑名单中。")]
    assert rows(members, "audit") == audit_before


async def test_what_admins_typed_is_shown_as_text(admin, members):
    response = await admin.post("/admin/members/grant", {"qq": "<b>1</b>", "duration": "1年"})
    assert "「&lt;b&gt;1&lt;/b&gt;」不是有效的QQ号。" in response.text
    assert "<b>1</b>" not in response.text
    await admin.post("/admin/members/30009/ban", {"reason": "<script>x()</script>[CQ:at,qq=all]"})
    page = (await admin.get("/admin/members/30009")).text
    assert "已拉黑：&lt;script&gt;x()&lt;/script&gt;[CQ:at,qq=all]（网页后台，2026-11-24 10:00）" in page
    assert "<script>" not in page
