"""A real local HTTP fake of Pugongying's notesRate endpoint: a small Starlette app.

Serve it with ``tests.upstreams.loopback.serve_on_loopback(fake.app)``. It

- checks what a real client sends (desktop User-Agent, the blogger-detail Referer, a 16-hex
  ``X-B3-Traceid``, JSON ``Accept``, the ``a1`` cookie and a login cookie, the five query
  parameters with Pugongying's numbers) and answers a request that lacks any of it with HTTP 400
  and ``code -9999`` listing the problems (a missing login cookie gets the real ``code -100``);
- answers the success envelope ``{"code": 0, "success": true, "msg": "成功", "data": ...}`` with
  the data of the shared 3-note fixture;
- answers each failure mode on demand, per account: an account is the value of its ``a1``
  cookie. ``fake.set_mode(a1, "http_401")`` holds until changed; ``times=n`` answers the mode
  n times, then the standing mode again. The same through ``POST /__fake__/mode``
  (``{"account", "mode", "times"}``) for another process;
- records every request it receives (``fake.received``, ``GET /__fake__/requests``);
- with ``require_signature=True``, answers HTTP 406 to a request whose ``x-s`` header is not
  ``sign_request``'s signature (what a real risk-control layer does to an unsigned call);
- answers absolute-form request targets (``GET http://host/path``) too, so it can stand in as an
  HTTP proxy in front of an unreachable base URL.

``sign_request`` and ``sign_request_async`` are example signers for the signer hook, importable as
``tests.upstreams.fake_pugongying:sign_request``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import FIXTURE_3_NOTES

NOTES_RATE_PATH = "/api/solar/kol/dataV3/notesRate"
REFERER_PREFIX = "https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/"
ACCOUNT_COOKIE = "a1"
LOGIN_COOKIES = ("access-token-pgy.xiaohongshu.com", "solar.beaker.session.id", "customer-sso-sid")
HANG_SECONDS = 5.0
"""How long the ``timeout`` mode holds a request if the client never gives up."""

PARAM_VALUES: dict[str, set[str]] = {
    "business": {"0", "1"},
    "noteType": {"1", "2", "3"},
    "dateType": {"1", "2"},
    "advertiseSwitch": {"0", "1"},
}
_USER_ID = re.compile(r"[0-9a-f]{24}")
_TRACE_ID = re.compile(r"[0-9a-f]{16}")

MODES = (
    "ok",
    "http_401",
    "code_-100",
    "code_902",
    "code_903",
    "code_906",
    "html_login",
    "redirect_login",
    "code_300013",
    "http_406",
    "http_461",
    "http_429",
    "timeout",
    "http_500",
    "http_502",
    "malformed_json",
    "data_null",
    "data_list",
    "data_without_note_number",
    "code_unknown",
    "http_403",
)

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>蒲公英 - 登录</title></head>
<body><div id="app">请先登录</div><script src="/static/login.js"></script></body></html>"""

BAD_GATEWAY = """<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"""


def fixture_data() -> dict[str, Any]:
    """The ``data`` of the shared real 3-note answer."""
    document = json.loads(FIXTURE_3_NOTES.read_text(encoding="utf-8"))
    data: dict[str, Any] = document["data"]
    return data


def _cookies_of(headers: Mapping[str, str]) -> dict[str, str]:
    raw = next((value for name, value in headers.items() if name.lower() == "cookie"), "")
    jar: SimpleCookie = SimpleCookie()
    jar.load(raw)
    return {name: morsel.value for name, morsel in jar.items()}


def signature(path_and_query: str, a1: str) -> str:
    """The fake's stand-in for Xiaohongshu's ``x-s``: a digest of the request and ``a1``."""
    return "XYW_" + hashlib.sha256(f"{path_and_query}|{a1}".encode()).hexdigest()


def sign_request(
    method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, str]:
    """An example signer: ``x-s`` over path + query string and the ``a1`` cookie, ``x-t`` now."""
    path_and_query = f"{urlsplit(url).path}?{urlencode(params)}"
    a1 = _cookies_of(headers).get(ACCOUNT_COOKIE, "")
    return {"x-s": signature(path_and_query, a1), "x-t": str(int(time.time() * 1000))}


