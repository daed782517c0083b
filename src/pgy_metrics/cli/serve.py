"""``pgy serve``: migrate, make the first admin token on an empty database, run uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.cli.messages import USAGE_EXIT, fail, say
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pgy_metrics.service.config import FileConfig
    from pgy_metrics.service.settings import Settings
    from pgy_metrics.service.tokens import IssuedToken


def serve(
    host: str | None = typer.Option(
        None, help="Interface to listen on (PGY_HOST).", show_default="127.0.0.1"
    ),
    port: int | None = typer.Option(None, help="TCP port (PGY_PORT).", show_default="8000"),
    source: str | None = typer.Option(
        None,
        help="Where data comes from: sandbox (synthetic) or replay (PGY_SOURCE).",
        show_default="sandbox",
    ),
    replay_dir: Path | None = typer.Option(
        None,
        help="Folder of recorded payloads for --source replay (PGY_REPLAY_DIR).",
        show_default="none",
    ),
    log_level: str | None = typer.Option(
        None, help="debug, info, warning or error (PGY_LOG_LEVEL).", show_default="info"
    ),
    collect: str | None = typer.Option(
        None,
        "--collect",
        help="inline (this process collects a cache miss) or queue (a `pgy worker` does; "
        "PostgreSQL only) (PGY_COLLECT).",
        show_default="inline",
    ),
    config_file: Path | None = typer.Option(
        None,
        "--config",
        envvar="PGY_CONFIG",
        help="Settings file (TOML): server settings and the ordered upstream sources.",
        show_default="none: PGY_* variables and options only",
    ),
) -> None:
    """Run the API server."""
    # The server stack is imported here, not at module level: other commands start without it.
    import uvicorn

    from pgy_metrics.server import caps, redaction
    from pgy_metrics.server.app import create_app
    from pgy_metrics.server.process import GracefulServer
    from pgy_metrics.service.config import ConfigError, settings_from
    from pgy_metrics.service.config import load as load_config

    try:
        file_config = load_config(config_file) if config_file is not None else None
    except ConfigError as problem:
        raise fail(f"--config {problem}", code=USAGE_EXIT) from None
    overrides = {
        "host": host,
        "port": port,
        "source": source,
        "replay_dir": replay_dir,
        "log_level": log_level,
        "collect": collect,
    }
    settings = (
        settings_from(file_config, **overrides)
        if file_config is not None
        else load_settings(**overrides)
    )
    # Bound before anything is announced: a taken port ends here, with one line and a hint.
    listener = bind(settings.host, settings.port)
    if settings.port == 0:
        settings = settings.model_copy(update={"port": listener.getsockname()[1]})
    listeners = [listener]
    admin_address = settings.admin_address
    if admin_address is not None:
        try:
            listeners.append(bind(*admin_address, option="PGY_ADMIN_LISTEN"))
        except BaseException:
            listener.close()
            raise
    with contextlib.ExitStack() as cleanup:
        for each in listeners:  # closed by uvicorn too when it runs; twice is harmless
            cleanup.callback(each.close)
        admin = asyncio.run(_prepare(settings))
        if admin is not None:
            _announce_admin(settings, admin)
        app = create_app(settings, config=file_config)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            server_header=False,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            http=_protocol(settings, app),
            # Only when httptools is missing (h11 serves): the whole head is bounded there.
            h11_max_incomplete_event_size=caps.PARSER_URL_BYTES + settings.max_header_bytes,
        )
        # Tokens travel in the query string: redact them before uvicorn's access log prints them.
        redaction.configure(settings.log_level)
        say(
            f"pgy-metrics serving on {settings.base_url} (source: "
            f"{_sources_label(settings, file_config)}, store: {_store_label(settings)}"
            f"{', collection: queue, run by pgy worker' if settings.collect == 'queue' else ''}); "
            f"open {settings.base_url}/ in a browser, Ctrl-C stops"
        )
        say(f"web console: {settings.base_url}/console (sign in with an API token)")
        # Everything alive now lives as long as the server: keep it out of the collector's
        # generations, which shortens the pauses that make the latency tail.
        gc.collect()
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
        if admin_address is not None:
            say(f"admin API (/admin/*) only on http://{settings.admin_listen}")
        GracefulServer(config).run(sockets=listeners)


YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (CPython's default: 700).

A request allocates a few hundred objects that die with it (reference counting frees them; the
collector only finds cycles), so at the default the collector ran every two or three requests
and took about 4 % of a cached hit's CPU, against under 0.1 % with this threshold (``perf
record`` of a saturated server); throughput rose by about a tenth
(``benchmarks/serve_cached.py``). Cyclic garbage waits a little longer: a few megabytes at most."""


