"""Resale reports in the console: the list with its screenshots, approval (reward and ban once), rejection."""

from datetime import timedelta

import pytest

from wenku import reports
from wenku.durations import parse_duration
from wenku.members import extend

from .conftest import ADMIN, MEMBER_GROUP, NOW, NOW_TEXT, PNG, message, rows, snapshot, squeeze

LATER_TEXT = "2026-11-24T03:00:00+00:00"  # the console's clock when the admin decides
CLAIM = "在闲鱼倒卖会员资料"
NO_BOT = "QQ 账号未连接：数据库已更新，但群内移出和私聊通知没有执行，请连接后在群里手动处理"
APPROVED = (
    f"举报 #1 已通过：30001 获得奖励，会员至 2027-11-24 11:00；30002 已取消会员并拉黑。\n移出会员群 {MEMBER_GROUP}：成功"
)


@pytest.fixture
def report(store, evidence_dir, tmp_path, clock):
    """Report #1: 30001 reports the member 30002, with screenshots saved inside, outside and not at all."""
    extend(store, "30002", parse_duration("1年"), now=NOW - timedelta(days=10), actor=ADMIN, action="grant")
    report_id = reports.file_report(
        store, reporter="30001", reported="30002", text=CLAIM, group_id="20001", now=NOW, admins={ADMIN}
    )
    inside = evidence_dir / "1_0123456789ab.png"
    inside.write_bytes(PNG)
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"a file the console must never serve")
    store.add_evidence(report_id, "https://example.com/1.png", str(inside), None, len(PNG))
    store.add_evidence(report_id, "https://example.com/2.png", str(outside), None, 35)
    store.add_evidence(report_id, "https://example.com/3.png", str(evidence_dir / ".." / "secret.png"), None, 35)
    store.add_evidence(report_id, "https://example.com/4.png", None, "下载超时", None)
    clock.advance(hours=1)
    return report_id


def audit(store) -> list[tuple]:
    return [(row["action"], row["user_id"], row["report_id"], row["actor"]) for row in rows(store, "audit")]


# -- the list and the screenshots ---------------------------------------------------------------


async def test_the_list_shows_an_open_report_with_its_screenshots_and_both_decisions(admin, report):
    page = squeeze((await admin.get("/admin/reports")).text)
    assert '<strong>#1 举报 <a href="/admin/members/30002">30002</a></strong>' in page
    assert '<span class="tag warn">待处理</span>' in page
    assert '举报人 <a href="/admin/members/30001">30001</a> · 2026-11-24 10:00 · 群 20001' in page
    assert f'<p style="white-space:pre-wrap">{CLAIM}</p>' in page
    assert '<img src="/admin/reports/1/evidence/1" alt="截图 1">' in page
    assert '<span class="tag bad">截图 4 未能保存：下载超时</span>' in page
    assert 'action="/admin/reports/1/approve"' in page and 'action="/admin/reports/1/reject"' in page


async def test_a_screenshot_saved_by_the_bot_is_served(admin, report):
    response = await admin.get("/admin/reports/1/evidence/1")
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/reports/1/evidence/2",  # the database names a file outside the evidence folder
        "/admin/reports/1/evidence/3",  # ... through ".."
        "/admin/reports/1/evidence/4",  # the download failed: no file at all
        "/admin/reports/2/evidence/1",  # a screenshot of another report
        "/admin/reports/1/evidence/99",
    ],
)
async def test_nothing_but_the_reports_own_saved_screenshots_is_served(admin, report, path):
    response = await admin.get(path)
    assert response.status_code == 404
    assert message(response.text) == "找不到这个页面或记录"
    assert "never serve" not in response.text


async def test_a_link_in_the_evidence_folder_pointing_outside_is_not_followed(admin, report, store, evidence_dir, tmp_path):
    link = evidence_dir / "1_link.png"
    link.symlink_to(tmp_path / "secret.png")
    store.add_evidence(report, "https://example.com/5.png", str(link), None, 35)
    assert (await admin.get("/admin/reports/1/evidence/5")).status_code == 404


async def test_decided_reports_leave_the_open_list_but_stay_in_all(admin, report):
    await admin.post("/admin/reports/1/reject", {"reason": "证据不足"})
    assert "没有待处理的举报" in (await admin.get("/admin/reports")).text
    page = squeeze((await admin.get("/admin/reports", status="all")).text)
    assert '<span class="tag ">已驳回</span>' in page
    assert "网页后台 于 2026-11-24 11:00 处理：证据不足" in page
    assert 'action="/admin/reports/1/approve"' not in page


# -- approval ------------------------------------------------------------------------------------


