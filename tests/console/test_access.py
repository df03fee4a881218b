"""Nothing in the console works without a session, and no form changes anything without its CSRF token.

Every route is listed here with a form that would change the database; each
refusal is checked against a snapshot of every table and against what the
fake QQ side was asked to do.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from wenku import codes, reports
from wenku.durations import parse_duration
from wenku.members import extend
from wenku.sharing import delete_document

from .conftest import (
    ADMIN,
    BASE,
    ENVIRONMENT_BODY,
    ENVIRONMENT_TITLE,
    NOW,
    PNG,
    UNION_BODY,
    Admin,
    document_file,
    hidden,
    log_in,
    message,
    new_client,
    snapshot,
)

PAGES = [
    "/admin/",
    "/admin/documents",
    "/admin/documents?q=工会",
    "/admin/documents/1",
    "/admin/members",
    "/admin/members/30002",
    "/admin/codes",
    "/admin/reports",
    "/admin/reports/1/evidence/1",
    "/admin/trace",
]

UPLOAD = [("files", ("new.txt", document_file(ENVIRONMENT_TITLE, ENVIRONMENT_BODY), "text/plain"))]

@dataclass(frozen=True)
class Form:
    path: str
    data: dict = field(default_factory=dict)
    files: list | None = None
    changes: bool = True  # whether it changes the database when allowed


FORMS = [
    Form("/admin/logout", changes=False),
    Form("/admin/documents/upload", files=UPLOAD),
    Form("/admin/documents/1/edit", {"title": "新的标题", "category": "综合"}),
    Form("/admin/documents/1/delete"),
    Form("/admin/documents/2/restore"),
    Form("/admin/members/grant", {"qq": "30001", "duration": "1年"}),
    Form("/admin/members/30002/extend", {"duration": "1月"}),
    Form("/admin/members/30002/revoke"),
    Form("/admin/members/30002/ban", {"reason": "倒卖资料"}),
    Form("/admin/members/30003/unban"),
    Form("/admin/codes/generate", {"count": "2", "duration": "1年"}),
    Form("/admin/codes/download", {"codes": "ABCDE-FGHJK-MNPQR-STUVW"}, changes=False),
    Form("/admin/codes/1/void"),
    Form("/admin/reports/1/approve"),
    Form("/admin/reports/1/reject", {"reason": "证据不足"}),
    Form("/admin/trace", {"text": UNION_BODY}, changes=False),
]
every_form = pytest.mark.parametrize("form", FORMS, ids=[form.path for form in FORMS])


@pytest.fixture
def world(library, evidence_dir):
    """Something for every form to change: a deleted document, a member, a ban, a code, an open report."""
    delete_document(library, 2, NOW)
    extend(library, "30002", parse_duration("1年"), now=NOW - timedelta(days=1), actor=ADMIN, action="grant")
    reports.blacklist(library, "30003", "刷屏", actor=ADMIN, now=NOW)
    codes.generate(library, 1, parse_duration("1月"), now=NOW, actor=ADMIN)
    report_id = reports.file_report(
        library, reporter="30004", reported="30005", text="倒卖", group_id="20001", now=NOW, admins={ADMIN}
    )
    screenshot = evidence_dir / "1_abc.png"
    screenshot.write_bytes(PNG)
    library.add_evidence(report_id, "https://example.com/1.png", str(screenshot), None, len(PNG))
    return library


def nothing_asked_of_qq(actions) -> bool:
    return (actions.imports, actions.removals, actions.messages) == ([], [], [])


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_redirects_a_visitor_without_a_session_to_login(anonymous, world, path):
    response = await anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=/admin/")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_opens_with_a_session(admin, world, path):
    assert (await admin.get(path)).status_code == 200


@every_form
async def test_every_form_without_a_session_is_refused_and_changes_nothing(anonymous, world, actions, form):
    before = snapshot(world)
    response = await anonymous.post(
        form.path, data={**form.data, "csrf": "guessed"}, files=form.files, headers={"Origin": BASE}
    )
    assert response.status_code == 401
    assert message(response.text) == "请先登录"
    assert snapshot(world) == before
    assert nothing_asked_of_qq(actions)


@every_form
async def test_every_form_without_its_csrf_token_is_refused_and_changes_nothing(admin, world, actions, form):
    before = snapshot(world)
    for csrf in (None, "", "a-token-of-some-other-session"):  # missing, empty, wrong
        response = await admin.post(form.path, form.data, files=form.files, csrf=csrf)
        assert response.status_code == 403, csrf
        assert message(response.text) == "表单已过期或来源不明，操作没有执行。请刷新页面后重试。"
    assert snapshot(world) == before
    assert nothing_asked_of_qq(actions)
    assert (await admin.get("/admin/")).status_code == 200  # the refused logout left the session alone


@every_form
async def test_every_form_posted_from_another_origin_is_refused_even_with_the_token(admin, world, actions, form):
    # A page elsewhere that somehow learned the token still cannot submit a form.
    before = snapshot(world)
    for origin in ("https://evil.example", "http://testserver.evil.example", "http://testserver:8080", "null"):
        response = await admin.post(form.path, form.data, files=form.files, origin=origin)
        assert response.status_code == 403, origin
    assert snapshot(world) == before
    assert nothing_asked_of_qq(actions)


@every_form
async def test_the_same_forms_with_token_and_session_go_through(admin, world, form):
    # Proves the refusals above refused something that would otherwise have worked.
    before = snapshot(world)
    response = await admin.post(form.path, form.data, files=form.files)
    assert response.status_code in (200, 303), response.text
    assert (snapshot(world) != before) is form.changes


async def test_a_form_without_an_origin_header_is_accepted(admin, world):
    # Browsers send Origin on every POST; a client that sends none is not a cross-site form.
    response = await admin.post("/admin/members/grant", {"qq": "30001", "duration": "1年"}, origin=None)
    assert response.status_code == 303
    assert world.get_member("30001")["valid_until"] == "2027-11-24T02:00:00+00:00"


async def test_a_token_is_bound_to_its_own_session(admin, server, world):
    async with new_client(server) as other_browser:
        await log_in(other_browser)
        other = Admin(other_browser, hidden((await other_browser.get("/admin/")).text, "csrf"))
        assert other.csrf != admin.csrf
        before = snapshot(world)
        response = await other.post("/admin/codes/generate", {"count": "1", "duration": "1年"}, csrf=admin.csrf)
        assert response.status_code == 403
        assert snapshot(world) == before



async def test_a_form_declaring_more_than_a_megabyte_is_refused_unread(admin, world):
    before = snapshot(world)
    response = await admin.client.post(
        "/admin/members/grant",
        content=b"qq=30001&duration=1%E5%B9%B4",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(1024 * 1024 + 1),  # declared, never sent
            "Origin": BASE,
        },
    )
    assert response.status_code == 413
    assert message(response.text) == "提交的内容太大，操作没有执行"
    assert snapshot(world) == before
