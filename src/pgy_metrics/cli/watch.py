"""``pgy watch``: watchlists of creators × scopes that the server keeps fresh on a period.

``add`` reads creators as ``pgy batch`` does (text, CSV or XLSX; bad lines reported with their
line number) and scopes as ``pgy batch`` spells them; ``status`` puts the calls a day the lists
need against the account pool's capacity (``--config``: the settings file with the accounts).
Refreshes are made by the server side (``pgy worker`` in queue mode, ``pgy serve`` inline): see
``service.watch_refresh``; they are paid by the operator, never charged to a token.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pgy_metrics.cli.common import load_settings
from pgy_metrics.cli.messages import USAGE_EXIT, fail, say

if TYPE_CHECKING:
    from pgy_metrics.service.watchlists import Capacity, Watchlists

T = TypeVar("T")

app = typer.Typer(
    help="Watchlists: creators × scopes the server refreshes on a period, spread over it.",
    no_args_is_help=True,
)

LIST_HELP = "The watchlist's name."
CONFIG_HELP = "Settings file (TOML) naming the upstream accounts: the pool's capacity."
WHO_REFRESHES = {
    "sqlite": "refreshed by pgy serve (in-process, while it runs)",
    "postgresql": "refreshed by pgy worker (--collect queue) or by each inline pgy serve",
}


def _every(value: str) -> int:
    from pgy_metrics.service.watchlists import parse_every

    try:
        return parse_every(value)
    except ValueError as problem:
        raise typer.BadParameter(str(problem)) from None


def _list_name(value: str) -> str:
    from pgy_metrics.service.watchlists import check_list_name

    try:
        return check_list_name(value)
    except ValueError as problem:
        raise typer.BadParameter(str(problem)) from None


def _config_option() -> Any:
    return typer.Option(
        None,
        "--config",
        envvar="PGY_CONFIG",
        help=CONFIG_HELP,
        show_default="none: capacity not checked",
    )


@app.command("add")
def add(
    file: Path = typer.Argument(..., help="Creator ids: one per line, or a CSV/XLSX column."),
    scopes: str = typer.Option(
        "default",
        "--scopes",
        help="notes_rate's scopes as pgy batch takes them: default, all, daily, sponsored, "
        "core, analysis, or scope keys (comma-separated).",
    ),
    endpoints: str = typer.Option(
        "notes_rate",
        "--endpoints",
        help="Endpoints per creator as pgy batch takes them (notes_rate stands for --scopes).",
    ),
    every: str = typer.Option(
        "24h", "--every", help="Refresh period: 30m, 6h, 24h, 7d (s, m, h or d; at least 1m)."
    ),
    list_name: str = typer.Option("default", "--list", help=LIST_HELP, callback=_list_name),
    config_file: Path | None = _config_option(),
) -> None:
    """Watch every creator of FILE in these scopes (a new --every re-plans the whole list)."""
    from pgy_metrics.analytics.scopes import parse_scopes
    from pgy_metrics.cli.batch import endpoints_of, parse_endpoints
    from pgy_metrics.client.batch import EndpointScope
    from pgy_metrics.client.inputs import InputFileError, read_user_ids
    from pgy_metrics.contract.endpoints import NOTES_RATE
    from pgy_metrics.contract.params import ParamError

    period = _every(every)
    try:
        chosen = parse_endpoints(endpoints, parse_scopes(scopes))
        if scopes != "default" and NOTES_RATE not in endpoints_of(chosen):
            raise ParamError("--scopes", "--scopes applies to notes_rate, not in --endpoints")
    except ParamError as problem:
        raise fail(problem.message, code=USAGE_EXIT) from None
    keys = [
        (s.endpoint, ".".join(v for _, v in s.params) or "-")
        if isinstance(s, EndpointScope)
        else (NOTES_RATE, s.key)
        for s in chosen
    ]
    capacity = _capacity(config_file)
    try:
        read = read_user_ids(file)
    except InputFileError as problem:
        raise fail(str(problem), code=USAGE_EXIT) from None
    for bad in read.problems:
        say(f"skipped {file}:{bad.line}: {bad.describe()}")
    if not read.user_ids:
        raise fail(f"no valid creator id in {file}", code=USAGE_EXIT)

    async def run(watchlists: Watchlists) -> None:
        result = await watchlists.add(list_name, read.user_ids, keys, period)
        say(
            f"{len(read.user_ids)} creators × {len(keys)} scope(s); "
            f"{len(read.problems)} line(s) skipped"
        )
        say(result.describe())
        status = await watchlists.status()
        if status.warning:
            say(status.warning, style="yellow")

    kind = _with_watchlists(run, capacity)
    say(f"watchlist {list_name!r} is {WHO_REFRESHES[kind]}")


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Every watchlist: its period, creators and keys."""
    from pgy_metrics.service.watchlists import format_period

    async def run(watchlists: Watchlists) -> list[Any]:
        return await watchlists.lists()

    found: list[Any] = []

    async def keep(watchlists: Watchlists) -> None:
        found.extend(await run(watchlists))

    _with_watchlists(keep, None)
    if as_json or not sys.stdout.isatty():
        typer.echo(
            json.dumps(
                [
                    {
                        "name": w.name,
                        "every": format_period(w.period_seconds),
                        "creators": w.creators,
                        "keys": w.keys,
                        "createdAt": w.created_at.isoformat(timespec="seconds"),
                    }
                    for w in found
                ]
            )
        )
        return
    if not found:
        say("No watchlists yet: pgy watch add FILE --scopes ... --every 24h")
        return
    table = Table("name", "every", "creators", "keys", "created")
    for w in found:
        table.add_row(
            w.name,
            format_period(w.period_seconds),
            str(w.creators),
            str(w.keys),
            w.created_at.isoformat(timespec="seconds"),
        )
    Console().print(table)


