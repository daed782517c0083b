"""``/console/pools``: upload a list of creators, see what fetching it costs, fetch it in the
background with live progress, then benchmark it (docs/console.md#pools).

Uploads are read by ``uploads.read_creator_list`` (``sheets.creator_refs``, the reader of
``pgy batch`` input files: ids or profile URLs; bad rows kept with their line numbers and
shown). A pool belongs to the token that uploaded it: every pool URL answers 404 to another
holder (an admin sees every pool). Fetches run in ``pool_fetch.PoolFetches`` after the holder
confirms the quote; the page polls ``/progress`` every second with htmx, and reloading it shows
the same figures.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pgy_metrics.contract.endpoints import BLOGGER_PROFILE, NOTES_RATE
from pgy_metrics.server.console import pool_fetch, pool_view
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
from pgy_metrics.server.console.uploads import read_creator_list
from pgy_metrics.service.pools import owner_filter, pools_of
from pgy_metrics.sheets import RowProblem, UnreadableTable
from pgy_metrics.store.pools import DONE, FAILED, FETCHING, PENDING, PoolRecord

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_UPLOAD_BYTES = 1024 * 1024
"""The largest upload read (a list of thousands of creators is far below): HTTP 413 beyond."""
MAX_MEMBERS = 2000
"""Creators kept in one pool; the rest of a longer list is listed as a problem."""
MAX_NAME_CHARS = 200


def fetches_of(request: Request) -> pool_fetch.PoolFetches:
    fetches: pool_fetch.PoolFetches | None = getattr(request.app.state, "pool_fetches", None)
    if fetches is None:
        fetches = request.app.state.pool_fetches = pool_fetch.PoolFetches()
    return fetches


async def _own_pool(request: Request, session: Session, pool_id: int) -> PoolRecord | None:
    """The pool when it exists and the session may see it (its holder, or an admin)."""
    pool = await pools_of(runtime_of(request)).get(pool_id)
    if pool is None:
        return None
    owner = owner_filter(session.holder)
    return pool if owner is None or pool.token_id == owner else None


def _not_found(request: Request, session: Session) -> HTMLResponse:
    return refused(request, session, "not_found", status=404)


# -- list and upload ---------------------------------------------------------------------------


@router.get("/pools")
async def pool_list(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    return await _list_page(request, session)


def _upload_too_large(request: Request, session: Session) -> HTMLResponse:
    text = TEXT[lang_of(request)]
    return page(
        request,
        "refused.html",
        session,
        status=413,
        reason=text["pool_too_large"].format(kib=MAX_UPLOAD_BYTES // 1024),
    )


def read_upload(name: str, content: bytes) -> tuple[list[str], list[RowProblem]]:
    """The creators of an uploaded file (deduplicated, file order) and its bad rows, read as
    ``pgy batch`` reads input files (``uploads``). Raises ``UnreadableTable`` for a file that
    is no list."""
    user_ids: list[str] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for entry in read_creator_list(name, content):
        if isinstance(entry, RowProblem):
            problems.append(entry)
        elif entry not in seen:
            seen.add(entry)
            user_ids.append(entry)
    if len(user_ids) > MAX_MEMBERS:
        problems.append(
            RowProblem(0, "", f"only the first {MAX_MEMBERS} creators are kept in a pool")
        )
        user_ids = user_ids[:MAX_MEMBERS]
    return user_ids, problems


@router.post("/pools")
async def upload(request: Request) -> Response:
    """A multipart upload (``name``, ``file``, ``csrf``): the pool is saved with its valid
    members and its bad rows in one transaction, then shown."""
    posted = await checked_upload_form(
        request,
        max_bytes=MAX_UPLOAD_BYTES + 64 * 1024,  # the file plus the form's other parts
        too_large_page=_upload_too_large,
        max_fields=10,
    )
    if isinstance(posted, Response):
        return posted
    session = posted.session
    text = TEXT[lang_of(request)]
    name = posted.value("name").strip()[:MAX_NAME_CHARS]
    sent = posted.files.get("file")
    if sent is None:
        return await _list_with_error(request, session, text["pool_no_file"])
    filename, content = sent
    try:
        user_ids, problems = await asyncio.to_thread(read_upload, filename, content)
    except UnreadableTable as error:
        return await _list_with_error(request, session, str(error))
    if not user_ids:
        listed = "; ".join(str(problem) for problem in problems[:5])
        return await _list_with_error(request, session, f"{text['pool_empty']} {listed}".strip())
    runtime = runtime_of(request)
    pool_id = await pools_of(runtime).create(
        token_id=session.holder.id,
        name=name or PurePath(filename).name[:MAX_NAME_CHARS],
        user_ids=user_ids,
        problems=pool_fetch.problems_json([(p.line, p.text, p.reason) for p in problems]),
        now=runtime.clock.now(),
    )
    return RedirectResponse(f"{PREFIX}/pools/{pool_id}", status_code=303, headers=SECURITY_HEADERS)


async def _list_with_error(request: Request, session: Session, error: str) -> HTMLResponse:
    return await _list_page(request, session, status=400, error=error)


async def _list_page(
    request: Request, session: Session, *, status: int = 200, error: str | None = None
) -> HTMLResponse:
    """The pools page: the session's pools (an admin's: all) with their fetch state, the
    upload form, and ``error`` above it when an upload was refused."""
    listed = await pools_of(runtime_of(request)).listed(owner_filter(session.holder))
    fetches = fetches_of(request)
    runtime = runtime_of(request)
    return page(
        request,
        "pools.html",
        session,
        status=status,
        error=error,
        pools=[(pool, fetches.state_of(pool, runtime)) for pool in listed],
        max_bytes=MAX_UPLOAD_BYTES,
    )


# -- one pool ----------------------------------------------------------------------------------


async def _pool_report(request: Request, pool: PoolRecord) -> Any:
    runtime = runtime_of(request)
    repository = pools_of(runtime)
    members = [m.user_id for m in await repository.members(pool.id) if m.status == DONE]
    keys = [scope.key for scope in pool_fetch.pool_scopes()]
    notes = await repository.snapshots(NOTES_RATE, members, keys)
    profiles = await repository.snapshots(BLOGGER_PROFILE, members)
    return await asyncio.to_thread(
        pool_view.report_of, notes, profiles, title=pool.name, now=runtime.clock.now()
    )


@router.get("/pools/{pool_id}")
async def pool_page(request: Request, pool_id: int) -> Response:
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    pool = await _own_pool(request, session, pool_id)
    if pool is None:
        return _not_found(request, session)
    return await _pool_page(request, session, pool)


async def _pool_page(
    request: Request, session: Session, pool: PoolRecord, *, changed: str | None = None
) -> HTMLResponse:
    runtime = runtime_of(request)
    state = fetches_of(request).state_of(pool, runtime)
    members = await pools_of(runtime).members(pool.id)
    waiting = [m.user_id for m in members if m.status in (PENDING, FAILED)]
    quote = balance = None
    if state != FETCHING and waiting:
        quote = await pool_fetch.quote(runtime, session.holder, waiting)
        balance = await runtime.issuer.balance(session.holder)
    view = pool_view.View.of(request.query_params)
    shown = pool_view.PoolTable(False, "none")
    if pool.done:
        try:
            report = await _pool_report(request, pool)
        except ImportError:
            shown = pool_view.PoolTable(False, "analytics")
        else:
            if report is not None:
                shown = await asyncio.to_thread(pool_view.table, report, view)
                shown.charts = await asyncio.to_thread(pool_view.charts, report)
    return page(
        request,
        "pool.html",
        session,
        pool=pool,
        state=state,
        problems=json.loads(pool.problems),
        failed=[m for m in members if m.status == FAILED],
        quote=quote,
        balance=balance,
        nonce=pool_fetch.new_nonce(),
        changed=changed,
        table=shown,
        view=view,
        charts=bool(shown.charts),
    )


@router.get("/pools/{pool_id}/progress")
async def progress(request: Request, pool_id: int) -> Response:
    """The progress fragment htmx polls every second; once the fetch is over it asks the page
    to reload (``HX-Refresh``) so the table and charts appear."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    pool = await _own_pool(request, session, pool_id)
    if pool is None:
        return _not_found(request, session)
    state = fetches_of(request).state_of(pool, runtime_of(request))
    response = page(request, "pool_progress.html", session, pool=pool, state=state)
    if state != FETCHING:
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/pools/{pool_id}/fetch")
async def confirm_fetch(request: Request, pool_id: int) -> Response:
    """A confirmed quote (or Resume): re-priced (a price that went up is asked again), then
    fetched in the background."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    pool = await _own_pool(request, session, pool_id)
    if pool is None:
        return _not_found(request, session)
    runtime = runtime_of(request)
    members = await pools_of(runtime).members(pool.id)
    waiting = [m.user_id for m in members if m.status in (PENDING, FAILED)]
    try:
        confirmed = int(form.get("total", ""))
    except ValueError:
        confirmed = -1
    quote = await pool_fetch.quote(runtime, session.holder, waiting)
    if quote.total > confirmed:
        text = TEXT[lang_of(request)]
        changed = text["quote_changed"].format(then=max(confirmed, 0), now=quote.total)
        return await _pool_page(request, session, pool, changed=changed)
    await fetches_of(request).start(runtime, session.holder, pool.id)
    return RedirectResponse(f"{PREFIX}/pools/{pool.id}", status_code=303, headers=SECURITY_HEADERS)


# -- downloads ---------------------------------------------------------------------------------


async def _download(request: Request, pool_id: int, kind: str) -> Response:
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    pool = await _own_pool(request, session, pool_id)
    if pool is None:
        return _not_found(request, session)
    try:
        report = await _pool_report(request, pool) if pool.done else None
    except ImportError:
        return refused(request, session, "no_analytics", status=404)
    if report is None:
        return refused(request, session, "pool_no_report", status=404)
    filename = f"pool-{pool.id}-report.{kind}"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    if kind == "xlsx":
        body: bytes | str = await asyncio.to_thread(pool_view.xlsx_bytes, report)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = await asyncio.to_thread(pool_view.html_text, report)
        media = "text/html; charset=utf-8"
    return Response(body, media_type=media, headers=headers)


@router.get("/pools/{pool_id}/report.xlsx")
async def report_xlsx(request: Request, pool_id: int) -> Response:
    return await _download(request, pool_id, "xlsx")


@router.get("/pools/{pool_id}/report.html")
async def report_html(request: Request, pool_id: int) -> Response:
    return await _download(request, pool_id, "html")


# -- the creator page's pool choice (issue 15, item 2) -----------------------------------------


async def pool_choices(request: Request, session: Session) -> list[PoolRecord]:
    """The pools the creator page offers to rank a creator in: the session's own (an admin's:
    every pool), newest first."""
    return await pools_of(runtime_of(request)).listed(owner_filter(session.holder))


def chosen_pool(value: str | None) -> int | None:
    """The ``pool`` parameter as a pool id, None when absent or not a positive number."""
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value) or None


async def pool_snapshots(request: Request, session: Session, pool_id: int) -> list[Any] | None:
    """The stored notes-rate snapshots of the members of pool ``pool_id`` (the analysis
    scopes), None when the session may not see that pool."""
    pool = await _own_pool(request, session, pool_id)
    if pool is None:
        return None
    repository = pools_of(runtime_of(request))
    members = [member.user_id for member in await repository.members(pool.id)]
    keys = [scope.key for scope in pool_fetch.pool_scopes()]
    return list(await repository.snapshots(NOTES_RATE, members, keys))
