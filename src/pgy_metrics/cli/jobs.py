"""``pgy jobs``: the collection queue's jobs (queued, running, done, failed) with counts."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from pgy_metrics.cli.common import load_settings
from pgy_metrics.cli.messages import USAGE_EXIT, fail, say

if TYPE_CHECKING:
    from pgy_metrics.service.jobs import JobRow

NO_QUEUE = (
    "pgy jobs reads the collection queue, which lives in PostgreSQL (PGY_DATABASE_URL="
    "postgresql+psycopg://...). On SQLite, pgy serve collects in-process: there are no jobs."
)
STATUS_CHOICES = "queued, running, done, failed, cancelled or aborted"


def _status_option(value: str | None) -> str | None:
    if value is None:
        return None
    from pgy_metrics.service.jobs import status_option

    try:
        return status_option(value)
    except ValueError as problem:
        raise typer.BadParameter(str(problem)) from None


def jobs(
    status: str | None = typer.Option(
        None,
        "--status",
        help=f"Only jobs in this state: {STATUS_CHOICES}.",
        callback=_status_option,
        show_default="every state",
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Newest jobs shown."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object: counts by state and the jobs."
    ),
) -> None:
    """Show the collection queue: counts by state and the newest jobs.

    A table on a terminal; JSON with --json or when stdout is not a terminal.
    """
    settings = load_settings(collect="inline")
    if settings.resolved_database_url.startswith("sqlite"):
        raise fail(NO_QUEUE, code=USAGE_EXIT)
    counts, rows = asyncio.run(_read(settings.resolved_database_url, status, limit))
    if as_json or not sys.stdout.isatty():
        typer.echo(
            json.dumps(
                {"counts": counts, "jobs": [row.as_json() for row in rows]}, ensure_ascii=False
            )
        )
        return
    say("  ".join(f"{word}: {count}" for word, count in counts.items()))
    if not rows:
        say("No jobs" + (" in that state." if status else " yet."))
        return
    table = Table("id", "state", "endpoint", "userId", "scope", "attempts", "scheduled", "message")
    for row in rows:
        shown = row.as_json()
        table.add_row(
            str(row.id),
            str(shown["status"]),
            row.endpoint,
            row.user_id,
            row.scope,
            str(row.attempts),
            row.scheduled_at.isoformat(timespec="seconds") if row.scheduled_at else "",
            row.message or "",
        )
    Console().print(table)


async def _read(url: str, status: str | None, limit: int) -> tuple[dict[str, int], list[JobRow]]:
    from pgy_metrics.service.jobs import CollectionQueue

    queue = CollectionQueue(url)
    try:
        return await queue.counts(), await queue.jobs(status=status, limit=limit)
    finally:
        await queue.aclose()
