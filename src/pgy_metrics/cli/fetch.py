"""``pgy fetch USER_ID``: one creator + scope of one endpoint (notes rate by default,
``--endpoint`` for the others) through the typed client, as JSON or a table."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from pgy_metrics.cli.connect import (
    FILTER_OPTIONS,
    advertise_switch_option,
    base_url_option,
    business_option,
    date_type_option,
    endpoint_option,
    endpoint_params,
    env_option,
    increase_type_option,
    note_type_option,
    open_client,
    parse_endpoint,
    parse_scope,
    scope_option,
    token_option,
)
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, fail, say, stderr
from pgy_metrics.cli.retries import RetryCounter, counting_retries
from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.client import EndpointResult, NotesRateResult, PgyError
from pgy_metrics.contract.columns import COLUMN_KINDS, LABELS_ZH, ColumnKind
from pgy_metrics.contract.endpoints import FANS_HISTORY, NOTES_RATE
from pgy_metrics.contract.params import ParamError, parse_user_ref
from pgy_metrics.contract.sibling_rows import SIBLING_TABLES
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.figures import FigureKind, format_figure

FETCH_COLUMNS = (
    Column("metric", whole=True),
    Column("value", right=True),
    Column("中文", wide_only=True),
)
"""The tidy row's name, the value as the reports write it, its Chinese label (``--wide``)."""
METRIC_KINDS = {
    ColumnKind.TEXT: FigureKind.TEXT,
    ColumnKind.INTEGER: FigureKind.INTEGER,
    ColumnKind.FRACTION: FigureKind.FRACTION,
}


def fetch(
    user_id: str = typer.Argument(
        ..., help="Creator id (24 hex characters) or a Pugongying / Xiaohongshu profile URL."
    ),
    endpoint: str = endpoint_option(),
    scope: str | None = scope_option(),
    business: str | None = business_option(),
    note_type: str | None = note_type_option(),
    date_type: str | None = date_type_option(),
    advertise_switch: str | None = advertise_switch_option(),
    increase_type: str | None = increase_type_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    wide: bool = typer.Option(
        False, "--wide", help="Add the Chinese label of each metric (wider than 80 columns)."
    ),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Fetch one creator's data from one endpoint (note performance metrics by default)."""
    try:
        creator = parse_user_ref(user_id, param="USER_ID")
        chosen_endpoint = parse_endpoint(endpoint)
        if chosen_endpoint == NOTES_RATE:
            if increase_type is not None:
                raise ParamError("--increase-type", "--increase-type applies to fans_history only")
            values = (business, note_type, date_type, advertise_switch)
            chosen = parse_scope(scope, dict(zip(FILTER_OPTIONS, values, strict=True)))
            label = chosen.label
        else:
            if scope is not None:
                raise ParamError("--scope", "--scope applies to notes_rate only")
            options = {
                "business": business,
                "noteType": note_type,
                "dateType": date_type,
                "advertiseSwitch": advertise_switch,
                "increaseType": increase_type,
            }
            params = endpoint_params(chosen_endpoint, options)
            label = chosen_endpoint
    except ParamError as problem:
        raise fail(problem.message, code=USAGE_EXIT) from None
    client = open_client(token, base_url, env)

    def show(retries: RetryCounter) -> None:
        status.update(f"fetching {creator} · {retries.latest}")

    result: NotesRateResult | EndpointResult
    try:
        with (
            client,
            stderr.status(f"fetching {creator} · {label}") as status,
            counting_retries(RetryCounter(show)),
        ):
            if chosen_endpoint == NOTES_RATE:
                result = client.notes_rate(creator, scope=chosen)
            else:
                result = client.call(
                    chosen_endpoint, creator, idempotency_key=None, before_attempt=None, **params
                )
    except PgyError as failure:
        text = str(failure)
        if failure.retries_taken:
            text = f"{text.rstrip('.')}; gave up after {failure.retries_taken} retries"
        error(text)
        raise typer.Exit(FAILED_EXIT) from None
    if as_json:
        typer.echo(json.dumps(result.envelope, ensure_ascii=False))
        return
    if isinstance(result, NotesRateResult):
        table = PlainTable(FETCH_COLUMNS, wide=wide, title=f"{creator} · {label}")
        for key, value in flatten_scope(result.data.raw).items():
            shown = format_figure(value, METRIC_KINDS[COLUMN_KINDS.get(key, ColumnKind.INTEGER)])
            table.add_row((key, shown, LABELS_ZH.get(key, key)))
        table.print(Console())
    else:
        _print_sibling(result, wide=wide, title=f"{creator} · {label}")
    say(
        f"recorded {result.record_time} · source {result.source or 'hosted'} · "
        f"request {result.request_id}"
        + (f" · retries {result.retries_taken}" if result.retries_taken else "")
    )


def _shown(value: Any, kind: ColumnKind) -> str:
    """A sibling table's value as printed: shares as percents, missing as empty, never 0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind is ColumnKind.NUMBER:
        return f"{value:,.2f}"
    return format_figure(value, METRIC_KINDS.get(kind, FigureKind.TEXT))


def _print_sibling(result: EndpointResult, *, wide: bool, title: str) -> None:
    """A sibling endpoint's tidy rows (``contract.sibling_rows``, as the exports write them):
    one metric per line for profile and summaries, one bucket per line for the long tables."""
    table = SIBLING_TABLES[result.endpoint]
    rows = table.rows(result.data)
    if not table.long:
        printed = PlainTable(FETCH_COLUMNS, wide=wide, title=title)
        for name, kind, label in table.data_columns:
            printed.add_row((name, _shown(rows[0][name], kind), label))
        printed.print(Console())
        return
    # Fans profile's rows share one data date (said in the JSON); history's date is the bucket.
    columns = [
        (name, kind)
        for name, kind, _ in table.data_columns
        if name != "date_key" or result.endpoint == FANS_HISTORY
    ]
    # A device's display name (苹果) only with --wide: elsewhere it repeats the bucket.
    header = [
        Column(name, right=kind is not ColumnKind.TEXT, wide_only=name == "bucket_label")
        for name, kind in columns
    ]
    printed = PlainTable(header, wide=wide, title=title)
    for row in rows:
        printed.add_row(tuple(_shown(row[name], kind) for name, kind in columns))
    printed.print(Console())
