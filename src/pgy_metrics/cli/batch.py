"""``pgy batch FILE``: thousands of creators x scopes, safely, into one clean file.

Reads ids (text, CSV or XLSX, profile URLs too; bad lines reported with their line number),
fetches through ``Client.batch`` (client-side rate, budget, checkpoint: a re-run skips what was
fetched and pays nothing twice), writes the export as results arrive, shows a progress bar on
stderr and ends with an honest summary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
from pgy_metrics.client import Client, PgyError
from pgy_metrics.client.batch import BatchStats
from pgy_metrics.client.exports import ExportError, open_export
from pgy_metrics.client.inputs import InputFileError, InputProblem, iter_user_ids
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import ParamError, Scope

stderr = Console(stderr=True)
Environment = Literal["global", "cn", "auto"]

INTERRUPTED_EXIT = 130
"""Exit status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2)."""

SCOPE_PRESETS: dict[str, tuple[Scope, ...]] = {
    "default": (Scope(),),
    "all": tuple(Scope.all()),
    "daily": tuple(s for s in Scope.all() if s.business is Business.DAILY_NOTE),
    "sponsored": tuple(s for s in Scope.all() if s.business is Business.COOPERATE_NOTE),
    "core": tuple(
        Scope(business, NoteType.PHOTO_TEXT_AND_VIDEO, date_type, switch)
        for business in Business
        for date_type in DateType
        for switch in AdvertiseSwitch
    ),
    "analysis": ANALYSIS_SCOPES,
}
"""Named sets of scopes: ``core`` is both kinds of notes x both windows x both traffic views;
``analysis`` the eight that ``pgy report`` and ``pgy plan`` use (``analytics.scopes``)."""


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """A preset name, or scope keys separated by commas."""
    if text in SCOPE_PRESETS:
        return SCOPE_PRESETS[text]
    try:
        return tuple(Scope.from_key(key.strip()) for key in text.split(",") if key.strip())
    except ParamError:
        raise ParamError(
            "scopes",
            f"--scopes must be one of {', '.join(SCOPE_PRESETS)} or scope keys separated by "
            f"commas (e.g. DAILY_NOTE.VIDEO.DAY_30.ALL); got {text!r}",
        ) from None


def batch(
    file: Path = typer.Argument(..., help="Creator ids: one per line, or a CSV/XLSX column."),
    scopes: str = typer.Option(
        "default", "--scopes", help=f"{', '.join(SCOPE_PRESETS)}, or scope keys (comma-separated)."
    ),
    out: Path = typer.Option(
        Path("pgy-batch.jsonl"), "--out", help="Export: .jsonl, .csv, .xlsx or .parquet."
    ),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=256),
    rate: float | None = typer.Option(
        None, "--rate", min=0.01, help="At most this many requests per second."
    ),
    budget: int | None = typer.Option(
        None, "--budget", min=0, help="Never more than this many billable calls."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="SQLite file; default: the export's name + .checkpoint"
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="PGY_TOKEN", help="Better: PGY_TOKEN."
    ),
    base_url: str | None = typer.Option(None, "--base-url", envvar="PGY_BASE_URL"),
    env: str | None = typer.Option(None, "--env", help="Hosted API: global, cn or auto."),
) -> None:
    """Fetch every creator of FILE in every scope into one export file."""
    try:
        chosen = parse_scopes(scopes)
    except ParamError as error:
        stderr.print(f"[red]error:[/] {error.message}", highlight=False)
        raise typer.Exit(2) from None
    if env is not None and env not in ("global", "cn", "auto"):
        stderr.print("[red]error:[/] --env must be one of global, cn, auto", highlight=False)
        raise typer.Exit(2)
    try:
        valid, skipped = _survey(file)
    except InputFileError as error:
        stderr.print(f"[red]error:[/] {error}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    if not valid:
        stderr.print("[red]error:[/] no valid creator id in the file", highlight=False)
        raise typer.Exit(2)
    checkpoint = checkpoint or out.with_name(out.name + ".checkpoint")
    stderr.print(
        f"{valid} creator lines x {len(chosen)} scopes = up to {valid * len(chosen)} fetches"
        f" ({skipped} lines skipped; repeated ids are fetched once)",
        highlight=False,
    )
    try:
        stats = _run(
            _valid_ids(file),
            chosen,
            out,
            concurrency,
            rate,
            budget,
            checkpoint,
            valid,
            token=token,
            base_url=base_url,
            env=cast(Environment | None, env),
        )
    except (PgyError, ExportError) as error:
        stderr.print(f"[red]error:[/] {error}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        # Everything fetched is in the checkpoint (committed per item) and calls in flight keep
        # their Idempotency-Keys there, so the same command picks up where this one stopped.
        stderr.print(
            f"interrupted: what was fetched is kept in {checkpoint}; run the same command again "
            "to resume (fetched pairs are not paid twice)",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(INTERRUPTED_EXIT) from None
    failed = ", ".join(
        f"{code if code is not None else 'transport'}: {n}"
        for code, n in sorted(stats.failed_by_code.items(), key=str)
    )
    stderr.print(
        f"ok {stats.ok} · failed {stats.failed}{f' ({failed})' if failed else ''} · "
        f"billable calls {stats.billable_calls} · from the checkpoint {stats.from_checkpoint} · "
        f"not attempted {stats.not_attempted} · repeated ids {stats.duplicates}"
        + (" · budget reached" if stats.budget_reached else "")
        + (f" · stopped: {stats.stopped_by}" if stats.stopped_by else ""),
        highlight=False,
        markup=False,
    )
    typer.echo(str(out))
    if stats.failed or stats.not_attempted:
        raise typer.Exit(1)


def _survey(file: Path) -> tuple[int, int]:
    """First pass over the input, holding nothing: report each bad line with its number, and
    count the valid lines (for the progress bar)."""
    valid = skipped = 0
    for entry in iter_user_ids(file):
        if isinstance(entry, InputProblem):
            skipped += 1
            stderr.print(
                f"skipped {file}:{entry.line}: {entry.reason} ({entry.text!r})",
                highlight=False,
                markup=False,
            )
        else:
            valid += 1
    return valid, skipped


def _valid_ids(file: Path) -> Iterator[str]:
    """Second pass: the valid ids, streamed into the batch (which de-duplicates them)."""
    return (entry for entry in iter_user_ids(file) if isinstance(entry, str))


def _run(
    user_ids: Iterable[str],
    scopes: tuple[Scope, ...],
    out: Path,
    concurrency: int,
    rate: float | None,
    budget: int | None,
    checkpoint: Path,
    lines: int,
    *,
    token: str | None,
    base_url: str | None,
    env: Environment | None,
) -> BatchStats:
    with (
        Client(token=token, base_url=base_url, env=env) as client,
        open_export(out) as export,
        progress_bar(lines, len(scopes)) as advance,
    ):
        run = client.batch(
            user_ids,
            scopes=scopes,
            concurrency=concurrency,
            rate=rate,
            max_billable_calls=budget,
            checkpoint=checkpoint,
        )
        with run:
            for item in run:
                if item.result is not None:
                    export.write_result(item.result)
                advance(run.stats)
        return run.stats


@contextlib.contextmanager
def progress_bar(lines: int, scopes: int) -> Iterator[Callable[[BatchStats], None]]:
    """A Rich bar on stderr (done, failed, billable, time left); call the yielded function with
    the batch stats after each item."""
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]} · billable {task.fields[billable]}"),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    )
    task = progress.add_task("fetching", total=lines * scopes, failed=0, billable=0)

    def advance(stats: BatchStats) -> None:
        # A repeated id is not fetched again: the total shrinks as repeats are found.
        progress.update(
            task,
            advance=1,
            total=(lines - stats.duplicates) * scopes,
            failed=stats.failed,
            billable=stats.billable_calls,
        )

    with progress:
        yield advance
