"""``pgy mcp``: the Model Context Protocol server for AI assistants (docs/mcp.md).

Standard output is the protocol channel on stdio, so everything for a person goes to stderr
(``say``); the token comes from ``--token`` or ``PGY_TOKEN`` and is never printed.
"""

from __future__ import annotations

from typing import cast

import typer

from pgy_metrics.cli.connect import base_url_option, env_option, token_option
from pgy_metrics.cli.messages import USAGE_EXIT, fail, say
from pgy_metrics.client._constants import (
    BASE_URL_ENV_VAR,
    DEFAULT_ENV,
    ENVIRONMENTS,
    TOKEN_ENV_VAR,
    Environment,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _checked_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(LOG_LEVELS)}; got {value!r}")
    return value.upper()


def mcp(
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
    http: bool = typer.Option(
        False, "--http", help="Serve streamable HTTP on --host/--port instead of stdio."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Where --http listens."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Where --http listens."),
    log_level: str = typer.Option(
        "WARNING",
        "--log-level",
        help="DEBUG, INFO, WARNING or ERROR: what the server logs on stderr (never the token).",
        callback=_checked_level,
    ),
    max_billable_calls: int | None = typer.Option(
        None,
        "--max-billable-calls",
        min=0,
        help=(
            "Most billable calls the tools may make in one MCP session (the process on stdio; "
            "each session over --http has its own); a tool call that would go past it is "
            "refused, saying how many calls it needs. Answers the server says were free "
            "(X-Pgy-Charged: 0) do not count."
        ),
        show_default="no limit",
    ),
) -> None:
    """Serve the API to an AI assistant over MCP: one tool per endpoint, creator_overview,
    compare_creators, benchmark_pool and plan_campaign, within a budget of billable calls."""
    import anyio

    from pgy_metrics.client import AsyncClient
    from pgy_metrics.mcp_server import SessionBudgets, build_server, serve
    from pgy_metrics.mcp_server.app import LogLevel

    if not token:
        raise fail(
            f"no API token: give --token TOKEN or set {TOKEN_ENV_VAR} (on your own server, "
            "`pgy token create --name NAME` makes one)",
            code=USAGE_EXIT,
        )
    chosen = cast(Environment | None, env)

    def make_client() -> AsyncClient:
        return AsyncClient(token=token, base_url=base_url, env=chosen)

    make_client()  # a bad token or URL is a usage error now, not at the first tool call
    if base_url is None:
        where = ENVIRONMENTS.get(env or DEFAULT_ENV, "the faster hosted host")
        say(f"calling the hosted API at {where} (give --base-url or {BASE_URL_ENV_VAR})")
    server, tools = build_server(
        make_client,
        token=token,
        budgets=SessionBudgets(max_billable_calls),
        host=host,
        port=port,
        log_level=cast(LogLevel, log_level),
    )
    if http:
        say(f"pgy mcp: streamable HTTP on http://{host}:{port}/mcp")
    anyio.run(lambda: serve(server, tools, http=http))
