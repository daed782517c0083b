"""The baseline of ``serve_cached.py``: a bare ASGI app that answers every request with fixed bytes.

It exists so the benchmark can say how much of a cached hit's cost is ours (FastAPI routing, token
check, cache look-up, envelope) and how much is the server underneath (uvicorn, the event loop,
HTTP parsing, the access log), which no amount of work in ``pgy_metrics`` can remove. To be that
floor it must differ from ``pgy serve`` only in the app: no framework, no work per request, and
the same uvicorn options as ``pgy_metrics.cli.serve`` (keep the two in step).

Run by ``serve_cached.py`` as its own process::

    python benchmarks/bare_app.py --port 8001 --response-dir DIR

``DIR`` holds ``body`` (the exact bytes of a cached hit captured from the full stack) and
``headers.json`` (its response headers, ``date`` excluded since uvicorn adds it to both).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HOST = "127.0.0.1"
"""``pgy serve``'s default host (``Settings.host``)."""
LOG_LEVEL = "info"
"""``pgy serve``'s default log level (``Settings.log_level``): uvicorn's access log is on."""


def make_app(body: bytes, headers: list[tuple[bytes, bytes]]) -> ASGIApp:
    """A plain ASGI callable: no routing, no parsing, the same bytes for every HTTP request.

    The start message is built once, as a framework-free server would; lifespan is answered so
    uvicorn starts and stops it exactly as it does the FastAPI app.
    """
    start: Message = {"type": "http.response.start", "status": 200, "headers": headers}
    payload: Message = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send(start)
            await send(payload)
            return
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    return app


def load_response(directory: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The captured body and headers; ``content-length`` is recomputed so it always matches."""
    body = (directory / "body").read_bytes()
    captured: list[list[str]] = json.loads((directory / "headers.json").read_text("utf-8"))
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in captured
        if name.lower() not in ("content-length", "date", "server")
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    return body, headers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--response-dir", type=Path, required=True)
    args = parser.parse_args()
    body, headers = load_response(args.response_dir)
    # The same options as pgy_metrics.cli.serve: loop and http left to uvicorn's "auto" (uvloop and
    # httptools when installed), one worker, default access log, no Server header.
    config = uvicorn.Config(
        make_app(body, headers),
        host=HOST,
        port=args.port,
        log_level=LOG_LEVEL,
        server_header=False,
        timeout_graceful_shutdown=30,  # pgy serve's PGY_SHUTDOWN_GRACE_SECONDS default
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
