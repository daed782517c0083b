"""``pgy serve``: migrate, make the first admin token on an empty database, run uvicorn."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import typer
from rich.console import Console

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE

if TYPE_CHECKING:
    from pgy_metrics.server.auth import IssuedToken
    from pgy_metrics.server.config import FileConfig
    from pgy_metrics.server.settings import Settings

stderr = Console(stderr=True)


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on [default: 127.0.0.1]."),
    port: int | None = typer.Option(None, help="TCP port [default: 8000]."),
    source: str | None = typer.Option(
        None, help="Where data comes from: sandbox (synthetic) or replay [default: sandbox]."
    ),
    replay_dir: Path | None = typer.Option(
        None, help="Folder of recorded payloads for --source replay."
    ),
    log_level: str | None = typer.Option(None, help="debug, info, warning or error."),
    config_file: Path | None = typer.Option(
        None,
        "--config",
        envvar="PGY_CONFIG",
        help="Settings file (TOML): server settings and the ordered upstream sources.",
    ),
) -> None:
    """Run the API server."""
    # The server stack is imported here, not at module level: other commands start without it.
    import uvicorn

    from pgy_metrics.server import redaction
    from pgy_metrics.server.app import create_app
    from pgy_metrics.server.config import load as load_config
    from pgy_metrics.server.config import settings_from

    file_config = load_config(config_file) if config_file is not None else None
    overrides = {
        "host": host,
        "port": port,
        "source": source,
        "replay_dir": replay_dir,
        "log_level": log_level,
    }
    settings = (
        settings_from(file_config, **overrides)
        if file_config is not None
        else load_settings(**overrides)
    )
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
    )
    # Tokens travel in the query string: redact them before uvicorn's access log prints them.
    redaction.configure(settings.log_level)
    sources = _sources_label(settings, file_config)
    stderr.print(
        f"pgy-metrics serving on {settings.base_url} (source: {sources}, "
        f"store: {_store_label(settings)})",
        soft_wrap=True,
        highlight=False,
    )
    # Everything alive now lives as long as the server: keep it out of the collector's
    # generations, which shortens the pauses that make the latency tail.
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run()


async def _prepare(settings: Settings) -> IssuedToken | None:
    async with open_issuer(settings) as issuer:
        return await issuer.create_first_admin()


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
    stderr.print(
        "\nThe database had no API token, so an admin token was created.\n"
        "It is shown only this once; store it now:\n\n"
        f"    {admin.token}\n\nTry it:\n\n    curl '{url}'\n",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