async def sign_request_async(
    method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, str]:
    """The same signer, async (as one that calls a signing service would be)."""
    await anyio.sleep(0)
    return sign_request(method, url, params, headers)


def broken_signer(
    method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, str]:
    """A signer with a bug that puts the cookies in its error text."""
    raise RuntimeError(f"cannot sign with {headers.get('Cookie')}")


NOT_A_SIGNER = 42


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the fake received, as tests inspect it."""

    method: str
    host: str
    """The Host header: the base URL's host, also when the fake served as a proxy."""
    path: str
    query_string: str
    params: dict[str, str]
    headers: dict[str, str]
    """Lower-case names."""
    cookies: dict[str, str]
    account: str | None
    mode: str
    problems: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.time)
    """When it arrived (epoch seconds)."""


class FakePugongying:
    """The fake upstream; ``app`` is the ASGI app to serve."""

    def __init__(
        self,
        *,
        data: dict[str, Any] | None = None,
        require_signature: bool = False,
        hang_seconds: float = HANG_SECONDS,
        latency_seconds: float = 0.0,
    ) -> None:
        """``latency_seconds``: how long every answer takes, as a real upstream's would."""
        self.data = data if data is not None else fixture_data()
        self.require_signature = require_signature
        self.hang_seconds = hang_seconds
        self.latency_seconds = latency_seconds
        self._lock = threading.Lock()
        self._standing: dict[str, str] = {}
        self._queued: dict[str, deque[str]] = {}
        self._received: list[ReceivedRequest] = []
        self.app = Starlette(
            routes=[
                Route(NOTES_RATE_PATH, self._notes_rate, methods=["GET"]),
                Route("/__fake__/mode", self._control_mode, methods=["POST"]),
                Route("/__fake__/reset", self._control_reset, methods=["POST"]),
                Route("/__fake__/requests", self._control_requests, methods=["GET"]),
            ]
        )

    # -- the Python control API -----------------------------------------------------------------

    def set_mode(self, account: str, mode: str, *, times: int | None = None) -> None:
        """Answer the account (its ``a1`` value) with ``mode``: from now on, or ``times`` times."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        with self._lock:
            if times is None:
                self._standing[account] = mode
                self._queued.pop(account, None)
            else:
                self._queued.setdefault(account, deque()).extend([mode] * times)

    def reset(self) -> None:
        with self._lock:
            self._standing.clear()
            self._queued.clear()
            self._received.clear()
        self.require_signature = False

    @property
    def received(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._received)

    def received_by(self, account: str) -> list[ReceivedRequest]:
        return [request for request in self.received if request.account == account]

    def _next_mode(self, account: str | None) -> str:
        with self._lock:
            if account is None:
                return "ok"
            queued = self._queued.get(account)
            if queued:
                return queued.popleft()
            return self._standing.get(account, "ok")

    # -- the endpoint ---------------------------------------------------------------------------

    def _problems(self, request: Request, cookies: Mapping[str, str]) -> list[str]:
        problems: list[str] = []
        params = request.query_params
        user_id = params.get("userId", "")
        if not _USER_ID.fullmatch(user_id):
            problems.append(f"userId must be 24 lowercase hex characters; got {user_id!r}")
        for name, allowed in PARAM_VALUES.items():
            if params.get(name) not in allowed:
                problems.append(
                    f"{name} must be one of {sorted(allowed)}; got {params.get(name)!r}"
                )
        extra = set(params) - {"userId", *PARAM_VALUES}
        if extra:
            problems.append(f"unexpected query parameters {sorted(extra)}")
        agent = request.headers.get("user-agent", "")
        if not agent.startswith("Mozilla/5.0") or "python" in agent.lower():
            problems.append(f"User-Agent is not a desktop browser's: {agent!r}")
        referer = request.headers.get("referer")
        if referer != f"{REFERER_PREFIX}{user_id}":
            problems.append(f"Referer must be the creator's blogger-detail page; got {referer!r}")
        if not _TRACE_ID.fullmatch(request.headers.get("x-b3-traceid", "")):
            problems.append("X-B3-Traceid must be 16 lowercase hex characters")
        if "application/json" not in request.headers.get("accept", ""):
            problems.append("Accept must include application/json")
        if ACCOUNT_COOKIE not in cookies:
            problems.append("the a1 cookie is missing")
        return problems

    async def _notes_rate(self, request: Request) -> Response:
        cookies = _cookies_of(request.headers)
        account = cookies.get(ACCOUNT_COOKIE)
        problems = self._problems(request, cookies)
        logged_in = any(name in cookies for name in LOGIN_COOKIES)
        mode = self._next_mode(account)
        if self.require_signature and not problems and logged_in:
            path_and_query = f"{request.url.path}?{request.url.query}"
            if request.headers.get("x-s") != signature(path_and_query, account or ""):
                mode = "http_406"
        with self._lock:
            self._received.append(
                ReceivedRequest(
                    method=request.method,
                    host=request.headers.get("host", ""),
                    path=request.url.path,
                    query_string=request.url.query,
                    params=dict(request.query_params),
                    headers={name.lower(): value for name, value in request.headers.items()},
                    cookies=cookies,
                    account=account,
                    mode=mode,
                    problems=problems,
                )
            )
        if problems:
            return JSONResponse(
                {"code": -9999, "success": False, "msg": "; ".join(problems), "data": None},
                status_code=400,
            )
        if not logged_in:
            return _envelope(-100, "无登录信息", status=200)
        if self.latency_seconds:
            await anyio.sleep(self.latency_seconds)
        return await self._answer(mode, request)

    async def _answer(self, mode: str, request: Request) -> Response:
        if mode == "ok":
            return JSONResponse(
                {"code": 0, "success": True, "msg": "成功", "data": self.data},
                headers={"content-type": "application/json;charset=UTF-8"},
            )
        if mode == "http_401":
            return _envelope(-100, "无登录信息", status=401)
        if mode.startswith("code_") and mode != "code_unknown":
            code = int(mode.removeprefix("code_"))
            message = {300013: "访问频次异常，请勿频繁操作或重启试试"}.get(code, "登录已过期")
            if code == -100:
                message = "无登录信息"
            return _envelope(code, message, status=200)
        if mode == "code_unknown":
            return _envelope(12345, "未知错误", status=200)
        if mode == "html_login":
            return Response(LOGIN_PAGE, media_type="text/html")
        if mode == "redirect_login":
            return Response(status_code=302, headers={"location": "/solar/login?redirect=%2F"})
        if mode in ("http_406", "http_461", "http_429", "http_403"):
            return Response(status_code=int(mode.removeprefix("http_")))
        if mode == "http_500":
            return _envelope(500, "服务器内部错误", status=500)
        if mode == "http_502":
            return Response(BAD_GATEWAY, status_code=502, media_type="text/html")
        if mode == "malformed_json":
            return Response(
                '{"code": 0, "success": true, "msg": "成功", "data": {"noteNumber": 3, "vid',
                media_type="application/json",
            )
        if mode == "data_null":
            return JSONResponse({"code": 0, "success": True, "msg": "成功", "data": None})
        if mode == "data_list":
            return JSONResponse({"code": 0, "success": True, "msg": "成功", "data": []})
        if mode == "data_without_note_number":
            data = {k: v for k, v in self.data.items() if k != "noteNumber"}
            return JSONResponse({"code": 0, "success": True, "msg": "成功", "data": data})
        if mode == "timeout":
            with anyio.move_on_after(self.hang_seconds):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
            return Response(status_code=504)
        raise AssertionError(f"unhandled mode {mode!r}")

    # -- the control endpoints ------------------------------------------------------------------

    async def _control_mode(self, request: Request) -> Response:
        body = await request.json()
        try:
            self.set_mode(str(body["account"]), str(body["mode"]), times=body.get("times"))
        except (KeyError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"ok": True})

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _control_requests(self, request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "host": r.host,
                    "params": r.params,
                    "headers": r.headers,
                    "account": r.account,
                    "mode": r.mode,
                    "problems": r.problems,
                    "at": r.at,
                }
                for r in self.received
            ]
        )


def _envelope(code: int, message: str, *, status: int) -> Response:
    return JSONResponse(
        {"code": code, "success": False, "msg": message, "data": None}, status_code=status
    )