def _protocol(settings: Settings, app: FastAPI) -> type[Any] | str:
    """uvicorn's HTTP protocol with the caps on heads (``server.caps``), or h11 without
    httptools (a platform with no wheel for it)."""
    from pgy_metrics.contract.history import HISTORY_PATH
    from pgy_metrics.server import caps
    from pgy_metrics.server.answers import RequestIds

    runtime = app.state.runtime
    paths = [*(spec.path for spec in runtime.endpoints.values()), HISTORY_PATH]
    try:
        return caps.bounded_protocol(
            max_url_bytes=settings.max_url_bytes,
            max_header_bytes=settings.max_header_bytes,
            endpoint_paths=paths,
            new_request_id=RequestIds().new,
        )
    except ImportError:
        return "h11"


def bind(host: str, port: int, *, option: str | None = None) -> socket.socket:
    """A TCP socket bound to ``host:port`` (uvicorn listens on it), or exit 2 with one line
    naming the option to change (``option``, when not --host/--port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart can reuse the port at once (a port in use still fails).
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as problem:
        listener.close()
        message = _bind_problem(host, port, problem)
        if option is not None:
            message = f"{option}: {message.split(': choose')[0]}: choose another {option}"
        raise fail(message, code=USAGE_EXIT) from None
    return listener


def _bind_problem(host: str, port: int, problem: OSError) -> str:
    if problem.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another pgy serve?): choose another "
            "with --port (or PGY_PORT)"
        )
    if problem.errno == errno.EACCES:
        return (
            f"not allowed to listen on port {port} on {host} (ports below 1024 need privileges): "
            "choose another with --port (or PGY_PORT)"
        )
    reason = problem.strerror or str(problem)
    return (
        f"cannot listen on {host}:{port} ({reason}): choose an address of this machine with "
        "--host (or PGY_HOST), e.g. 127.0.0.1 or 0.0.0.0"
    )


async def _prepare(settings: Settings) -> IssuedToken | None:
    """Migrate, check the store takes writes, and make the first admin token if none exists."""
    from pgy_metrics.store.database import Store

    if settings.collect == "queue":
        # The queue's tables now, not on the first miss (once per database: a lock decides).
        from pgy_metrics.service.jobs import CollectionQueue

        await CollectionQueue(settings.resolved_database_url).ensure_schema()
    async with open_issuer(settings) as issuer:
        admin = await issuer.create_first_admin()
    store = Store(settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        await store.check_writable()
    finally:
        await store.aclose()
    return admin


def _sources_label(settings: Settings, file_config: FileConfig | None) -> str:
    if file_config is None or not file_config.sources:
        return settings.source
    kinds = " -> ".join(spec.type for spec in file_config.sources)
    return f"{kinds} (failover)" if len(file_config.sources) > 1 else kinds


def _store_label(settings: Settings) -> str:
    from pgy_metrics.store.database import Store

    return Store(settings.resolved_database_url).describe()


def _announce_admin(settings: Settings, admin: IssuedToken) -> None:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    base = settings.base_url.replace(settings.host, host, 1)
    url = f"{base}{NOTES_RATE_PATH}?token={quote(admin.token)}&userId={USER_ID_EXAMPLE}"
    say(
        "\nThe database had no API token, so an admin token was created.\n"
        "It is shown only this once; store it now:\n\n"
        f"    {admin.token}\n\nTry it:\n\n    curl '{url}'\n"
    )
