"""A real local HTTP fake of the hosted Note Performance Metrics API (the ``justoneapi`` relay).

A small Starlette app on the contract's exact path. It checks the token, records every request it
receives (so tests can assert that all four filters are always sent) and answers the success
envelope of the shared 3-note fixture, byte for byte, unless told to fail. Serve it on loopback::

    fake = FakeHostedApi(token="relay-token")
    with serve_on_loopback(fake.app) as base_url:
        fake.fail("code_302", times=2, retry_after="1")  # two 302s, then the fixture again
        fake.always("http_502")                           # every answer a 502 from now on
        fake.reset()                                      # back to success, history cleared

Modes (``MODES``): ``success``; ``code_<n>`` for any business code (``code_100``, ``code_301``,
``code_302`` with an optional ``Retry-After``, ``code_303``, ``code_500``, ``code_600``,
``code_601``, ``code_602``, ``code_777``...); ``spring_400`` (the hosted API's non-envelope HTTP
400 body); ``http_<status>`` (``http_502``: a gateway's HTML error page); ``html`` (a login page
with HTTP 200); ``empty``; ``invalid_json``; ``non_dict_data`` (code 0 with a list ``data``);
``timeout`` (no answer until the client gives up; bounded by ``hang_seconds``).

The same controls exist over HTTP for a fake running in another process: ``POST /_fake/fail``
with ``{"mode": "code_302", "times": 2, "retry_after": "1"}`` (``times`` null: always),
``POST /_fake/reset``, and ``GET /_fake/requests``.

A request with a wrong or missing token is answered code 100 and does not use up a scripted
failure. Tokens are never recorded: ``ReceivedRequest.params`` holds ``<valid>`` or ``<invalid>``
in place of the token's value.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import ParamError, Scope, parse_user_id
from tests.conftest import FIXTURE_3_NOTES

__all__ = ["MODES", "FakeHostedApi", "ReceivedRequest", "fixture_body"]

MODES: tuple[str, ...] = (
    "success",
    "code_<n>",
    "spring_400",
    "http_<status>",
    "html",
    "empty",
    "invalid_json",
    "non_dict_data",
    "timeout",
)
_FIXED_MODES = frozenset(
    ("success", "spring_400", "html", "empty", "invalid_json", "non_dict_data", "timeout")
)

DEFAULT_HANG_SECONDS = 5.0
"""Longest a ``timeout`` answer waits for the client to hang up (it normally hangs up first)."""

_CODE_MESSAGES: dict[int, str] = {
    100: "invalid token",
    301: "collection failed, please retry",
    302: "rate limit exceeded",
    303: "daily quota exceeded",
    500: "internal server error",
    600: "permission denied",
    601: "insufficient balance",
    602: "account frozen, please contact support",
}

_LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just One API - Login</title></head>"
    b"<body><form action='/login'><input name='user'></form></body></html>"
)
_GATEWAY_PAGE = (
    b"<html><head><title>%d</title></head><body><center><h1>%d</h1></center>"
    b"<hr><center>nginx</center></body></html>"
)


def fixture_body() -> bytes:
    """The hosted API's real answer for a creator with 3 notes, as saved."""
    return FIXTURE_3_NOTES.read_bytes()


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake saw it; the token value replaced by ``<valid>``/``<invalid>``."""

    path: str
    params: tuple[tuple[str, str], ...]
    answered: str
    """The mode it was answered with (``success``, ``code_302``, ``bad_token``...)."""

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    def count(self, name: str) -> int:
        return sum(1 for key, _ in self.params if key == name)

    @property
    def token_ok(self) -> bool:
        return self.get("token") == "<valid>"


@dataclass(frozen=True)
class _Answer:
    mode: str
    retry_after: str | None = None
    message: str | None = None


@dataclass
class _State:
    script: deque[_Answer] = field(default_factory=deque)
    default: _Answer = field(default_factory=lambda: _Answer("success"))
    requests: list[ReceivedRequest] = field(default_factory=list)


def _check_mode(mode: str) -> str:
    if mode in _FIXED_MODES:
        return mode
    prefix, _, number = mode.partition("_")
    if prefix in ("code", "http") and number.lstrip("-").isdigit():
        if prefix == "http" and not 100 <= int(number) <= 599:
            raise ValueError(f"http_<status> needs a status from 100 to 599; got {mode!r}")
        return mode
    raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")


class FakeHostedApi:
    """The hosted API's notesRate endpoint with failure modes on demand (see the module doc)."""

    def __init__(
        self,
        *,
        token: str,
        success_body: bytes | None = None,
        hang_seconds: float = DEFAULT_HANG_SECONDS,
    ) -> None:
        self.token = token
        self.success_body = success_body if success_body is not None else fixture_body()
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._state = _State()
        self.app = Starlette(
            routes=[
                Route(NOTES_RATE_PATH, self._notes_rate, methods=["GET"]),
                Route("/_fake/fail", self._control_fail, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
                Route("/_fake/requests", self._control_requests, methods=["GET"]),
            ]
        )

    # --- the Python control API ----------------------------------------------------------------

    def fail(
        self,
        mode: str,
        *,
        times: int | None = 1,
        retry_after: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` valid requests with ``mode`` (then what came before).

        ``times=None`` makes ``mode`` the answer of every request from now on. ``retry_after``
        sets a ``Retry-After`` header; ``message`` replaces the envelope's ``message``.
        """
        failure = _Answer(_check_mode(mode), retry_after=retry_after, message=message)
        with self._lock:
            if times is None:
                self._state.default = failure
            else:
                self._state.script.extend([failure] * times)

    def always(
        self, mode: str, *, retry_after: str | None = None, message: str | None = None
    ) -> None:
        self.fail(mode, times=None, retry_after=retry_after, message=message)

    def reset(self) -> None:
        """Answer success again and forget the requests received."""
        with self._lock:
            self._state = _State()

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def calls(self) -> int:
        """Requests received on the endpoint (valid token or not)."""
        with self._lock:
            return len(self._state.requests)

    # --- the endpoint ---------------------------------------------------------------------------

    def _next(self, params: Iterable[tuple[str, str]], path: str) -> tuple[_Answer, bool]:
        params = tuple(params)
        given = [value for key, value in params if key == "token"]
        token_ok = given == [self.token]
        shown = tuple(
            (key, ("<valid>" if value == self.token else "<invalid>") if key == "token" else value)
            for key, value in params
        )
        with self._lock:
            if token_ok:
                answer = self._state.script.popleft() if self._state.script else self._state.default
            else:
                answer = _Answer("code_100")
            self._state.requests.append(
                ReceivedRequest(
                    path=path, params=shown, answered=answer.mode if token_ok else "bad_token"
                )
            )
        return answer, token_ok

    async def _notes_rate(self, request: Request) -> Response:
        answer, token_ok = self._next(request.query_params.multi_items(), request.url.path)
        if token_ok and answer.mode == "success":
            invalid = _invalid_params(request)
            if invalid is not None:
                return _envelope(BusinessCode.INVALID_PARAMS, invalid)
        return await self._answer(request, answer)

    async def _answer(self, request: Request, answer: _Answer) -> Response:
        mode = answer.mode
        headers = {"Retry-After": answer.retry_after} if answer.retry_after is not None else {}
        if mode == "success":
            return Response(self.success_body, media_type="application/json")
        if mode.startswith("code_"):
            code = int(mode.removeprefix("code_"))
            message = answer.message or _CODE_MESSAGES.get(code, f"unexpected error {code}")
            return _envelope(code, message, headers=headers)
        if mode == "spring_400":
            body = {
                "timestamp": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                "status": 400,
                "error": "Bad Request",
                "path": request.url.path,
            }
            return JSONResponse(body, status_code=400)
        if mode.startswith("http_"):
            status = int(mode.removeprefix("http_"))
            page = _GATEWAY_PAGE % (status, status)
            return Response(page, status_code=status, media_type="text/html", headers=headers)
        if mode == "html":
            return Response(_LOGIN_PAGE, media_type="text/html")
        if mode == "empty":
            return Response(b"", media_type="application/json")
        if mode == "invalid_json":
            return Response(
                b'{"code": 0, "message": null, "data": {"noteNumber": 3,',
                media_type="application/json",
            )
        if mode == "non_dict_data":
            body_bytes = b'{"code":0,"message":null,"data":[{"noteNumber":3}],"recordTime":null}'
            return Response(body_bytes, media_type="application/json")
        if mode == "timeout":
            await self._hang(request)
            return Response(b"", status_code=504)
        raise AssertionError(f"unhandled mode {mode!r}")

    async def _hang(self, request: Request) -> None:
        """Wait until the client hangs up (its timeout), at most ``hang_seconds``."""
        try:
            async with asyncio.timeout(self.hang_seconds):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return

    # --- the HTTP control API -------------------------------------------------------------------

    async def _control_fail(self, request: Request) -> Response:
        spec: Any = await request.json()
        try:
            self.fail(
                str(spec["mode"]),
                times=spec.get("times", 1),
                retry_after=spec.get("retry_after"),
                message=spec.get("message"),
            )
        except (KeyError, TypeError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _control_requests(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"path": r.path, "params": [list(p) for p in r.params], "answered": r.answered}
                for r in self.requests
            ]
        )


def _envelope(code: int, message: str | None, *, headers: dict[str, str] | None = None) -> Response:
    body = {
        "code": int(code),
        "message": message,
        "data": None,
        "recordTime": None,
        "requestId": uuid.uuid4().hex,
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        media_type="application/json",
        headers=headers,
    )


def _invalid_params(request: Request) -> str | None:
    """What the hosted API answers code 400 for: a bad ``userId`` or filter value."""
    try:
        parse_user_id(request.query_params.get("userId"))
        Scope.from_params(request.query_params)
    except ParamError as error:
        return error.message
    return None
