"""``create_app(settings)``: the FastAPI application, built per call (no import-time state).

The app is the edge: the composition of the objects it serves with is the service layer's
(``build_runtime``), the endpoints answer through the gate (``EndpointsLayer``), and the
routes here are the admin API, status, metrics, probes and the index page.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from pgy_metrics import __version__
from pgy_metrics.clock import Clock
from pgy_metrics.contract.endpoints import ENDPOINTS, Registry
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.server import caps, console, docs_pages, methods
from pgy_metrics.server.answers import SuccessEncoder
from pgy_metrics.server.openapi import add_endpoints
from pgy_metrics.server.routes import (
    accounts,
    admin,
    documents,
    endpoints,
    index,
    metrics,
    probes,
    status,
    watchlists,
)
from pgy_metrics.server.routes.metrics import build_registry
from pgy_metrics.service.config import FileConfig
from pgy_metrics.service.runtime import Runtime, build_runtime
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import Source


class Server(FastAPI):
    """FastAPI with the endpoints answered in front of its middleware stack.

    Every request for a registered endpoint meets ``EndpointsLayer`` first; only the others
    enter the framework (its error, telemetry and body-limit middleware, routing, dependency
    solving). Installed as a middleware instead, the layer paid for the framework's outer
    layers on every cached hit, the request this server answers most
    (``benchmarks/serve_cached.py``). The layer catches its own errors (a generic 500
    envelope), as the framework's error middleware would have.
    """

    def __init__(self, *, runtime: Runtime, **options: Any) -> None:
        super().__init__(**options)
        self._front = endpoints.EndpointsLayer(self._framework, runtime=runtime)
        settings = runtime.settings
        self._max_url_bytes = settings.max_url_bytes
        self._max_body_bytes = settings.max_body_bytes
        admin_address = settings.admin_address
        self._admin_port = None if admin_address is None else admin_address[1]

    async def _framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) + len(scope["query_string"]) >= self._max_url_bytes:
            query = scope["query_string"]
            length = len(path) + 1 + len(query)
            answer = caps.url_refusal(
                path, query, length, self._max_url_bytes, endpoint=False, request_id=""
            )
            await caps.send_answer(send, answer)
        elif not path.startswith("/admin"):
            await super().__call__(scope, receive, send)
        elif self._admin_port is not None and (scope.get("server") or ("", 0))[1] != (
            self._admin_port
        ):
            # PGY_ADMIN_LISTEN: the admin API is not on this listener.
            await caps.send_answer(send, caps.problem(404, "Not Found"))
        else:
            await caps.read_capped_body(
                super().__call__, scope, receive, send, self._max_body_bytes
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._front(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    source: Source | None = None,
    clock: Clock | None = None,
    config: FileConfig | None = None,
    endpoints_registry: Registry = ENDPOINTS,
) -> FastAPI:
    """Build the server. ``source`` and ``clock`` are injectable for tests and embedding;
    ``config`` (a settings file) supplies the ordered upstream sources; ``endpoints_registry``
    the endpoints served (tests and embedders may add their own)."""
    runtime = build_runtime(
        settings,
        encode=SuccessEncoder(settings.zone),
        source=source,
        clock=clock,
        config=config,
        endpoints=endpoints_registry,
    )
    store = runtime.store
    health = runtime.health

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.migrate()
        await runtime.reap()
        background = [
            asyncio.create_task(runtime.reap_forever(), name="reaper"),
            asyncio.create_task(
                health.flush_forever(settings.health_flush_seconds), name="health-flush"
            ),
        ]
        refresher = None
        if runtime.queue is None:
            # Inline collection (SQLite's embedded default): this server refreshes watchlists
            # itself; in queue mode the workers' scheduler does (service.watch_refresh).
            from pgy_metrics.service.watch_refresh import InlineSubmit, WatchRefresher

            refresher = InlineSubmit(runtime.service, runtime.clock)
            background.append(
                asyncio.create_task(
                    WatchRefresher(
                        store, runtime.clock, refresher, endpoints=runtime.endpoints
                    ).refresh_forever(),
                    name="watchlists",
                )
            )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if refresher is not None:
                await refresher.aclose()
            with contextlib.suppress(Exception):
                await health.flush()  # what was counted since the last flush
            await runtime.aclose()

    app = Server(
        runtime=runtime,
        title="pgy-metrics",
        version=__version__,
        summary="Xiaohongshu Pugongying Note Performance Metrics API (self-hosted)",
        lifespan=lifespan,
        docs_url=None,  # /docs is ours (docs_pages): Swagger UI and ReDoc load from a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics_registry, latency = build_registry(runtime)
    health.latency = latency
    app.include_router(index.router)
    app.include_router(probes.router)
    app.include_router(status.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(admin.holder_router)
    app.include_router(accounts.router)
    app.include_router(watchlists.router)
    app.include_router(documents.router)
    app.include_router(docs_pages.router)
    app.include_router(console.router)
    # Last, so that they cost other routes nothing: 405 for any method but GET on the endpoints.
    app.router.routes.extend(
        methods.get_only_routes([*(s.path for s in runtime.endpoints.values()), HISTORY_PATH])
    )
    app.add_exception_handler(HTTPException, methods.http_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            app.openapi_schema = add_endpoints(schema, runtime.endpoints)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
