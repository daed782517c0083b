"""Serve any ASGI app under uvicorn on a free 127.0.0.1 port, in a background thread.

Real HTTP on loopback (style rule 8) without starting a process::

    with serve_on_loopback(app) as base_url:
        httpx.get(f"{base_url}/path")

    async with aserve_on_loopback(app) as base_url:  # same, from async code
        ...

The socket is bound before the server starts, so there is no race for a "free" port, and the
server runs its own event loop in its own thread, so blocking test code cannot stall it.

Logging: uvicorn's logging configuration (``log_config``) is left alone, and the access log is off
by default (query strings may hold tokens). Note that uvicorn implements ``access_log=False`` by
emptying the process-wide ``uvicorn.access`` logger's handlers and turning its propagation off,
and that pytest's log capture still attaches to that logger: a caplog test sees access lines.
Pass ``access_log=True`` to keep them deliberately.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn

__all__ = ["LoopbackServer", "aserve_on_loopback", "serve_on_loopback"]

STARTUP_SECONDS = 10.0
SHUTDOWN_SECONDS = 10.0
GRACEFUL_SHUTDOWN_SECONDS = 3
"""Requests still running when the server stops are cancelled after this long."""


class _Server(uvicorn.Server):
    """A uvicorn server that tells the starting thread when it accepts connections."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class LoopbackServer:
    """One ASGI app on ``127.0.0.1:<free port>``; ``start()`` returns its base URL."""

    def __init__(self, app: Any, **config: Any) -> None:
        options: dict[str, Any] = {
            "log_config": None,
            "access_log": False,
            "lifespan": "auto",
            "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        }
        options.update(config)
        self._access_log = bool(options["access_log"])
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = _Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **options))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"loopback-{self.port}",
            daemon=True,
        )

    def start(self) -> str:
        if not self._access_log:
            # uvicorn empties this logger's handlers but pytest's capture still records its
            # lines, whose query strings may hold an upstream token: silence it outright.
            logging.getLogger("uvicorn.access").disabled = True
        self._thread.start()
        if not self._server.ready.wait(STARTUP_SECONDS):
            self.stop()
            raise RuntimeError(f"the loopback server on port {self.port} did not start")
        if not self._thread.is_alive():
            raise RuntimeError(f"the loopback server on port {self.port} exited at startup")
        return self.base_url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(SHUTDOWN_SECONDS)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"the loopback server on port {self.port} did not stop")


@contextmanager
def serve_on_loopback(app: Any, **config: Any) -> Iterator[str]:
    """Run ``app`` for the duration of the block; yields ``http://127.0.0.1:<port>``.

    ``config`` goes to ``uvicorn.Config`` (e.g. ``lifespan="off"``).
    """
    server = LoopbackServer(app, **config)
    base_url = server.start()
    try:
        yield base_url
    finally:
        server.stop()


@asynccontextmanager
async def aserve_on_loopback(app: Any, **config: Any) -> AsyncIterator[str]:
    """``serve_on_loopback`` for async code: starting and stopping never block the event loop."""
    server = LoopbackServer(app, **config)
    base_url = await asyncio.to_thread(server.start)
    try:
        yield base_url
    finally:
        await asyncio.to_thread(server.stop)
