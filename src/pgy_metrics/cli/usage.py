"""``pgy usage``: calls, credits and what is in flight, per token and quota day."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from pgy_metrics.cli.messages import say
from pgy_metrics.cli.tokens import run_with_issuer

if TYPE_CHECKING:
    from pgy_metrics.service.tokens import TokenIssuer
    from pgy_metrics.service.usage import UsageRow


def _since_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        from pgy_metrics.service.usage import parse_day

        return parse_day(value, name="since")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def usage(
    token: str | None = typer.Option(
        None, "--token", help="Only the token of this name.", show_default="every token"
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        help="From this quota day on (YYYY-MM-DD).",
        callback=_since_option,
        show_default="every day",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Show use per token and day: calls, credits, and calls in flight (reserved).

    A table on a terminal; JSON lines with --json or when stdout is not a terminal.
    """

    async def run(issuer: TokenIssuer) -> list[UsageRow]:
        return await issuer.usage(name=token, since=since)

    rows = run_with_issuer(run)
    if as_json or not sys.stdout.isatty():
        for row in rows:
            typer.echo(row.model_dump_json())
        return
    if not rows:
        say("No usage recorded" + (f" since {since}." if since else "."))
        return
    table = Table("token", "day", "calls", "credits", "reserved", "reserved credits")
    for row in rows:
        table.add_row(
            row.name,
            row.day,
            f"{row.calls:,}",
            f"{row.credits:,}",
            f"{row.reserved:,}",
            f"{row.reserved_credits:,}",
        )
    table.columns[2].justify = table.columns[3].justify = "right"
    table.columns[4].justify = table.columns[5].justify = "right"
    Console().print(table)
