"""``/console/watchlists``: the watchlists page (docs/console.md#watchlists).

What ``pgy watch add``, ``status`` and ``remove`` do, in the browser, through the same
``service.watchlists.Watchlists``: the lists with their period, size, next and last refresh and
the capacity line (calls a day needed against the account pool, with the same warning); a form
that creates or extends a list from pasted ids or profile URLs (one per line) or an uploaded
CSV/XLSX, read by the rules of ``pgy batch`` (``uploads.read_creator_list``; each bad line listed
with its number), scopes as ``--scopes`` takes them and the period as ``--every``, with the CLI's
messages; removing a list (a POST with the CSRF token). A list's own page names its creators,
each linked to the creator page and its history chart, and charts the collections of its keys
per hour.

**Admins only.** Watchlists are the operator's: the store keeps no owner per list and a
refresh is paid by the operator, not charged to a token (``service.watchlists``), exactly like
the admin API's ``/admin/watchlists``. A holder gets the console's 403 page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.contract.params import ParamError
from pgy_metrics.server.console import pools as pool_pages
from pgy_metrics.server.console.charts import ConsoleChart, console_chart
from pgy_metrics.server.console.pages import (
    PREFIX,
    SECURITY_HEADERS,
    checked_post,
    checked_upload_form,
    lang_of,
    page,
    refused,
    runtime_of,
    session_of,
    to_sign_in,
)
from pgy_metrics.server.console.sessions import Session
from pgy_metrics.server.console.text import TEXT
from pgy_metrics.server.console.uploads import read_creator_list, read_pasted
from pgy_metrics.service.pools import pool_members
from pgy_metrics.service.watchlists import (
    EVERY_FORMS,
    UnknownWatchlist,
    Watchlists,
    capacity_of,
    check_list_name,
    format_period,
    parse_every,
)
from pgy_metrics.sheets import RowProblem, UnreadableTable

if TYPE_CHECKING:
    from pgy_metrics.contract.params import Scope
    from pgy_metrics.service.watchlists import Status

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
"""The largest request of the create form (a pasted list or an uploaded CSV/XLSX): HTTP 413
beyond. 2 MiB is some 50,000 ids."""
MAX_CREATORS = 2_000
"""Creators added by one form, as the admin API takes per request."""
CHART_KEYS = 200
"""Keys of a list whose collections the refresh chart counts (the first, by creator)."""
CHART_DAYS = 7
"""Collections of the last this many days are charted."""


def _watchlists(request: Request) -> Watchlists:
    runtime = runtime_of(request)
    return Watchlists(runtime.store, runtime.clock, capacity_of([runtime.service.source]))


async def _admin(request: Request) -> Session | Response:
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    if not session.holder.is_admin:
        return refused(request, session, "watch_admin_only")
    return session


# -- the form ----------------------------------------------------------------------------------


@dataclass
class Entry:
    """What the create form was given and what it made of it (shown again on an error)."""

    name: str = "default"
    every: str = "24h"
    scopes: str = "default"
    ids: str = ""
    pool: int | None = None
    """A pool whose creators the list takes too (``/console/watchlists?pool=ID``)."""
    errors: list[str] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    period: int = 0
    keys: list[tuple[str, str]] = field(default_factory=list)


def check_entry(entry: Entry, uploaded: Sequence[str | RowProblem] = ()) -> Entry:
    """Validate the form as ``pgy watch add`` validates its options (the same messages, the
    form's field named in place of the option), and read the creators: the pasted lines, then
    the uploaded file's (``uploaded``, already read). Fills ``errors``, ``skipped`` (bad lines
    with their numbers), ``user_ids``, ``period`` and ``keys``."""
    from pgy_metrics.analytics.scopes import parse_scopes

    try:
        check_list_name(entry.name, option="name")
    except ValueError as problem:
        entry.errors.append(str(problem))
    try:
        entry.period = parse_every(entry.every, option="every")
    except ValueError as problem:
        entry.errors.append(str(problem))
    try:
        scopes: tuple[Scope, ...] = parse_scopes(entry.scopes.strip() or "default")
        entry.keys = [(NOTES_RATE, scope.key) for scope in scopes]
        if not entry.keys:
            raise ParamError("scopes", "scopes names no scope")
    except ParamError as problem:
        entry.errors.append(problem.message.replace("--scopes", "scopes", 1))
    seen: set[str] = set()
    for item in [*read_pasted(entry.ids), *uploaded]:
        if isinstance(item, RowProblem):
            entry.skipped.append(item)
        elif item not in seen:
            seen.add(item)
            entry.user_ids.append(item)
    if not entry.user_ids and not entry.errors:
        entry.errors.append("no valid creator id in the list or the file")
    if len(entry.user_ids) > MAX_CREATORS:
        entry.errors.append(
            f"{len(entry.user_ids)} creators: at most {MAX_CREATORS:,} per form; "
            "add the rest in another"
        )
    return entry


def read_upload(filename: str, body: bytes) -> list[str | RowProblem]:
    """An uploaded CSV/XLSX (or text) list, by ``pgy batch``'s rules (``uploads``)."""
    return read_creator_list(filename, body)


async def _posted(
    request: Request,
) -> tuple[Session, dict[str, str], tuple[str, bytes] | None] | Response:
    """The create form's session, fields (first values) and file, or the refusal every console
    upload form gives (``pages.checked_upload_form``; over ``MAX_UPLOAD_BYTES``: 413)."""
    posted = await checked_upload_form(
        request,
        max_bytes=MAX_UPLOAD_BYTES,
        too_large_page=lambda request, session: refused(
            request, session, "watch_too_large", status=413
        ),
        max_fields=10,
    )
    if isinstance(posted, Response):
        return posted
    fields = {name: values[0] for name, values in posted.fields.items()}
    return posted.session, fields, posted.files.get("file")


