"""``/console``: the web console's pages (docs/console.md).

Server-rendered Jinja2 (the docs pages' environment conventions: package loader, autoescape),
htmx served from the package (``static/vendor``), no other host contacted: the Content Security
Policy allows this origin only. Every page but sign-in needs a session (``sessions.py``); every
POST carries the session's CSRF token and is refused with a 403 page without it. A holder sees
their own usage, balance and look-ups; an admin also sees tokens, other tokens' usage, upstream
accounts and jobs. Creator look-ups go through the gate (``lookup.py``), as API calls do.

The routes sit behind the framework (not in front of it as the endpoints are), so they cost the
API's hot path nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.contract.history import HISTORY
from pgy_metrics.contract.params import ParamError, parse_user_id, parse_user_ref
from pgy_metrics.server.console import lookup as lookups
from pgy_metrics.server.console import pools as pool_pages
from pgy_metrics.server.console import view
from pgy_metrics.server.console.pages import (
    LANG_COOKIE,
    MAX_REF_CHARS,
    PREFIX,
    SECURITY_HEADERS,
    STATIC,
    checked_post,
    console_of,
    lang_of,
    page,
    read_form,
    refused,
    runtime_of,
    secure_of,
    session_of,
    to_sign_in,
    too_large,
)
from pgy_metrics.server.console.sessions import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    ConsoleSessions,
    Session,
    same_token,
)
from pgy_metrics.server.console.text import LANGUAGES, TEXT
from pgy_metrics.service.tokens import UnknownToken

if TYPE_CHECKING:
    pass


router = APIRouter(prefix=PREFIX, include_in_schema=False)

_STATIC_DIR = files("pgy_metrics.server.console") / "static"
_static_cache: dict[str, bytes] = {}


# -- static files ------------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    entry = STATIC.get(name)
    if entry is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    path, media_type = entry
    body = _static_cache.get(name)
    if body is None:
        body = _static_cache[name] = (_STATIC_DIR / path).read_bytes()
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# -- language, sign-in, sign-out ---------------------------------------------------------------


@router.get("/language/{lang}")
async def language(request: Request, lang: str) -> Response:
    """Switch the language (a cookie), back to the page the link was on."""
    back = request.query_params.get("next") or PREFIX
    if not back.startswith(PREFIX) or back.startswith("//") or "\\" in back:
        back = PREFIX  # only pages of the console: never an open redirect
    response = RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            path=PREFIX,
            secure=secure_of(request),
            httponly=True,
            samesite="strict",
        )
    return response


def _sign_in_page(
    request: Request, *, message: str | None = None, status: int = 200, note: str | None = None
) -> HTMLResponse:
    console = console_of(request)
    pre = request.cookies.get(SIGN_IN_COOKIE)
    if not pre or len(pre) > 100:
        pre = ConsoleSessions.new_id()
    response = page(
        request,
        "sign_in.html",
        None,
        status=status,
        csrf=console.sessions.sign_in_csrf(pre),
        message=message,
        note=note,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        pre,
        max_age=3600,
        path=PREFIX,
        secure=secure_of(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if await session_of(request) is not None:
        return RedirectResponse(PREFIX, status_code=303, headers=SECURITY_HEADERS)
    note = TEXT[lang_of(request)]["signed_out"] if request.query_params.get("out") else None
    return _sign_in_page(request, note=note)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the token once (as the API does, counting failures against the address's
    ``PGY_FAILED_TOKEN_LIMIT``) and start a session. The token is never echoed or kept."""
    console = console_of(request)
    runtime = runtime_of(request)
    text = TEXT[lang_of(request)]
    form = await read_form(request)
    if form is None:
        return too_large(request, None)
    pre = request.cookies.get(SIGN_IN_COOKIE)
    if not pre or not same_token(console.sessions.sign_in_csrf(pre), form.get("csrf")):
        return refused(request, None, "csrf_refused")
    token = form.get("token", "").strip()
    if not token:
        return _sign_in_page(request, message=text["sign_in_missing"], status=400)
    record = await runtime.authenticator.authenticate(token)
    if record is None:
        limit = runtime.settings.failed_token_limit
        address = request.client.host if request.client is not None else ""
        if limit and address:
            limited = await runtime.limiter.hit_failed_token(address, limit)
            if limited is not None:
                return _sign_in_page(
                    request,
                    message=text["sign_in_limited"].format(seconds=limited.retry_after),
                    status=429,
                )
        return _sign_in_page(request, message=text["sign_in_failed"], status=401)
    session = await console.sessions.sign_in(record)
    response = RedirectResponse(PREFIX, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=int(console.sessions.lifetime.total_seconds()),
        path=PREFIX,
        secure=secure_of(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(
        SIGN_IN_COOKIE, path=PREFIX, secure=secure_of(request), httponly=True, samesite="strict"
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    session, _form_fields = checked
    await console_of(request).sessions.sign_out(session.id)
    response = RedirectResponse(
        f"{PREFIX}/sign-in?out=1", status_code=303, headers=SECURITY_HEADERS
    )
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, secure=secure_of(request), httponly=True, samesite="strict"
    )
    return response


# -- pages -------------------------------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    return page(request, "home.html", session)


@router.get("/creator")
async def creator(request: Request) -> Response:
    """The look-up form; with ``ref``, the creator's quote (nothing is fetched yet), or the
    look-up itself when it would cost nothing."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    ref = request.query_params.get("ref", "")
    pool_id = pool_pages.chosen_pool(request.query_params.get("pool"))
    choices = await pool_pages.pool_choices(request, session)
    if not ref:
        return page(request, "creator.html", session, ref="", pools=choices, pool_id=pool_id)
    try:
        if len(ref) > MAX_REF_CHARS:
            raise ParamError("ref", f"ref is longer than {MAX_REF_CHARS} characters.")
        user_id = parse_user_ref(ref, param="ref")
    except ParamError as error:
        return page(request, "creator.html", session, ref=ref, error=error.message, status=400)
    runtime = runtime_of(request)
    quote = await lookups.quote(runtime, session.holder, user_id)
    if quote.total == 0:
        return await _looked_up(request, session, quote, ref, pool_id=pool_id)
    return await _quote_page(request, session, quote, ref, pool_id=pool_id)


async def _quote_page(
    request: Request,
    session: Session,
    quote: lookups.Quote,
    ref: str,
    changed: str | None = None,
    *,
    pool_id: int | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    balance = await runtime.issuer.balance(session.holder)
    groups: dict[str, dict[str, Any]] = {}
    for line in quote.lines:
        if not line.allowed:
            continue
        name = line.endpoint.name if line.endpoint is not None else HISTORY
        group = groups.setdefault(name, {"name": name, "calls": 0, "cached": 0, "credits": 0})
        group["calls"] += 1
        group["cached"] += int(line.cached)
        group["credits"] += line.price
    return page(
        request,
        "creator.html",
        session,
        ref=ref,
        quote=quote,
        groups=list(groups.values()),
        balance=balance,
        nonce=secrets.token_urlsafe(16),
        changed=changed,
        pools=await pool_pages.pool_choices(request, session),
        pool_id=pool_id,
    )


@router.post("/creator")
async def confirm_creator(request: Request) -> Response:
    """A confirmed quote: re-priced (a price that went up is asked again), then fetched."""
    checked = await checked_post(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    try:
        user_id = parse_user_id(form.get("user_id"), param="user_id")
        confirmed = int(form.get("total", ""))
        nonce = form.get("nonce", "")
        if not 8 <= len(nonce) <= 64 or not nonce.replace("-", "").replace("_", "").isalnum():
            raise ParamError("nonce", "nonce must be the form's own value; reload the page.")
    except ParamError as error:
        return page(request, "creator.html", session, ref="", error=error.message, status=400)
    except ValueError:
        return page(
            request,
            "creator.html",
            session,
            ref="",
            error="total must be the form's own whole number; reload the page.",
            status=400,
        )
    runtime = runtime_of(request)
    pool_id = pool_pages.chosen_pool(form.get("pool"))
    quote = await lookups.quote(runtime, session.holder, user_id)
    if quote.total > confirmed:
        changed = TEXT[lang_of(request)]["quote_changed"].format(then=confirmed, now=quote.total)
        return await _quote_page(request, session, quote, user_id, changed, pool_id=pool_id)
    return await _looked_up(request, session, quote, user_id, nonce, pool_id=pool_id)


async def _looked_up(
    request: Request,
    session: Session,
    quote: lookups.Quote,
    ref: str,
    nonce: str | None = None,
    *,
    pool_id: int | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    holder = session.holder
    result = await lookups.fetch(runtime, holder, quote, nonce or secrets.token_urlsafe(16))
    chosen = None if pool_id is None else await pool_pages.pool_snapshots(request, session, pool_id)
    if chosen is None:  # the default pool: the creators looked up with this token
        pool_id = None
        pool = await console_of(request).repository.looked_up_snapshots(
            token_id=None if holder.is_admin else holder.id,
            endpoint=NOTES_RATE,
            creators=view.POOL_CREATORS,
        )
    else:
        pool = chosen
    # polars work off the event loop: the API's calls keep being answered meanwhile.
    bench = await asyncio.to_thread(view.benchmark, result, pool)
    history_charts = await asyncio.to_thread(view.history_charts, result)  # vl-convert: ~50 ms
    return page(
        request,
        "creator.html",
        session,
        ref=ref,
        result=result,
        scopes=view.scope_figures(result.of(NOTES_RATE)),
        bench=bench,
        profile=view.profile_facts(result),
        audience=view.audience_facts(result),
        siblings=[
            (name, view.scalar_facts(result, name), result.of(name))
            for name in view.SIBLING_SECTIONS
        ],
        history=view.history_series(result),
        pools=await pool_pages.pool_choices(request, session),
        pool_id=pool_id,
        history_charts=history_charts,
        charts=bool(history_charts),
    )


@router.get("/usage")
async def usage(request: Request) -> Response:
    """The holder's calls, spend and balance by day; an admin may name any token (``token``)."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    holder = session.holder
    name = request.query_params.get("token") or holder.name
    if name != holder.name and not holder.is_admin:
        return refused(request, session, "admin_only")
    issuer = runtime_of(request).issuer
    try:
        record = await issuer.record(name)
    except UnknownToken:
        return refused(request, session, "not_found", status=404)
    rows = await issuer.usage(name=name)
    balance = await issuer.balance(record)
    return page(request, "usage.html", session, name=name, rows=rows, balance=balance)


@router.get("/status")
async def status(request: Request) -> Response:
    """Upstream health labels (as ``/status``); upstream accounts for admins."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    from pgy_metrics.server.routes.status import cluster_account_states

    runtime = runtime_of(request)
    healths = await runtime.health.current()
    accounts = await cluster_account_states(runtime) if session.holder.is_admin else None
    return page(
        request,
        "status.html",
        session,
        healths=healths,
        accounts=accounts,
        minutes=runtime.settings.health_window_minutes,
        zone=runtime.settings.zone,
    )


@router.get("/tokens")
async def tokens(request: Request) -> Response:
    """Admins: every token with its plan and today's use, and the collection jobs."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    if not session.holder.is_admin:
        return refused(request, session, "admin_only")
    runtime = runtime_of(request)
    views = await runtime.issuer.views()
    jobs = await runtime.queue.counts() if runtime.queue is not None else None
    return page(request, "tokens.html", session, views=views, jobs=jobs, urlencode=urlencode)
