"""``pgy fetch USER_ID``: one creator + scope through the typed client, as JSON or a table."""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.console import Console

from pgy_metrics.cli.connect import base_url_option, env_option, open_client, token_option
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, fail, say, stderr
from pgy_metrics.cli.retries import RetryCounter, counting_retries
from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.client import PgyError
from pgy_metrics.contract.columns import COLUMN_KINDS, LABELS_ZH, ColumnKind
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import ParamError, Scope, parse_user_ref
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.figures import FigureKind, format_figure


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum) + "."


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


FILTER_OPTIONS = ("--business", "--note-type", "--date-type", "--advertise-switch")
"""The options of the four scope filters, in the order of ``Scope.PARAMS``."""


def fetch(
    user_id: str = typer.Argument(
        ..., help="Creator id (24 hex characters) or a Pugongying / Xiaohongshu profile URL."
    ),
    scope: str | None = typer.Option(
        None,
        "--scope",
        help="A scope key, e.g. COOPERATE_NOTE.VIDEO.DAY_90.ORGANIC_ONLY (instead of the four "
        "filters).",
        show_default="DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL",
    ),
    business: str | None = typer.Option(
        None, help=_choices(Business), show_default=Business.DAILY_NOTE.value
    ),
    note_type: str | None = typer.Option(
        None, help=_choices(NoteType), show_default=NoteType.PHOTO_TEXT_AND_VIDEO.value
    ),
    date_type: str | None = typer.Option(
        None, help=_choices(DateType), show_default=DateType.DAY_30.value
    ),
    advertise_switch: str | None = typer.Option(
        None, help=_choices(AdvertiseSwitch), show_default=AdvertiseSwitch.ALL.value
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole answer as JSON."),
    wide: bool = typer.Option(
        False, "--wide", help="Add the Chinese label of each metric (wider than 80 columns)."
    ),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Fetch one creator's note performance metrics in one scope."""
    values = (business, note_type, date_type, advertise_switch)
    filters = dict(zip(FILTER_OPTIONS, values, strict=True))
    try:
        creator = parse_user_ref(user_id, param="USER_ID")
        chosen = _scope(scope, filters)
    except ParamError as problem:
        raise fail(problem.message, code=USAGE_EXIT) from None
    client = open_client(token, base_url, env)

    def show(retries: RetryCounter) -> None:
        status.update(f"fetching {creator} · {retries.latest}")

    try:
        with (
            client,
            stderr.status(f"fetching {creator} · {chosen.label}") as status,
            counting_retries(RetryCounter(show)),
        ):
            result = client.notes_rate(creator, scope=chosen)
    except PgyError as failure:
        text = str(failure)
        if failure.retries_taken:
            text = f"{text.rstrip('.')}; gave up after {failure.retries_taken} retries"
        error(text)
        raise typer.Exit(FAILED_EXIT) from None
    if as_json:
        typer.echo(json.dumps(result.envelope, ensure_ascii=False))
        return
    table = PlainTable(FETCH_COLUMNS, wide=wide, title=f"{creator} · {chosen.label}")
    for key, value in flatten_scope(result.data.raw).items():
        shown = format_figure(value, METRIC_KINDS[COLUMN_KINDS.get(key, ColumnKind.INTEGER)])
        table.add_row((key, shown, LABELS_ZH.get(key, key)))
    table.print(Console())
    say(
        f"recorded {result.record_time} · source {result.source or 'hosted'} · "
        f"request {result.request_id}"
        + (f" · retries {result.retries_taken}" if result.retries_taken else "")
    )


def _scope(key: str | None, filters: dict[str, str | None]) -> Scope:
    """The scope from --scope or from the four filters (each naming its option when wrong)."""
    given = [option for option, value in filters.items() if value is not None]
    if key is not None:
        if given:
            raise ParamError(
                "--scope", f"give --scope or the filters ({', '.join(given)}), not both"
            )
        try:
            return Scope.from_key(key)
        except ParamError as problem:
            raise ParamError("--scope", f"--scope: {problem.message}") from None
    return Scope.from_params(filters, names=FILTER_OPTIONS)