# -- pages -------------------------------------------------------------------------------------


@router.get("/watchlists")
async def watchlists_page(request: Request) -> Response:
    """Every list against the pool's capacity, and the form that creates one."""
    admin = await _admin(request)
    if isinstance(admin, Response):
        return admin
    done = request.query_params.get("removed")
    entry = Entry(pool=pool_pages.chosen_pool(request.query_params.get("pool")))
    return await _list_page(request, admin, entry, removed=done)


async def _list_page(
    request: Request,
    session: Session,
    entry: Entry,
    *,
    status: int = 200,
    added: str | None = None,
    removed: str | None = None,
) -> Response:
    report: Status = await _watchlists(request).status()
    return page(
        request,
        "watchlists.html",
        session,
        status=status,
        report=report,
        capacity=_capacity_line(report, lang_of(request)),
        pools=await pool_pages.pool_choices(request, session),
        entry=entry,
        added=added,
        removed=removed,
        every_forms=EVERY_FORMS,
        format_period=format_period,
        when=_when,
        quote=quote,
    )


def _when(moment: Any) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "—"


def _capacity_line(report: Status, lang: str) -> str:
    """``pgy watch status``'s line: calls needed a day against the pool's capacity."""
    text = TEXT[lang]
    needed = f"{report.calls_per_day:,.0f}"
    if report.capacity is None:
        return text["watch_capacity_unchecked"].format(needed=needed)
    share = report.calls_per_day / report.capacity.calls_per_day
    return text["watch_capacity"].format(
        needed=needed, capacity=report.capacity.describe(), share=f"{share:.0%}"
    )


@router.post("/watchlists")
async def create_watchlist(request: Request) -> Response:
    """Create a list, or add creators to it (a new period re-plans the whole list, as
    ``pgy watch add --every`` does)."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    session, form, upload = posted
    if not session.holder.is_admin:
        return refused(request, session, "watch_admin_only")
    entry = Entry(
        name=form.get("name", "").strip(),
        every=form.get("every", "").strip(),
        scopes=form.get("scopes", "").strip(),
        ids=form.get("ids", "")[:MAX_UPLOAD_BYTES],
    )
    uploaded: list[str | RowProblem] = []
    entry.pool = pool_pages.chosen_pool(form.get("pool") or None)
    if entry.pool is not None:
        members = await pool_members(runtime_of(request), entry.pool, session.holder)
        if members is None:
            entry.errors.append(f"pool: there is no pool {entry.pool}")
        else:
            uploaded.extend(members)
    if upload is not None:
        filename, body = upload
        try:
            uploaded = await asyncio.to_thread(read_upload, filename, body)
        except UnreadableTable as problem:
            entry.errors.append(str(problem))
    await asyncio.to_thread(check_entry, entry, uploaded)
    if entry.errors:
        return await _list_page(request, session, entry, status=400)
    result = await _watchlists(request).add(entry.name, entry.user_ids, entry.keys, entry.period)
    return await _list_page(request, session, entry, added=result.describe())


@router.get("/watchlists/{name}")
async def watchlist_page(request: Request, name: str) -> Response:
    """One list: its creators (each linked to the creator page's history) and a chart of the
    collections of its keys per hour over the last days."""
    admin = await _admin(request)
    if isinstance(admin, Response):
        return admin
    watchlists = _watchlists(request)
    try:
        check_list_name(name, option="name")
        report = await watchlists.status(name)
    except (ValueError, UnknownWatchlist):
        return refused(request, admin, "not_found", status=404)
    runtime = runtime_of(request)
    states = await runtime.store.watchlists.states(name)
    creators = sorted({state.key[1] for state in states})
    scopes = sorted({state.key[2] for state in states if state.key[0] == NOTES_RATE})
    chart = await _refresh_chart(request, name, [state.key for state in states])
    return page(
        request,
        "watchlist.html",
        admin,
        watchlist=report.lists[0],
        creators=creators,
        scopes=scopes,
        chart=chart,
        charts=chart is not None,
        format_period=format_period,
        when=_when,
        quote=quote,
    )


async def _refresh_chart(
    request: Request, name: str, keys: Iterable[tuple[str, str, str]]
) -> ConsoleChart | None:
    """Collections per hour of the list's keys (their stored snapshots, whoever asked for
    them), the last ``CHART_DAYS`` days; None without the analytics extra."""
    try:
        from pgy_metrics.analytics.reports.charts import refreshes_spec
    except ImportError:
        return None
    runtime = runtime_of(request)
    now = runtime.clock.now()
    since = now - timedelta(days=CHART_DAYS)
    moments = []
    for endpoint, user_id, params_key in sorted(keys)[:CHART_KEYS]:
        snapshots = await runtime.store.snapshots.history(endpoint, user_id, params_key)
        moments += [s.collected_at for s in snapshots if s.collected_at >= since]
    spec = await asyncio.to_thread(refreshes_spec, moments, title=name, now=now)
    return await asyncio.to_thread(console_chart, "refreshes", spec)


@router.post("/watchlists/{name}/remove")
async def remove_watchlist(request: Request, name: str) -> Response:
    """Delete the list (its keys stop being refreshed; stored snapshots stay)."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    session, _form = checked
    if not session.holder.is_admin:
        return refused(request, session, "watch_admin_only")
    try:
        check_list_name(name, option="name")
        await _watchlists(request).remove(name)
    except (ValueError, UnknownWatchlist):
        return refused(request, session, "not_found", status=404)
    return RedirectResponse(
        f"{PREFIX}/watchlists?removed={quote(name)}", status_code=303, headers=SECURITY_HEADERS
    )