@app.command("remove")
def remove(
    list_name: str = typer.Argument(..., help=LIST_HELP, callback=_list_name),
    user_ids: list[str] | None = typer.Argument(
        None, help="Creators to take off the list (ids or profile URLs); none: the whole list."
    ),
    file: Path | None = typer.Option(
        None,
        "--file",
        help="Creators to take off the list, read as pgy watch add reads them.",
        show_default="none",
    ),
) -> None:
    """Delete a watchlist, or take creators off it."""
    from pgy_metrics.client.inputs import InputFileError, read_user_ids
    from pgy_metrics.contract.params import ParamError, parse_user_ref
    from pgy_metrics.service.watchlists import UnknownWatchlist

    creators: list[str] | None = None
    if user_ids or file is not None:
        creators = []
        for given in user_ids or []:
            try:
                creators.append(parse_user_ref(given))
            except ParamError as problem:
                raise fail(f"USER_IDS: {problem.message}", code=USAGE_EXIT) from None
        if file is not None:
            try:
                read = read_user_ids(file)
            except InputFileError as problem:
                raise fail(str(problem), code=USAGE_EXIT) from None
            for bad in read.problems:
                say(f"skipped {file}:{bad.line}: {bad.describe()}")
            creators.extend(read.user_ids)

    removed: list[int] = []

    async def run(watchlists: Watchlists) -> None:
        removed.append(await watchlists.remove(list_name, creators))

    try:
        _with_watchlists(run, None)
    except UnknownWatchlist as problem:
        raise fail(str(problem), code=USAGE_EXIT) from None
    if creators is None:
        say(f"watchlist {list_name!r} deleted ({removed[0]} key(s))")
    else:
        say(f"{removed[0]} key(s) of {len(set(creators))} creator(s) removed from {list_name!r}")


@app.command("status")
def status(
    list_name: str | None = typer.Option(
        None, "--list", help="Only this watchlist.", show_default="every watchlist"
    ),
    config_file: Path | None = _config_option(),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Per list: creators × scopes, period, next refresh due, last refreshed, overdue; and the
    calls a day they need against the account pool's capacity (warns when they cannot fit)."""
    from pgy_metrics.service.watchlists import UnknownWatchlist, format_period

    if list_name is not None:
        _list_name(list_name)
    capacity = _capacity(config_file)
    found: list[Any] = []

    async def run(watchlists: Watchlists) -> None:
        found.append(await watchlists.status(list_name))

    try:
        _with_watchlists(run, capacity)
    except UnknownWatchlist as problem:
        raise fail(str(problem), code=USAGE_EXIT) from None
    report = found[0]
    if as_json or not sys.stdout.isatty():
        typer.echo(json.dumps(report.as_json()))
    else:
        table = Table(
            "list",
            "every",
            "creators × scopes",
            "next due",
            "last refreshed",
            "overdue",
            "calls/day",
        )
        for each in report.lists:
            table.add_row(
                each.name,
                format_period(each.period_seconds),
                f"{each.creators} × {each.scopes}"
                if each.keys == each.creators * each.scopes
                else f"{each.creators} × {each.scopes} ({each.keys} keys: not every pair)",
                _when(each.next_due_at),
                _when(each.last_refreshed_at),
                str(each.overdue),
                f"{each.calls_per_day:,.0f}",
            )
        Console().print(table)
        if report.capacity is None:
            say(
                f"calls needed: {report.calls_per_day:,.0f} a day; capacity not checked "
                + (
                    "(the configured sources have no account pool)"
                    if config_file is not None
                    else "(give --config, the settings file with the accounts)"
                )
            )
        else:
            share = report.calls_per_day / report.capacity.calls_per_day
            say(
                f"calls needed: {report.calls_per_day:,.0f} a day of "
                f"{report.capacity.describe()} ({share:.0%})"
            )
    if report.warning:
        say(report.warning, style="yellow")


def _when(moment: Any) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


def _capacity(config_file: Path | None) -> Capacity | None:
    if config_file is None:
        return None
    from pgy_metrics.service.config import ConfigError
    from pgy_metrics.service.config import load as load_config
    from pgy_metrics.service.watchlists import capacity_of

    try:
        config = load_config(config_file)
    except ConfigError as problem:
        raise fail(f"--config {problem}", code=USAGE_EXIT) from None
    return capacity_of(config.sources)


def _with_watchlists(work: Callable[[Watchlists], Awaitable[None]], capacity: Any) -> str:
    """Run ``work`` on the configured store (migrated); the store's kind."""
    settings = load_settings(collect="inline")
    url = settings.resolved_database_url

    async def run() -> None:
        async with _watchlists(url, settings.sqlite_busy_timeout_ms, capacity) as watchlists:
            await work(watchlists)

    asyncio.run(run())
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@asynccontextmanager
async def _watchlists(url: str, busy_ms: int, capacity: Any) -> AsyncIterator[Watchlists]:
    from pgy_metrics.clock import SystemClock
    from pgy_metrics.service.watchlists import Watchlists
    from pgy_metrics.store.database import Store

    store = Store(url, busy_timeout_ms=busy_ms)
    try:
        await store.migrate()
        yield Watchlists(store, SystemClock(), capacity)
    finally:
        await store.aclose()
