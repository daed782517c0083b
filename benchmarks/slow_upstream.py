"""A slow, rate-limited stand-in for the hosted API, for ``batch_throughput.py``.

A plain ASGI app on the contract's notesRate path that answers our envelope after a fixed latency
(default 200 ms) and allows at most ``rate`` requests per rolling ``window`` seconds per token
(default 20 per 1 s). Beyond that it answers code 302 with a ``Retry-After`` header, as the hosted
API does. The limit is exact: each token keeps the arrival times of the requests it was allowed in
a deque, and a request is refused when ``rate`` of them arrived in the last ``window`` seconds. So
any request above the limit, at any moment, is seen and counted. Refused requests do not count
against the window; they take the same latency as any answer.

Every success is the same ``data`` object (the sandbox source's answer for one creator on a fixed
day, built once at start-up); only ``requestId`` differs. ``GET /_stats?token=T`` returns, for one
token, the answers by code and the most requests allowed in any rolling window, without being
counted or rate-limited itself. The query string is never logged (access log off).

Run on loopback under uvicorn, one process, one worker::

    python benchmarks/slow_upstream.py --port 8001 [--latency 0.2] [--rate 20] [--window 1]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.envelope import encode_envelope
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, Scope, parse_user_id
from pgy_metrics.sources.sandbox import SandboxSource

HOST = "127.0.0.1"
STATS_PATH = "/_stats"
DEFAULT_LATENCY = 0.2
"""Seconds before every answer: the hosted API's collection time, roughly."""
DEFAULT_RATE = 20
"""Requests allowed per token per window."""
DEFAULT_WINDOW = 1.0
DATA_DAY = date(2026, 11, 27)
RECORD_TIME = "2026-11-27T12:00:00.000000"

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class TokenState:
    """One token's rolling window of allowed arrivals and its answer counts."""

    allowed: deque[float] = field(default_factory=deque)
    answers: Counter[int] = field(default_factory=Counter)
    peak_in_window: int = 0


class SlowUpstream:
    """The ASGI app (see the module doc)."""

    def __init__(self, *, latency: float, rate: int, window: float) -> None:
        self.latency = latency
        self.rate = rate
        self.window = window
        self.tokens: dict[str, TokenState] = {}
        self._ids = itertools.count(1)
        data = SandboxSource(clock=FixedClock(datetime(2026, 11, 27, tzinfo=UTC))).generate(
            USER_ID_EXAMPLE, Scope(), day=DATA_DAY
        )
        self._data_json = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        if scope["path"] == STATS_PATH:
            await self._stats(params.get("token", ""), send)
        elif scope["path"] == NOTES_RATE_PATH:
            await self._notes_rate(params, send)
        else:
            await _respond(send, 404, b'{"detail":"Not Found"}')

    def admit(self, token: str, now: float) -> float | None:
        """None if the request is allowed (and recorded), else the seconds until it would be."""
        state = self.tokens.setdefault(token, TokenState())
        allowed = state.allowed
        while allowed and allowed[0] <= now - self.window:
            allowed.popleft()
        if len(allowed) >= self.rate:
            return allowed[0] + self.window - now
        allowed.append(now)
        state.peak_in_window = max(state.peak_in_window, len(allowed))
        return None

    async def _notes_rate(self, params: dict[str, str], send: Send) -> None:
        arrived = time.monotonic()  # the limit is decided on arrival, before the latency
        token = params.get("token", "")
        headers: list[tuple[bytes, bytes]] = []
        if not token:
            code, message, data = BusinessCode.INVALID_TOKEN, "invalid token", None
        else:
            wait = self.admit(token, arrived)
            if wait is not None:
                code, message, data = BusinessCode.RATE_LIMITED, "rate limit exceeded", None
                headers.append((b"retry-after", str(max(1, math.ceil(wait))).encode()))
            else:
                try:
                    parse_user_id(params.get("userId"))
                    Scope.from_params(params)
                except ParamError as error:
                    code, message, data = BusinessCode.INVALID_PARAMS, error.message, None
                else:
                    code, message, data = BusinessCode.SUCCESS, None, self._data_json
            self.tokens[token].answers[int(code)] += 1
        body = encode_envelope(
            code=int(code),
            message=message,
            data_json=data,
            record_time=RECORD_TIME if data is not None else None,
            request_id=f"slow-{next(self._ids)}",
        )
        await asyncio.sleep(max(0.0, arrived + self.latency - time.monotonic()))
        await _respond(send, 200, body, headers)

    async def _stats(self, token: str, send: Send) -> None:
        state = self.tokens.get(token, TokenState())
        body = {
            "answers": {str(code): n for code, n in sorted(state.answers.items())},
            "peak_in_window": state.peak_in_window,
            "rate": self.rate,
            "window": self.window,
            "latency": self.latency,
        }
        await _respond(send, 200, json.dumps(body).encode())


async def _respond(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE)
    parser.add_argument("--window", type=float, default=DEFAULT_WINDOW)
    args = parser.parse_args(argv)
    app = SlowUpstream(latency=args.latency, rate=args.rate, window=args.window)
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        log_level="warning",
        access_log=False,  # query strings hold tokens
        lifespan="off",
        server_header=False,
    )


if __name__ == "__main__":
    main()
