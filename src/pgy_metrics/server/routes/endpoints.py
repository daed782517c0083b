"""The API's endpoints (and our ``/api/history``) at the edge: HTTP in, the gate's outcome out
as bytes. ``Cache-Control`` on an endpoint becomes the gate's ``max_age``.

This is the hot path, so it is a plain ASGI layer in front of the FastAPI application: requests
for a registered endpoint's path never enter the framework's routing, dependency solving or
response objects, which together cost more than half of a cached answer's time. The query
string is parsed here (every parameter's meaning is the gate's, from the endpoint registry), so
that every bad input becomes the contract's code 400 with a sentence naming the parameter and
its allowed values, never FastAPI's 422.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.contract.history import single_valued as history_single_valued
from pgy_metrics.server import answers
from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server")


class EndpointsLayer:
    """Answers every registered endpoint and ``/api/history``; any other request goes on to
    ``app``."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.request_ids = answers.RequestIds()
        self.single_valued_history = history_single_valued(runtime.endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: EndpointSpec | None = None
        history = False
        if scope["type"] == "http":
            endpoint = self.runtime.endpoints.by_path(scope["path"])
            history = endpoint is None and scope["path"] == HISTORY_PATH
        if (endpoint is None and not history) or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_id = self.request_ids.new()
        try:
            if endpoint is not None:
                body, headers = await self._answer(endpoint, scope, request_id)
            else:
                body, headers = await self._history(scope, request_id)
        except asyncio.CancelledError:
            # The server is stopping and its grace period (PGY_SHUTDOWN_GRACE_SECONDS) ran out:
            # the gate has given back what this request reserved. Answer in the contract's
            # envelope (not charged) rather than uvicorn's bare 500 and a traceback in the log;
            # the request ends here, as uvicorn asked.
            body = answers.failure_body(
                BusinessCode.SERVER_ERROR,
                f"The server is stopping; retry the request (request id {request_id}).",
                request_id=request_id,
            )
            headers = answers.headers(body, request_id, answers.NOT_CHARGED)
        except Exception:
            # The body says nothing of the cause; the traceback stays in the server's log.
            log.exception("unexpected error while answering request %s", request_id)
            self.runtime.gate.codes[BusinessCode.SERVER_ERROR] += 1
            body = answers.failure_body(
                BusinessCode.SERVER_ERROR,
                f"Internal server error; please retry later (request id {request_id}).",
                request_id=request_id,
            )
            headers = answers.headers(body, request_id, answers.NOT_CHARGED)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(
        self, endpoint: EndpointSpec, scope: Scope, request_id: str
    ) -> tuple[bytes, answers.Headers]:
        params, repeated = _query(scope, endpoint.single_valued)
        outcome = await self.runtime.gate.call(
            endpoint,
            params,
            request_id=request_id,
            idempotency_key=_header(scope, b"idempotency-key"),
            repeated=repeated,
            max_age=max_age(_header(scope, b"cache-control")),
        )
        return answers.answer(outcome, request_id)

    async def _history(self, scope: Scope, request_id: str) -> tuple[bytes, answers.Headers]:
        params, repeated = _query(scope, self.single_valued_history)
        outcome = await self.runtime.gate.history(params, request_id=request_id, repeated=repeated)
        return answers.answer(outcome, request_id)


def _query(scope: Scope, single_valued: frozenset[str]) -> tuple[dict[str, str], str | None]:
    """The query parameters (the last value of each) and the first single-valued one repeated.

    The same pairs as ``parse_qsl(..., keep_blank_values=True)`` (tested against it), read
    without it: a plain ``token=...&userId=...`` needs no unquoting, and ``parse_qsl`` was the
    largest single cost of a cached hit in our code."""
    params: dict[str, str] = {}
    repeated: str | None = None
    for field in scope["query_string"].decode("latin-1").split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name), unquote_plus(value)
        if name in params and name in single_valued and repeated is None:
            repeated = name
        params[name] = value
    return params, repeated


_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d{1,10})\"?")


def max_age(header: str | None) -> timedelta | None:
    """The freshness a caller asks for with ``Cache-Control``: ``no-cache`` (or ``max-age=0``)
    is zero (always collect anew), ``max-age=N`` is N seconds; None without the header or when
    it holds neither directive in a readable form (invalid values are ignored, as HTTP caches
    ignore them: the answer is then what it would be without the header). With both, the
    stricter wins."""
    if not header:
        return None
    found: timedelta | None = None
    for directive in header.lower().split(","):
        directive = directive.strip()
        if directive == "no-cache":
            return timedelta(0)
        matched = _MAX_AGE.fullmatch(directive)
        if matched is not None:
            seconds = timedelta(seconds=int(matched.group(1)))
            found = seconds if found is None else min(found, seconds)
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None
