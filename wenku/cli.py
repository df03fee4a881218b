"""`wenku`: the operator's command line, on the same database the bot uses (safe while it runs).

Settings come from the environment and `.env` (WENKU_ENV_FILE names another
file), exactly as for the bot; ``--db`` overrides WENKU_DB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from dotenv import dotenv_values

from . import codes, texts
from .durations import parse_duration
from .members import Membership, cancel, extend, membership, parse_qq, role_of
from .errors import WenkuError
from .importer import ImportRules, collect_files, import_paths
from .search import parse_query, rank, result_page
from .backup import DEFAULT_KEEP, backups, make_backup
from .stats import admin_stats
from .passwords import hash_password
from .store import Store

__all__ = ["main"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _settings() -> dict[str, str]:
    env_file = os.environ.get("WENKU_ENV_FILE", ".env")
    values = {key.upper(): value for key, value in dotenv_values(env_file).items() if value is not None}
    values.update({key.upper(): value for key, value in os.environ.items()})
    return values


def _json_setting(settings: dict[str, str], name: str, default):
    raw = settings.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise click.UsageError(f"{name} is not valid JSON: {raw[:80]}") from None


class Context:
    def __init__(self, db: str | None):
        self.settings = _settings()
        self.db_path = Path(db or self.settings.get("WENKU_DB") or "data/wenku.db")
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.db_path)
        return self._store

    def rules(self) -> ImportRules:
        try:
            return ImportRules.from_settings(
                _json_setting(self.settings, "WENKU_BOILERPLATE", []),
                _json_setting(self.settings, "WENKU_CATEGORY_RULES", {}),
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None


@click.group()
@click.option("--db", help="SQLite database (default: WENKU_DB or data/wenku.db)")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """文库 command line: import documents, search, statistics."""
    ctx.obj = Context(db)


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--quiet", is_flag=True, help="Only print failures and the summary")
@click.pass_obj
def import_command(obj: Context, paths: tuple[str, ...], quiet: bool) -> None:
    """Import .txt/.docx/.md/.pdf files and folders (recursively)."""
    files = collect_files(paths)
    outcomes = []
    with click.progressbar(length=len(files), label=texts.IMPORT_PROGRESS_LABEL, file=sys.stderr) as bar:

        def progress(outcome) -> None:
            if not quiet or outcome.status == "failed":
                click.echo(texts.import_outcome(outcome))
            bar.update(1)

        outcomes = import_paths(obj.store, files, now=_now(), rules=obj.rules(), on_progress=progress)
    click.echo(texts.import_summary(outcomes))
    if any(outcome.status == "failed" for outcome in outcomes):
        raise SystemExit(1)


@main.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result")
@click.option("--page", default=1, show_default=True)
@click.pass_obj
def search_command(obj: Context, words: tuple[str, ...], as_json: bool, page: int) -> None:
    """Search the library as the bot does."""
    query = " ".join(words)
    try:
        terms = parse_query(query)
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None
    ranking = rank(obj.store, terms, query=query)
    results = result_page(obj.store, ranking, page)
    scores = dict(zip(ranking.ids, ranking.scores))
    if as_json:
        for hit in results.hits:
            click.echo(
                json.dumps(
                    {
                        "number": hit.document.id,
                        "title": hit.document.title,
                        "category": hit.document.category,
                        "score": scores[hit.document.id],
                        "snippet": hit.snippet,
                    },
                    ensure_ascii=False,
                )
            )
        return
    if not ranking.total:
        click.echo(texts.no_results(terms, [], {}, []))
        return
    click.echo(texts.search_results(results, free_group=False, contact=""))


@main.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats_command(obj: Context, as_json: bool) -> None:
    """Documents, members, searches, full texts, heavy receivers, open reports."""
    figures = admin_stats(obj.store, _now())
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(figures), ensure_ascii=False))
    else:
        click.echo(texts.admin_stats(figures))


@main.command("backup")
@click.option("--keep", type=int, help="Backups to keep (default WENKU_BACKUP_KEEP or 14)")
@click.pass_obj
def backup_command(obj: Context, keep: int | None) -> None:
    """A consistent copy of the database under data/backups/, safe while the bot runs."""
    keep = keep or int(obj.settings.get("WENKU_BACKUP_KEEP") or DEFAULT_KEEP)
    folder = obj.db_path.expanduser().resolve().parent / "backups"
    path = make_backup(obj.store, folder, now=_now(), keep=keep)
    click.echo(texts.backup_done(str(path), path.stat().st_size, len(backups(folder))))


@main.command("password")
def password_command() -> None:
    """Hash a password for the web console, to put in .env as WENKU_ADMIN_PASSWORD."""
    password = click.prompt("密码", hide_input=True, confirmation_prompt="再输一遍")
    if len(password) < 8:
        raise click.UsageError(texts.console_password_too_short(8))
    click.echo(texts.console_password_hash(hash_password(password)))


@main.group("members")
def members_group() -> None:
    """Memberships: list, show, grant, extend, cancel."""


@members_group.command("list")
@click.option("--expiring", is_flag=True, help="Only those ending within 7 days")
@click.option("--all", "everyone", is_flag=True, help="Expired members too")
@click.pass_obj
def members_list(obj: Context, expiring: bool, everyone: bool) -> None:
    moment = _now()
    if everyone:
        rows = obj.store.members()
    elif expiring:
        rows = obj.store.members(active_at=moment, expiring_before=moment + timedelta(days=7))
    else:
        rows = obj.store.members(active_at=moment)
    for row in rows:
        member = Membership.from_row(row)
        state = texts.member_state(member.active(moment))
        click.echo(f"{member.user_id}\t{state}\t{texts.until(member)}\t{member.source}")
    click.echo(texts.people_count(len(rows)), err=True)


@members_group.command("show")
@click.argument("qq")
@click.pass_obj
def members_show(obj: Context, qq: str) -> None:
    user = _qq(qq)
    role = role_of(obj.store, user, _now(), frozenset())
    click.echo(texts.member_status_for_admin(user, membership(obj.store, user), role, _now(), obj.store.member_events(user), None))


def _qq(text: str) -> str:
    try:
        return parse_qq(text)
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None


def _duration(text: str):
    try:
        return parse_duration(text)
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None


@members_group.command("grant")
@click.argument("qq")
@click.argument("duration")
@click.pass_obj
def members_grant(obj: Context, qq: str, duration: str) -> None:
    """Start or extend a membership (时长: 7天, 1月, 1年, 永久)."""
    user = _qq(qq)
    result = extend(obj.store, user, _duration(duration), now=_now(), actor="cli", action="grant")
    click.echo(texts.membership_changed("grant", user, result))


@members_group.command("cancel")
@click.argument("qq")
@click.pass_obj
def members_cancel(obj: Context, qq: str) -> None:
    user = _qq(qq)
    try:
        result = cancel(obj.store, user, now=_now(), actor="cli")
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None
    click.echo(texts.membership_changed("cancel", user, result))


@main.group("codes")
def codes_group() -> None:
    """Redeem codes: generate, list, void."""


@codes_group.command("generate")
@click.argument("count", type=int)
@click.argument("duration")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Also write the codes to this file")
@click.pass_obj
def codes_generate(obj: Context, count: int, duration: str, out: str | None) -> None:
    try:
        new_codes = codes.generate(obj.store, count, _duration(duration), now=_now(), actor="cli")
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None
    if out:
        Path(out).write_text("\n".join(new_codes) + "\n", encoding="utf-8")
    click.echo("\n".join(new_codes))


@codes_group.command("list")
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
def codes_list(obj: Context, limit: int) -> None:
    click.echo(texts.code_list(codes.list_codes(obj.store, limit)))


@codes_group.command("void")
@click.argument("code")
@click.pass_obj
def codes_void(obj: Context, code: str) -> None:
    try:
        code_id = codes.void(obj.store, code, now=_now(), actor="cli")
    except WenkuError as problem:
        raise click.UsageError(texts.error(problem)) from None
    click.echo(texts.code_voided(code_id))


if __name__ == "__main__":
    main()
