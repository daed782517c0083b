"""A loopback stand-in for Pugongying's notesRate endpoint, for ``cluster_collection.py``.

A plain ASGI app (no framework: its own clock must not lag behind the calls it records) that
answers every ``GET /api/solar/kol/dataV3/notesRate`` with Pugongying's success envelope after a
fixed latency (default 300 ms), and records for every call, **on arrival**, the time (epoch
seconds), the account (the value of its ``a1`` cookie: the benchmark's cookie files give every
account a distinct one) and the key (the query string's parameters, sorted: creator × scope).
``GET /_calls`` returns them as ``[[at, account, key], ...]`` without being recorded itself.

The ``data`` is the sandbox source's answer for one creator on a fixed day, built once: the
benchmark measures the cluster's pacing and queue, not parsing variety. Nothing is logged
(access log off: a real upstream's logs are not ours to fill).

Run on loopback under uvicorn, one process::

    python benchmarks/pugongying_upstream.py --port 8002 [--latency 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import UTC, date, datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import UPSTREAM_NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE, Scope
from pgy_metrics.sources.sandbox import SandboxSource

HOST = "127.0.0.1"
CALLS_PATH = "/_calls"
DEFAULT_LATENCY = 0.3
"""Seconds before every answer (the issue's figure for Pugongying)."""
DATA_DAY = date(2026, 11, 27)

AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class PugongyingUpstream:
    """The ASGI app (see the module doc)."""

    def __init__(self, *, latency: float) -> None:
        self.latency = latency
        self.calls: list[tuple[float, str, str]] = []
        data = SandboxSource(clock=FixedClock(datetime(2026, 11, 27, tzinfo=UTC))).generate(
            USER_ID_EXAMPLE, Scope(), day=DATA_DAY
        )
        self._body = json.dumps(
            {"code": 0, "success": True, "msg": "成功", "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == UPSTREAM_NOTES_RATE_PATH:
            arrived = time.time()
            params = sorted(parse_qsl(scope["query_string"].decode("latin-1")))
            key = "&".join(f"{name}={value}" for name, value in params)
            self.calls.append((arrived, _account(scope), key))
            await asyncio.sleep(max(0.0, self.latency - (time.time() - arrived)))
            await _respond(send, 200, self._body)
        elif scope["path"] == CALLS_PATH:
            await _respond(send, 200, json.dumps(self.calls).encode())
        else:
            await _respond(send, 404, b'{"detail":"Not Found"}')


def _account(scope: AsgiScope) -> str:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if "a1" in jar:
                return jar["a1"].value
    return ""


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json;charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY)
    args = parser.parse_args(argv)
    uvicorn.run(
        PugongyingUpstream(latency=args.latency),
        host=HOST,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )


if __name__ == "__main__":
    main()
