"""A real local HTTP receiver for the account webhook: records every POST (time, path, body)
and answers the statuses it is told to, in order (then 200). Serve ``receiver.app`` with
``tests.upstreams.loopback.serve_on_loopback``."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    content_type: str
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, *, statuses: list[int] | None = None) -> None:
        self._lock = threading.Lock()
        self._statuses = list(statuses or [])
        self._received: list[Delivery] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    @property
    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self._received)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self._received.append(
                Delivery(request.url.path, body, request.headers.get("content-type", ""))
            )
            status = self._statuses.pop(0) if self._statuses else 200
        return JSONResponse({"ok": status < 300}, status_code=status)
