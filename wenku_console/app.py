"""The admin web console: a FastAPI application mounted at /admin on the bot's own server.

Every page is rendered on the server with Jinja2 and works without script.
Pages call the same core functions as the chat commands; what must happen in
QQ afterwards (kicks, private notices, announcements of an import) goes
through ``BotActions``, which the bot supplies and tests replace with a fake.

Security, in the order a request meets it: a session cookie (HttpOnly,
SameSite=Strict, path /admin) or a redirect to the login page; on every form
a CSRF token bound to the session, and a same-origin check; failed logins
throttled per address and overall. Responses are never cached and carry a
content security policy that allows no script at all.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from wenku import codes, reports, sharing, texts
from wenku.durations import parse_duration
from wenku.errors import DocumentNotFound, WenkuError
from wenku.fulltext import quota_left, trace
from wenku.importer import ImportOutcome
from wenku.members import Membership, cancel, extend, membership, parse_qq, role_of
from wenku.readers import SUPPORTED_SUFFIXES
from wenku.search import result_page, search
from wenku.stats import admin_stats, start_of_day
from wenku.store import Store

from .charts import bar_chart, daily_series
from .security import LoginThrottle, Session, SessionStore, verify_password

__all__ = ["BotActions", "ConsoleSettings", "create_console", "SESSION_COOKIE", "LOGIN_COOKIE"]

SESSION_COOKIE = "wenku_admin"
LOGIN_COOKIE = "wenku_login"
MAX_FILES_PER_UPLOAD = 20
PAGE_SIZE = 20
MEMBER_PAGE_LIMIT = 500
#: Largest body of a form without files (the longest is a pasted text for 溯源), and of a login.
MAX_FORM_BYTES = 1024 * 1024
MAX_LOGIN_BYTES = 8 * 1024
MEMBER_FILTERS = ("active", "expiring", "expired", "blacklisted", "all")

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class BotActions(Protocol):
    """What the console needs done on the QQ side; the bot implements it over its connected accounts."""

    def connected(self) -> bool:
        """Whether a QQ account is connected to carry out kicks and private messages."""

    async def import_file(self, name: str, data: bytes, actor: str) -> ImportOutcome:
        """Import one file exactly as a file sent in chat is imported, announcements included."""

    async def remove_from_member_groups(self, user_id: str) -> list[tuple[int, bool]]:
        """Try to remove a number from every member group: (group, removed) for each."""

    async def tell(self, user_id: str, text: str) -> bool:
        """A private message to a QQ number; True once it was delivered."""


@dataclass(frozen=True)
class ConsoleSettings:
    password_hash: str
    admins: frozenset[str]
    report_reward: str
    watermark_secret: str
    daily_fulltext: int
    max_upload_mb: int
    evidence_dir: Path


class NeedsLogin(Exception):
    pass


class Refused(Exception):
    """A request the console turns down with a page saying why (status and message)."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message


def _templates() -> Environment:
    folder = resources.files("wenku_console").joinpath("templates")
    environment = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local"] = _local_time
    environment.globals.update(
        SOURCE_NAMES=texts.SOURCE_NAMES, ACTION_NAMES=texts.ACTION_NAMES,
        AUDIT_NAMES=texts.AUDIT_NAMES, REPORT_STATUS=texts.REPORT_STATUS,
        DELIVERY_STATUS=texts.DELIVERY_STATUS, DELIVERY_FORMAT=texts.DELIVERY_FORMAT,
    )
    return environment


