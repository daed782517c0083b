"""What every console page shares: the session, the language, the page renderer with its
security headers, the form reader with its size cap and the CSRF check of every POST.

The pages themselves are in modules of their own (``routes.py`` for sign-in, creator, usage,
status and tokens; one module per further area), each with its own ``APIRouter`` included by
``__init__.py``; they all render through ``page`` and accept POSTs through ``checked_post``
so that no page can forget the CSRF check or the headers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pgy_metrics.server.console.sessions import (
    SESSION_COOKIE,
    ConsoleSessions,
    Session,
    same_token,
)
from pgy_metrics.server.console.text import LANGUAGES, TEXT
from pgy_metrics.service.tokens import TokenHasher, load_pepper
from pgy_metrics.store.sessions import SessionRepository

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

PREFIX = "/console"

LANG_COOKIE = "pgy_console_lang"
MAX_FORM_BYTES = 16 * 1024
"""The largest form body read (every console form is a few fields): HTTP 413 beyond."""
MAX_REF_CHARS = 2000

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""On every console page: this origin only, no framing, nothing cached (pages hold a holder's
data), no referrer (URLs may name a creator)."""

STATIC = {  # name -> (path under static/, media type); an area adds its own files here
    "htmx.min.js": ("vendor/htmx.min.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
    # The console's charts (charts.py): the report's vendored Vega scripts, then ours.
    "vega.min.js": ("../../static/vendor/vega.min.js", "text/javascript; charset=utf-8"),
    "vega-lite.min.js": ("../../static/vendor/vega-lite.min.js", "text/javascript; charset=utf-8"),
    "vega-embed.min.js": (
        "../../static/vendor/vega-embed.min.js",
        "text/javascript; charset=utf-8",
    ),
    "console-charts.js": ("console-charts.js", "text/javascript; charset=utf-8"),
}

PAGES = Environment(
    loader=PackageLoader("pgy_metrics.server.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Console:
    """The console's objects, built on first use by a process (``app.state.console``)."""

    sessions: ConsoleSessions
    repository: SessionRepository


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def console_of(request: Request) -> Console:
    console: Console | None = getattr(request.app.state, "console", None)
    if console is None:
        runtime = runtime_of(request)
        repository = SessionRepository(runtime.store.database)
        console = Console(
            ConsoleSessions(
                repository=repository,
                hasher=TokenHasher(load_pepper(runtime.settings)),
                clock=runtime.clock,
                lifetime=timedelta(minutes=runtime.settings.console_session_minutes),
            ),
            repository,
        )
        request.app.state.console = console
    return console


def lang_of(request: Request) -> str:
    """The language chosen (a cookie), else Chinese for a browser that prefers it, else
    English."""
    lang = request.cookies.get(LANG_COOKIE)
    if lang in LANGUAGES:
        return lang
    preferred = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "zh" if preferred.startswith("zh") else "en"


def secure_of(request: Request) -> bool:
    """HTTPS as uvicorn sees it: the connection's scheme, or ``X-Forwarded-Proto`` from a
    proxy it trusts (``FORWARDED_ALLOW_IPS``; docs/security.md)."""
    return request.url.scheme == "https"


async def session_of(request: Request) -> Session | None:
    return await console_of(request).sessions.resolve(request.cookies.get(SESSION_COOKIE))


def page(
    request: Request,
    template: str,
    session: Session | None,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = PAGES.get_template(template).render(
        lang=lang,
        other_lang="zh" if lang == "en" else "en",
        here=here,
        t=TEXT[lang],
        session=session,
        prefix=PREFIX,
        **values,
    )
    return HTMLResponse(
        body, status_code=status, headers={**SECURITY_HEADERS, "Content-Language": lang}
    )


def refused(request: Request, session: Session | None, key: str, status: int = 403) -> HTMLResponse:
    return page(request, "refused.html", session, status=status, reason=TEXT[lang_of(request)][key])


def to_sign_in() -> Response:
    return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=SECURITY_HEADERS)


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form of a POST, each field once (the first value); None when the body is
    over ``MAX_FORM_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class PostedForm:
    """A POST with files, read whole and CSRF-checked (``checked_upload_form``)."""

    session: Session
    fields: dict[str, list[str]]
    """Every text field with all its values, in the order sent."""
    files: dict[str, tuple[str, bytes]]
    """Each file field that carried a file: its file name as sent and its content."""

    def value(self, name: str) -> str:
        """A text field's first value, "" when absent."""
        return self.fields.get(name, [""])[0]


async def _body_within(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None as soon as it is over ``max_bytes`` (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


async def checked_upload_form(
    request: Request,
    *,
    max_bytes: int,
    too_large_page: Callable[[Request, Session], Response],
    max_fields: int = 64,
) -> PostedForm | Response:
    """A form that may carry files (multipart, or urlencoded without them): its session,
    fields and files, or the refusal, the same for every console page that takes uploads:
    no session (403), a body over ``max_bytes`` (``too_large_page``, read no further), a body
    that is no form (400), a missing or wrong CSRF token (403)."""
    session = await session_of(request)
    if session is None:
        return refused(request, None, "expired")
    body = await _body_within(request, max_bytes)
    if body is None:
        return too_large_page(request, session)
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.headers.get("content-type", "").startswith("multipart/form-data"):

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, receive).form(
                max_files=4, max_fields=max_fields, max_part_size=max_bytes
            )
        except (MultiPartException, HTTPException):
            return refused(request, session, "form_malformed", status=400)
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if value.filename:
                        files[name] = (value.filename, await value.read())
                else:
                    fields.setdefault(name, []).append(value)
        finally:
            await form.close()
    else:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if not same_token(session.csrf, fields.get("csrf", [None])[0]):
        return refused(request, session, "csrf_refused")
    return PostedForm(session, fields, files)


def too_large(request: Request, session: Session | None) -> HTMLResponse:
    lang = lang_of(request)
    return page(
        request,
        "refused.html",
        session,
        status=413,
        reason=f"The form is larger than {MAX_FORM_BYTES} bytes."
        if lang == "en"
        else f"表单超过 {MAX_FORM_BYTES} 字节。",
    )


async def checked_post(request: Request) -> tuple[Session, dict[str, str]] | Response:
    """A POST's session and form, or the refusal: no session (403), a form over the cap
    (413), a missing or wrong CSRF token (403)."""
    session = await session_of(request)
    if session is None:
        return refused(request, None, "expired")
    form = await read_form(request)
    if form is None:
        return too_large(request, session)
    if not same_token(session.csrf, form.get("csrf")):
        return refused(request, session, "csrf_refused")
    return session, form
