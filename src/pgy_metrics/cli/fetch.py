"""``pgy fetch USER_ID``: one creator + scope through the typed client, as JSON or a table.

The table is the tidy row (``flatten_scope``), each value written as the reports write it (counts
with thousands separators, 0-1 rates and shares as a percent with one decimal) in two columns that
fit 80 columns; ``--wide`` adds the Chinese label of each metric.
"""

from __future__ import annotations

import json
from typing import Literal, cast

import typer
from rich.console import Console

from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.client import Client, PgyError
from pgy_metrics.contract.columns import COLUMN_KINDS, LABELS_ZH, ColumnKind
from pgy_metrics.contract.params import ParamError, Scope
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.figures import FigureKind, format_figure

stderr = Console(stderr=True)
Environment = Literal["global", "cn", "auto"]

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
    user_id: str = typer.Argument(..., help="Creator id (24 hex characters)."),
    scope: str | None = typer.Option(
        None, "--scope", help="A scope key, e.g. COOPERATE_NOTE.VIDEO.DAY_90.ORGANIC_ONLY."
    ),
    business: str | None = typer.Option(None, help="DAILY_NOTE or COOPERATE_NOTE."),
    note_type: str | None = typer.Option(None, help="PHOTO_TEXT_AND_VIDEO, PHOTO_TEXT or VIDEO."),
    date_type: str | None = typer.Option(None, help="DAY_30 or DAY_90."),
    advertise_switch: str | None = typer.Option(None, help="ALL or ORGANIC_ONLY."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    wide: bool = typer.Option(
        False, "--wide", help="Add the Chinese label of each metric (wider than 80 columns)."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="PGY_TOKEN",
        help="API token (better: PGY_TOKEN).",
        show_default=False,
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", envvar="PGY_BASE_URL", help="Server, e.g. http://127.0.0.1:8000."
    ),
    env: str | None = typer.Option(None, "--env", help="Hosted API: global, cn or auto."),
) -> None:
    """Fetch one creator's note performance metrics in one scope."""
    try:
        chosen = (
            Scope.from_key(scope)
            if scope
            else Scope.from_params(
                {
                    "business": business,
                    "noteType": note_type,
                    "dateType": date_type,
                    "advertiseSwitch": advertise_switch,
                }
            )
        )
    except ParamError as error:
        stderr.print(f"[red]error:[/] {error.message}", highlight=False)
        raise typer.Exit(2) from None
    if env is not None and env not in ("global", "cn", "auto"):
        stderr.print("[red]error:[/] --env must be one of global, cn, auto", highlight=False)
        raise typer.Exit(2)
    try:
        environment = cast(Environment | None, env)
        with Client(token=token, base_url=base_url, env=environment) as client:
            result = client.notes_rate(user_id, scope=chosen)
    except PgyError as error:
        stderr.print(f"[red]error:[/] {error}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.envelope, ensure_ascii=False))
        return
    table = PlainTable(FETCH_COLUMNS, wide=wide, title=f"{user_id} · {chosen.label}")
    for key, value in flatten_scope(result.data.raw).items():
        shown = format_figure(value, METRIC_KINDS[COLUMN_KINDS.get(key, ColumnKind.INTEGER)])
        table.add_row((key, shown, LABELS_ZH.get(key, key)))
    table.print(Console())
    stderr.print(
        f"recorded {result.record_time} · source {result.source or 'hosted'} · "
        f"request {result.request_id}",
        highlight=False,
    )