def _local_time(value, form: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in the business's time zone."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # 永久 and other words pass through
    return value.astimezone(texts.LOCAL_TZ).strftime(form)


def _safe_next(target: str | None) -> str:
    """Only a path inside the console may follow a login: never another site."""
    if target and target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_console(
    *,
    store: Store,
    settings: ConsoleSettings,
    actions: BotActions,
    clock: Callable[[], datetime],
    sessions: SessionStore | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The console application, to be mounted at /admin."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    sessions = sessions if sessions is not None else SessionStore()
    throttle = throttle if throttle is not None else LoginThrottle()
    environment = _templates()
    app.state.sessions = sessions
    app.state.throttle = throttle

    # -- rendering and the checks every request goes through -------------------------------

    def page(request: Request, template: str, http_status: int = 200, session: Session | None = None, **context) -> HTMLResponse:
        flash = []
        if session is not None:
            flash, session.flash = session.flash, []
        html = environment.get_template(template).render(
            base="/admin", session=session, flash=flash, path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=http_status, headers=_SECURITY_HEADERS)

    def back_to(url: str, session: Session, kind: str = "ok", *messages: str) -> RedirectResponse:
        session.flash.extend((kind, message) for message in messages if message)
        return RedirectResponse(url, status_code=303, headers=_SECURITY_HEADERS)

    def current_session(request: Request) -> Session:
        session = sessions.get(request.cookies.get(SESSION_COOKIE), clock())
        if session is None:
            raise NeedsLogin()
        return session

    def same_origin(request: Request) -> bool:
        """A form post from a page of this console; browsers send Origin on every POST."""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None  # no header: a non-browser client; "null": an opaque origin
        return urlsplit(origin).netloc == request.headers.get("host", "")

    def require_length(request: Request, limit: int, too_large: str | None = None) -> None:
        """Refuse a body before reading it: without a declared length, or longer than ``limit``."""
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise Refused(411, texts.console_upload_needs_length())
        if int(length) > limit:
            raise Refused(413, too_large or texts.console_request_too_large())

    async def checked_form(
        request: Request, limit: int = MAX_FORM_BYTES, too_large: str | None = None
    ) -> tuple[Session, dict]:
        """The session and the form of a POST, or a refusal: no form changes anything without both checks."""
        session = current_session(request)  # before reading a byte of the body
        require_length(request, limit, too_large)
        form = await request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=50)
        token = form.get("csrf")
        if not same_origin(request) or not isinstance(token, str) or not session.check_csrf(token):
            raise Refused(403, texts.console_csrf_refused())
        return session, form

    def field(form, name: str, limit: int = 2000) -> str:
        value = form.get(name, "")
        return value.strip()[:limit] if isinstance(value, str) else ""

    @app.exception_handler(NeedsLogin)
    async def _needs_login(request: Request, _: NeedsLogin) -> Response:
        if request.method == "GET":
            # "&" stays encoded: bare, it would end `next` and drop the rest of the target's query.
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=")
            return RedirectResponse(f"/admin/login?next={target}", status_code=303, headers=_SECURITY_HEADERS)
        return page(request, "message.html", http_status=401, message=texts.console_needs_login())

    @app.exception_handler(Refused)
    async def _refused(request: Request, problem: Refused) -> Response:
        return page(request, "message.html", http_status=problem.status, message=problem.message)

    @app.exception_handler(WenkuError)
    async def _core_error(request: Request, problem: WenkuError) -> Response:
        # The one place where a refusal of the core becomes what the admin reads.
        session = sessions.get(request.cookies.get(SESSION_COOKIE), clock())
        # Opening a page of a document that does not exist is a 404; acting on one is a bad request.
        status = 404 if isinstance(problem, DocumentNotFound) and request.method == "GET" else 400
        return page(request, "message.html", http_status=status, session=session, message=texts.error(problem), back=True)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _: RequestValidationError) -> Response:
        return page(request, "message.html", http_status=400, message=texts.console_bad_request(), back=True)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, problem: HTTPException) -> Response:
        message = texts.console_not_found() if problem.status_code == 404 else texts.console_bad_request()
        return page(request, "message.html", http_status=problem.status_code, message=message)

    # -- login ------------------------------------------------------------------------------

    def login_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page(
            request, "login.html", http_status=status, login_token=token, error=error,
            next=_safe_next(request.query_params.get("next")),
        )
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/admin",
            secure=request.url.scheme == "https", max_age=3600,
        )
        return response

    @app.get("/login")
    async def login_form(request: Request) -> Response:
        if sessions.get(request.cookies.get(SESSION_COOKIE), clock()) is not None:
            return RedirectResponse("/admin/", status_code=303, headers=_SECURITY_HEADERS)
        return login_page(request)

    @app.post("/login")
    async def login(request: Request) -> Response:
        require_length(request, MAX_LOGIN_BYTES)  # anyone may post here: read no large body
        form = await request.form(max_files=0, max_fields=10)
        address = _client_address(request)
        now = clock()
        wait = throttle.wait(address, now)
        if wait is not None:
            minutes = max(1, -(-int(wait.total_seconds()) // 60))
            return login_page(request, status=429, error=texts.console_login_locked(minutes))
        presented, expected = form.get("login_token"), request.cookies.get(LOGIN_COOKIE)
        if (
            not same_origin(request)
            or not isinstance(presented, str)
            or not expected
            or not hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))
        ):
            return login_page(request, status=403, error=texts.console_login_expired())
        password = form.get("password")
        if not isinstance(password, str) or not verify_password(password[:1024], settings.password_hash):
            throttle.failed(address, now)
            return login_page(request, status=401, error=texts.console_login_failed())
        throttle.succeeded(address)
        sessions.end(request.cookies.get(SESSION_COOKIE))
        token, _ = sessions.create(now, address)
        response = RedirectResponse(
            _safe_next(form.get("next") if isinstance(form.get("next"), str) else None),
            status_code=303, headers=_SECURITY_HEADERS,
        )
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="strict", path="/admin",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/admin")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await checked_form(request)
        sessions.end(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/admin/login", status_code=303, headers=_SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    # -- dashboard ----------------------------------------------------------------------------

    @app.get("/")
    async def dashboard(request: Request) -> Response:
        session = current_session(request)
        now = clock()
        today = start_of_day(now)
        since = today - timedelta(days=29)
        offset = int(today.utcoffset().total_seconds() // 60)
        charts = [
            bar_chart(key, title, daily_series(store.daily_counts(key, since, offset), today))
            for key, title in texts.CHART_TITLES.items()
        ]
        return page(
            request, "dashboard.html", session=session,
            stats=admin_stats(store, now),
            charts=charts,
            missed=store.top_missed_terms(since, 20),
            top_terms=store.top_search_terms(since, 10),
        )

    # -- documents ------------------------------------------------------------------------------

    @app.get("/documents")
    async def documents(
        request: Request, q: str = "", category: str = "", deleted: str = "", page_number: int = Query(1, alias="page")
    ) -> Response:
        session = current_session(request)
        q, category = q.strip()[:100], category.strip()[:40]
        page_number = max(1, min(page_number, 100_000))
        hits, total, pages, capped, problem = [], 0, 1, False, ""
        if q:
            try:
                ranking = search(store, q)
            except WenkuError as error:
                problem = texts.error(error)
            else:
                ids = list(ranking.ids)
                if category:
                    keep = store.ids_in_category(ids, category)
                    ids = [doc_id for doc_id in ids if doc_id in keep]
                ranking = type(ranking)(query=ranking.query, terms=ranking.terms, ids=tuple(ids), capped=ranking.capped)
                result = result_page(store, ranking, page_number, page_size=PAGE_SIZE)
                hits = [(hit.document, hit.snippet) for hit in result.hits]
                total, pages, page_number, capped = ranking.total, result.pages, result.page, ranking.capped
        else:
            listed, total = store.document_listing(
                category=category or None, deleted=bool(deleted),
                offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE,
            )
            hits = [(document, document.body[:80]) for document in listed]
            pages = max(1, -(-total // PAGE_SIZE))
        return page(
            request, "documents.html", session=session,
            hits=hits, total=total, pages=pages, page_number=page_number, capped=capped, problem=problem,
            q=q, category=category, deleted=bool(deleted) and not q,
            categories=store.category_counts(), suffixes=" ".join(SUPPORTED_SUFFIXES),
            max_upload_mb=settings.max_upload_mb, max_files=MAX_FILES_PER_UPLOAD,
        )

    @app.post("/documents/upload")
    async def upload(request: Request) -> Response:
        limit = settings.max_upload_mb * 1024 * 1024
        try:
            session, form = await checked_form(
                request, limit * MAX_FILES_PER_UPLOAD + MAX_FORM_BYTES, texts.console_upload_too_large(settings.max_upload_mb)
            )
        except HTTPException as problem:
            # Starlette's multipart parser stops at max_files; say so rather than "bad request".
            if problem.status_code == 400 and str(problem.detail).startswith("Too many files"):
                raise Refused(400, texts.console_too_many_files(MAX_FILES_PER_UPLOAD)) from None
            raise
        files = [item for item in form.getlist("files") if isinstance(item, UploadFile) and item.filename]
        if not files:
            raise Refused(400, texts.console_no_files())
        lines: list[tuple[str, str, int | None]] = []  # (kind, message, document to link)
        for item in files:
            name = Path(item.filename.replace("\\", "/")).name or texts.UNNAMED_FILE
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                lines.append(("error", texts.console_unsupported_file(name, " ".join(SUPPORTED_SUFFIXES)), None))
                continue
            data = await item.read(limit + 1)
            if len(data) > limit:
                lines.append(("error", texts.import_failed(name, texts.file_too_large(settings.max_upload_mb)), None))
                continue
            try:
                outcome = await actions.import_file(name, data, texts.CONSOLE_ACTOR)
            except WenkuError as error:
                lines.append(("error", texts.error(error), None))
                continue
            kind = "ok" if outcome.imported else "warn" if outcome.status == "duplicate" else "error"
            lines.append((kind, texts.import_outcome(outcome), outcome.document_id))
        return page(request, "upload_result.html", session=session, lines=lines)

    def document_or_404(document_id: int):
        document = store.get_document(document_id, include_deleted=True)
        if document is None:
            raise DocumentNotFound(document_id)
        return document

    @app.get("/documents/{document_id}")
    async def document_view(request: Request, document_id: int) -> Response:
        session = current_session(request)
        document = document_or_404(document_id)
        return page(
            request, "document.html", session=session, document=document,
            deliveries=store.deliveries_of_document(document.id, 20), categories=store.category_counts(),
        )

    @app.post("/documents/{document_id}/edit")
    async def document_edit(request: Request, document_id: int) -> Response:
        session, form = await checked_form(request)
        document = document_or_404(document_id)
        title, category = field(form, "title", 200), field(form, "category", 80)
        if title != document.title:
            sharing.retitle(store, document_id, title)
        if category != document.category:
            sharing.recategorize(store, document_id, category)
        return back_to(f"/admin/documents/{document_id}", session, "ok", texts.console_saved())

    @app.post("/documents/{document_id}/delete")
    async def document_delete(request: Request, document_id: int) -> Response:
        session, _ = await checked_form(request)
        sharing.delete_document(store, document_id, clock())
        return back_to(f"/admin/documents/{document_id}", session, "ok", texts.console_document_deleted(document_id))

    @app.post("/documents/{document_id}/restore")
    async def document_restore(request: Request, document_id: int) -> Response:
        session, _ = await checked_form(request)
        sharing.restore_document(store, document_id)
        return back_to(f"/admin/documents/{document_id}", session, "ok", texts.console_document_restored(document_id))

    # -- members --------------------------------------------------------------------------------

    @app.get("/members")
    async def member_list(request: Request, status: str = "active", q: str = "") -> Response:
        session = current_session(request)
        status = status if status in MEMBER_FILTERS else "active"
        query = re.sub(r"\D", "", q)[:12]
        now = clock()
        rows = store.member_listing(
            status, now, expiring_before=now + timedelta(days=7), query=query, limit=MEMBER_PAGE_LIMIT
        )
        listed = [(row, Membership.from_row(row) if row["started_at"] else None) for row in rows]
        return page(
            request, "members.html", session=session, listed=listed, status=status, q=query, now=now,
            limit=MEMBER_PAGE_LIMIT,
        )

    def membership_change(action: str, user: str, duration_text: str) -> tuple[str, Membership]:
        duration = parse_duration(duration_text or texts.EMPTY_ARGUMENT)
        result = extend(store, user, duration, now=clock(), actor=texts.CONSOLE_ACTOR, action=action)
        return texts.membership_changed(action, user, result), result

    @app.post("/members/grant")
    async def member_grant(request: Request) -> Response:
        session, form = await checked_form(request)
        user = parse_qq(field(form, "qq", 40) or texts.EMPTY_ARGUMENT)
        action = "extend" if field(form, "action") == "extend" else "grant"
        message, _ = membership_change(action, user, field(form, "duration", 40))
        return back_to(f"/admin/members/{user}", session, "ok", message)

    def qq_of(text: str) -> str:
        return parse_qq(text[:40])

    @app.get("/members/{user_id}")
    async def member_view(request: Request, user_id: str) -> Response:
        session = current_session(request)
        user = qq_of(user_id)
        now = clock()
        current = membership(store, user)
        return page(
            request, "member.html", session=session, user=user, now=now, current=current,
            role=role_of(store, user, now, settings.admins),
            blacklist=store.blacklist_entry(user),
            quota=quota_left(store, user, now, settings.daily_fulltext) if current and current.active(now) else None,
            events=store.member_events(user, 50), audit=store.audit_of(user, 50),
            deliveries=store.deliveries_of_member(user, 30),
            subscriptions=store.subscriptions_of(user),
        )

    @app.post("/members/{user_id}/extend")
    async def member_extend(request: Request, user_id: str) -> Response:
        session, form = await checked_form(request)
        user = qq_of(user_id)
        message, _ = membership_change("extend", user, field(form, "duration", 40))
        return back_to(f"/admin/members/{user}", session, "ok", message)

    @app.post("/members/{user_id}/revoke")
    async def member_revoke(request: Request, user_id: str) -> Response:
        session, _ = await checked_form(request)
        user = qq_of(user_id)
        result = cancel(store, user, now=clock(), actor=texts.CONSOLE_ACTOR)
        return back_to(f"/admin/members/{user}", session, "ok", texts.membership_changed("cancel", user, result))

    @app.post("/members/{user_id}/ban")
    async def member_ban(request: Request, user_id: str) -> Response:
        session, form = await checked_form(request)
        user = qq_of(user_id)
        reason = field(form, "reason", 200)
        if not reason:
            raise Refused(400, texts.blacklist_usage())
        if user in settings.admins:
            raise Refused(400, texts.cannot_blacklist_admin())
        ended = reports.blacklist(store, user, reason, actor=texts.CONSOLE_ACTOR, now=clock())
        if not actions.connected():
            return back_to(f"/admin/members/{user}", session, "ok", texts.blacklisted(user, ended, []), texts.console_no_bot())
        kicks = await actions.remove_from_member_groups(user)
        return back_to(f"/admin/members/{user}", session, "ok", texts.blacklisted(user, ended, kicks))

    @app.post("/members/{user_id}/unban")
    async def member_unban(request: Request, user_id: str) -> Response:
        session, _ = await checked_form(request)
        user = qq_of(user_id)
        removed = reports.unblacklist(store, user, actor=texts.CONSOLE_ACTOR, now=clock())
        return back_to(f"/admin/members/{user}", session, "ok", texts.unblacklisted(user, removed))

    # -- redeem codes ---------------------------------------------------------------------------

    @app.get("/codes")
    async def code_list(request: Request) -> Response:
        session = current_session(request)
        return page(request, "codes.html", session=session, listed=codes.list_codes(store, 200), limit=codes.MAX_CODES_AT_ONCE)

    @app.post("/codes/generate")
    async def code_generate(request: Request) -> Response:
        session, form = await checked_form(request)
        count_text = field(form, "count", 10)
        if not count_text.isdigit():
            raise Refused(400, texts.generate_usage())
        duration = parse_duration(field(form, "duration", 40) or texts.EMPTY_ARGUMENT)
        made = codes.generate(store, int(count_text), duration, now=clock(), actor=texts.CONSOLE_ACTOR)
        # Shown once, on this response only (never cached); the database keeps hashes.
        return page(request, "codes_new.html", session=session, made=made, duration=str(duration))

    @app.post("/codes/download")
    async def code_download(request: Request) -> Response:
        _, form = await checked_form(request)
        lines = [line.strip() for line in field(form, "codes", 100 * 40).splitlines()]
        wanted = [line for line in lines if len(codes.normalize_code(line)) == codes.CODE_LENGTH]
        body = "\r\n".join(wanted) + "\r\n"
        stamp = _local_time(clock(), "%Y%m%d-%H%M%S")
        return PlainTextResponse(
            body,
            headers={
                **_SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="wenku-codes-{stamp}.txt"',
            },
            media_type="text/plain; charset=utf-8",
        )

    @app.post("/codes/{code_id}/void")
    async def code_void(request: Request, code_id: int) -> Response:
        session, _ = await checked_form(request)
        voided = codes.void(store, f"#{code_id}", now=clock(), actor=texts.CONSOLE_ACTOR)
        return back_to("/admin/codes", session, "ok", texts.code_voided(voided))

    # -- reports ----------------------------------------------------------------------------------

    @app.get("/reports")
    async def report_list(request: Request, status: str = "open") -> Response:
        session = current_session(request)
        status = "all" if status == "all" else "open"
        listed = store.reports(None if status == "all" else "open", limit=100)
        evidence = {report["id"]: store.evidence(report["id"]) for report in listed}
        return page(request, "reports.html", session=session, listed=listed, evidence=evidence, status=status)

    @app.get("/reports/{report_id}/evidence/{evidence_id}")
    async def evidence_image(request: Request, report_id: int, evidence_id: int) -> Response:
        current_session(request)
        item = next((row for row in store.evidence(report_id) if row["id"] == evidence_id), None)
        folder = settings.evidence_dir.resolve()
        path = Path(item["path"]).resolve() if item and item["path"] else None
        # Only files the bot itself saved in the evidence folder, whatever the database says.
        if path is None or folder not in path.parents or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path, headers=_SECURITY_HEADERS)

    @app.post("/reports/{report_id}/approve")
    async def report_approve(request: Request, report_id: int) -> Response:
        session, _ = await checked_form(request)
        decision = reports.approve(
            store, report_id, actor=texts.CONSOLE_ACTOR, now=clock(), reward=parse_duration(settings.report_reward)
        )
        report = decision.report
        if not actions.connected():
            return back_to(
                "/admin/reports", session, "ok",
                texts.report_approved(report, decision.reporter_membership, []), texts.console_no_bot(),
            )
        kicks = await actions.remove_from_member_groups(report["reported"])
        told = await actions.tell(report["reporter"], texts.reporter_rewarded(report_id, decision.reporter_membership))
        return back_to(
            "/admin/reports", session, "ok",
            texts.report_approved(report, decision.reporter_membership, kicks), texts.console_reporter_told(told),
        )

    @app.post("/reports/{report_id}/reject")
    async def report_reject(request: Request, report_id: int) -> Response:
        session, form = await checked_form(request)
        reason = field(form, "reason", 200)
        if not reason:
            raise Refused(400, texts.reject_usage())
        decision = reports.reject(store, report_id, reason, actor=texts.CONSOLE_ACTOR, now=clock())
        told = actions.connected() and await actions.tell(decision.report["reporter"], texts.reporter_rejected(report_id, reason))
        return back_to("/admin/reports", session, "ok", texts.console_report_rejected(report_id, told))

    # -- trace ------------------------------------------------------------------------------------

    @app.get("/trace")
    async def trace_form(request: Request) -> Response:
        session = current_session(request)
        return page(request, "trace.html", session=session, result=None, text="")

    @app.post("/trace")
    async def trace_lookup(request: Request) -> Response:
        session, form = await checked_form(request)
        text = form.get("text", "")
        text = text[:20000] if isinstance(text, str) else ""
        if not text.strip():
            raise Refused(400, texts.console_trace_empty())
        result = trace(store, text, settings.watermark_secret)
        titles = store.titles(
            [row["document_id"] for row in result.deliveries] + [row["document_id"] for row in result.recipients]
        )
        return page(request, "trace.html", session=session, result=result, titles=titles, text=text)

    return app