async def test_approving_rewards_the_reporter_and_bans_the_reseller(admin, report, store, actions):
    response = await admin.post("/admin/reports/1/approve")
    assert response.headers["location"] == "/admin/reports"
    assert await admin.flashes_after(response) == [("ok", APPROVED), ("ok", "已私信通知举报人")]
    assert store.report(1) == {
        "id": 1,
        "reporter": "30001",
        "reported": "30002",
        "text": CLAIM,
        "status": "approved",
        "created_at": NOW_TEXT,
        "group_id": "20001",
        "decided_at": LATER_TEXT,
        "decided_by": "网页后台",
        "reason": None,
    }
    assert store.get_member("30001") == {
        "user_id": "30001",
        "started_at": LATER_TEXT,
        "valid_until": "2027-11-24T03:00:00+00:00",
        "lifetime": 0,
        "source": "report",
        "updated_at": LATER_TEXT,
    }
    assert store.get_member("30002")["valid_until"] == LATER_TEXT
    assert rows(store, "blacklist") == [
        {"user_id": "30002", "reason": "举报#1：倒卖会员资料", "at": LATER_TEXT, "actor": "网页后台"}
    ]
    assert audit(store) == [
        ("report", "30002", 1, "30001"),
        ("report_approved", "30002", 1, "网页后台"),
        ("reward", "30001", 1, "网页后台"),
        ("ban", "30002", 1, "网页后台"),
    ]
    assert actions.removals == ["30002"]
    assert actions.messages == [("30001", "你的举报 #1 已核实，感谢支持打击倒卖！已赠送会员，有效期至 2027-11-24 11:00。")]


async def test_approving_twice_is_refused_and_rewards_once(admin, report, store, actions):
    await admin.post("/admin/reports/1/approve")
    before = snapshot(store)
    response = await admin.post("/admin/reports/1/approve")
    assert response.status_code == 400
    assert message(response.text) == "举报 #1 已经处理过了（已通过），不会重复处理。"
    assert snapshot(store) == before
    assert actions.removals == ["30002"]
    assert len(actions.messages) == 1
    # Nor can it be rejected afterwards.
    response = await admin.post("/admin/reports/1/reject", {"reason": "改主意了"})
    assert message(response.text) == "举报 #1 已经处理过了（已通过），不会重复处理。"
    assert snapshot(store) == before


async def test_approving_a_report_that_does_not_exist(admin, report, store):
    before = snapshot(store)
    response = await admin.post("/admin/reports/99/approve")
    assert response.status_code == 400
    assert message(response.text) == "没有编号为 99 的举报。"
    assert snapshot(store) == before


async def test_approving_without_a_connected_qq_account_still_decides_and_says_what_is_left(admin, report, store, actions):
    actions.is_connected = False
    response = await admin.post("/admin/reports/1/approve")
    first_line = APPROVED.split("\n")[0]
    assert await admin.flashes_after(response) == [("ok", first_line), ("ok", NO_BOT)]
    assert store.report(1)["status"] == "approved"
    assert store.get_member("30001")["valid_until"] == "2027-11-24T03:00:00+00:00"
    assert store.blacklist_entry("30002")["reason"] == "举报#1：倒卖会员资料"
    assert (actions.removals, actions.messages) == ([], [])


async def test_a_reporter_who_cannot_be_messaged_is_mentioned(admin, report, actions):
    actions.tell_result = False
    actions.kick_results = [(MEMBER_GROUP, False)]
    response = await admin.post("/admin/reports/1/approve")
    assert await admin.flashes_after(response) == [
        ("ok", APPROVED.replace("成功", "失败，请手动移出")),
        ("ok", "私信通知举报人失败（对方可能未加好友）"),
    ]


# -- rejection --------------------------------------------------------------------------------------


async def test_rejecting_tells_the_reporter_why(admin, report, store, actions):
    response = await admin.post("/admin/reports/1/reject", {"reason": "截图看不出是倒卖"})
    assert await admin.flashes_after(response) == [("ok", "已驳回举报 #1，并已告知举报人。")]
    row = store.report(1)
    assert (row["status"], row["decided_at"], row["decided_by"], row["reason"]) == (
        "rejected", LATER_TEXT, "网页后台", "截图看不出是倒卖",
    )  # fmt: skip
    assert audit(store)[-1] == ("report_rejected", "30002", 1, "网页后台")
    assert actions.messages == [("30001", "你的举报 #1 未通过核实。理由：截图看不出是倒卖")]
    # Nobody is rewarded or banned.
    assert (store.get_member("30001"), rows(store, "blacklist"), actions.removals) == (None, [], [])


@pytest.mark.parametrize("connected", [True, False])
async def test_a_rejection_the_reporter_did_not_hear_of_says_so(admin, report, store, actions, connected):
    actions.is_connected, actions.tell_result = connected, False
    response = await admin.post("/admin/reports/1/reject", {"reason": "证据不足"})
    assert await admin.flashes_after(response) == [
        ("ok", "已驳回举报 #1，但私信通知举报人没有成功（QQ 未连接或对方未加好友）。")
    ]
    assert store.report(1)["status"] == "rejected"
    assert len(actions.messages) == (1 if connected else 0)


async def test_a_rejection_needs_a_reason(admin, report, store, actions):
    before = snapshot(store)
    response = await admin.post("/admin/reports/1/reject", {"reason": "  "})
    assert response.status_code == 400
    assert message(response.text) == "格式：举报驳回 编号 理由，例如：举报驳回 3 证据不足"
    assert snapshot(store) == before
    assert actions.messages == []


async def test_what_reporters_wrote_is_shown_as_text(admin, store):
    reports.file_report(
        store, reporter="30001", reported="30002", text="<img src=x onerror=alert(1)>[CQ:image,file=x.png]&amp;",
        group_id=None, now=NOW, admins={ADMIN},
    )  # fmt: skip
    page = (await admin.get("/admin/reports")).text
    assert "&lt;img src=x onerror=alert(1)&gt;[CQ:image,file=x.png]&amp;amp;" in page
    assert "<img src=x" not in page
