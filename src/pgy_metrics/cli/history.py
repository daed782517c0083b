"""``pgy history USER_ID``: every stored collection of one creator + scope, through the typed
client (``Client.history``, our server's ``GET /api/history``), as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC

import typer
from rich.console import Console

from pgy_metrics.cli.connect import (
    FILTER_OPTIONS,
    advertise_switch_option,
    base_url_option,
    business_option,
    date_type_option,
    env_option,
    note_type_option,
    open_client,
    parse_scope,
    scope_option,
    token_option,
)
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, fail, say, stderr
from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.client import HistoryResult, PgyError
from pgy_metrics.contract.history import parse_fields, parse_since
from pgy_metrics.contract.params import ParamError, parse_user_ref
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.figures import FigureKind, format_figure

TABLE_FIELDS = ("noteNumber", "impMedian", "readMedian", "interactionMedian", "interactionRate")
"""What the table shows of each collection without ``--fields``: the figures people follow."""


def history(
    user_id: str = typer.Argument(
        ..., help="Creator id (24 hex characters) or a Pugongying / Xiaohongshu profile URL."
    ),
    scope: str | None = scope_option(),
    business: str | None = business_option(),
    note_type: str | None = note_type_option(),
    date_type: str | None = date_type_option(),
    advertise_switch: str | None = advertise_switch_option(),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only collections from this day (YYYY-MM-DD) or date and time (ISO 8601; without "
        "an offset, in the server's record-time zone) on.",
        show_default="every collection",
    ),
    fields: str | None = typer.Option(
        None,
        "--fields",
        help="Comma-separated fields of data to show, e.g. noteNumber,readMedian "
        "(the table and CSV defaults below).",
        show_default=f"table: {','.join(TABLE_FIELDS)}; CSV: every tidy column",
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one row per collection."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Show every collection of one creator in one scope, oldest first (our server only)."""
    values = (business, note_type, date_type, advertise_switch)
    filters = dict(zip(FILTER_OPTIONS, values, strict=True))
    try:
        if as_csv and as_json:
            raise ParamError("--csv", "give --csv or --json, not both")
        creator = parse_user_ref(user_id, param="USER_ID")
        chosen = parse_scope(scope, filters)
        parse_since(since, UTC, param="--since")  # the form only; the server reads the zone
        selected = parse_fields(fields, param="--fields")
    except ParamError as problem:
        raise fail(problem.message, code=USAGE_EXIT) from None
    client = open_client(token, base_url, env)
    try:
        with client, stderr.status(f"reading the history of {creator} · {chosen.label}"):
            result = client.history(
                creator,
                since=since,
                fields=selected,
                business=chosen.business.value,
                noteType=chosen.note_type.value,
                dateType=chosen.date_type.value,
                advertiseSwitch=chosen.advertise_switch.value,
            )
    except PgyError as failure:
        error(str(failure))
        raise typer.Exit(FAILED_EXIT) from None
    if as_json:
        typer.echo(json.dumps(result.envelope, ensure_ascii=False))
    elif as_csv:
        _write_csv(result, selected)
    else:
        _print_table(result, selected or TABLE_FIELDS, f"{creator} · {chosen.label}")
        say(f"{len(result.points)} collections · request {result.request_id}")


def _print_table(result: HistoryResult, fields: tuple[str, ...], title: str) -> None:
    columns = [Column("recorded", whole=True), Column("source", wide_only=True)]
    columns += [Column(name, right=True) for name in fields]
    table = PlainTable(columns, wide=False, title=title)
    for point in result.points:
        cells = [_cell(point.data.get(name)) for name in fields]
        table.add_row((point.record_time, point.source, *cells))
    table.print(Console())


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return format_figure(value, FigureKind.INTEGER)
    if isinstance(value, str | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _write_csv(result: HistoryResult, fields: tuple[str, ...] | None) -> None:
    """Without ``--fields`` the tidy columns of each collection (``pgy_metrics.contract.units``,
    as the exports write them); with it, those fields as received."""
    rows: list[dict[str, object]] = []
    for point in result.points:
        if fields is None:
            values: dict[str, object] = dict(flatten_scope(point.data))
        else:
            values = {name: _csv_value(point.data.get(name)) for name in fields}
        rows.append({"record_time": point.record_time, "source": point.source, **values})
    header = ["record_time", "source", *(rows[0] if rows else fields or ())]
    header = list(dict.fromkeys(header))
    writer = csv.DictWriter(sys.stdout, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _csv_value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
