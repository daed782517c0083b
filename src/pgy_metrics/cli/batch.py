"""``pgy batch FILE``: thousands of creators x endpoints x scopes, safely, into clean files.

Reads ids (text, CSV or XLSX, profile URLs too; bad lines reported with their line number),
fetches through ``Client.batch`` (client-side rate, budget, checkpoint: a re-run skips what was
fetched and pays nothing twice), writes the export as results arrive, shows a progress bar on
stderr and ends with an honest summary.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pgy_metrics.analytics.scopes import SCOPE_PRESETS, parse_scopes
from pgy_metrics.cli.connect import base_url_option, env_option, open_client, token_option
from pgy_metrics.cli.messages import (
    FAILED_EXIT,
    INTERRUPTED_EXIT,
    USAGE_EXIT,
    fail,
    say,
    stderr,
)
from pgy_metrics.cli.retries import RetryCounter, counting_retries
from pgy_metrics.client import Client, PgyError
from pgy_metrics.client.batch import AnyScope, BatchStats, EndpointScope
from pgy_metrics.client.exports import FORMATS, EndpointExports, ExportError
from pgy_metrics.client.inputs import InputFileError, InputProblem, iter_user_ids
from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE, SIBLING_SPECS
from pgy_metrics.contract.params import ParamError, Scope

ENDPOINT_PRESETS: dict[str, tuple[str, ...]] = {
    "profile": ("blogger_profile",),
    "fans": ("fans_summary", "fans_profile", "fans_history"),
    "siblings": tuple(spec.name for spec in SIBLING_SPECS),
    "all": tuple(ENDPOINTS),
}
"""Short names for --endpoints besides the registry's own (``profile`` is ``blogger_profile``)."""


def parse_endpoints(text: str, scopes: tuple[Scope, ...]) -> tuple[AnyScope, ...]:
    """What to fetch per creator from ``--endpoints``: comma-separated endpoint names or
    presets, an endpoint optionally followed by its parameter values (``fans_history.DAY_90.
    FANS_INCREASE``; defaults for the rest). ``notes_rate`` stands for the ``--scopes``."""
    chosen: list[AnyScope] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, values = part.partition(".")
        if name in ENDPOINT_PRESETS and not values:
            names = ENDPOINT_PRESETS[name]
        elif name in ENDPOINTS:
            names = (name,)
        else:
            allowed = ", ".join((*ENDPOINTS, *ENDPOINT_PRESETS))
            raise ParamError(
                "--endpoints",
                f"--endpoints takes names separated by commas, each one of {allowed}; got {name!r}",
            )
        for endpoint in names:
            if endpoint == NOTES_RATE:
                if values:
                    raise ParamError(
                        "--endpoints", "give notes_rate's scopes with --scopes, not in --endpoints"
                    )
                chosen.extend(scopes)
                continue
            spec = ENDPOINTS[endpoint]
            given = values.split(".") if values else []
            if len(given) > len(spec.params):
                takes = ".".join(p.name for p in spec.params) or "no parameters"
                raise ParamError("--endpoints", f"{endpoint} takes {takes}; got {part!r}")
            params = {p.name: v for p, v in zip(spec.params, given, strict=False)}
            try:
                chosen.append(EndpointScope.of(endpoint, endpoints=ENDPOINTS, **params))
            except PgyError as problem:
                raise ParamError("--endpoints", f"--endpoints {part}: {problem}") from None
    if not chosen:
        raise ParamError("--endpoints", "--endpoints names no endpoint")
    return tuple(dict.fromkeys(chosen))


def endpoints_of(chosen: tuple[AnyScope, ...]) -> tuple[str, ...]:
    """The endpoints of a batch, in the order first named (one export file each)."""
    return tuple(
        dict.fromkeys(s.endpoint if isinstance(s, EndpointScope) else NOTES_RATE for s in chosen)
    )


CHECKPOINT_DIR = platformdirs.user_state_path("pgy-metrics", appauthor=False) / "checkpoints"
"""Where checkpoints go unless --checkpoint or --checkpoint-dir says otherwise: the user's state
folder (``~/.local/state/pgy-metrics/checkpoints`` on Linux, ``~/Library/Application Support/
pgy-metrics/checkpoints`` on macOS), not beside the export where they would clutter the output."""


def checkpoint_for(out: Path, folder: Path) -> Path:
    """The checkpoint of an export: named after it, keyed by its absolute path, so the same
    command (same ``--out`` from the same folder) finds it again and two exports of the same
    name in different folders do not share one."""
    key = hashlib.sha256(str(out.expanduser().resolve()).encode()).hexdigest()[:12]
    return folder.expanduser() / f"{out.name}-{key}.sqlite"


def _checked_out(value: Path) -> Path:
    if value.suffix.lower() not in FORMATS:
        raise typer.BadParameter(
            f"the export's name must end in one of {', '.join(FORMATS)}; got {value.name!r}"
        )
    return value


def batch(
    file: Path = typer.Argument(..., help="Creator ids: one per line, or a CSV/XLSX column."),
    scopes: str = typer.Option(
        "default",
        "--scopes",
        help=f"notes_rate's scopes: {', '.join(SCOPE_PRESETS)}, or scope keys (comma-separated).",
    ),
    endpoints: str = typer.Option(
        NOTES_RATE,
        "--endpoints",
        help=f"Endpoints per creator, comma-separated: {', '.join(ENDPOINTS)}, or "
        f"{', '.join(ENDPOINT_PRESETS)}; a name may carry its parameters "
        "(fans_history.DAY_90.FANS_INCREASE). One export file each.",
    ),
    out: Path = typer.Option(
        Path("pgy-batch.jsonl"),
        "--out",
        help="Export: .jsonl, .csv, .xlsx or .parquet.",
        callback=_checked_out,
    ),
    concurrency: int = typer.Option(
        8, "--concurrency", min=1, max=256, help="Calls in flight at once."
    ),
    rate: float | None = typer.Option(
        None,
        "--rate",
        min=0.01,
        help="At most this many requests per second.",
        show_default="no limit",
    ),
    budget: int | None = typer.Option(
        None,
        "--budget",
        min=0,
        help="Never more than this many billable calls.",
        show_default="no limit",
    ),
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="The checkpoint file (SQLite) that lets the same command resume.",
        show_default="in --checkpoint-dir, named after --out",
    ),
    checkpoint_dir: Path = typer.Option(
        CHECKPOINT_DIR,
        "--checkpoint-dir",
        envvar="PGY_CHECKPOINT_DIR",
        help="Folder of checkpoints named after their export.",
    ),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Fetch every creator of FILE from every endpoint and scope into export files."""
    try:
        notes_scopes = parse_scopes(scopes)
        chosen = parse_endpoints(endpoints, notes_scopes)
        if scopes != "default" and NOTES_RATE not in endpoints_of(chosen):
            raise ParamError("--scopes", "--scopes applies to notes_rate, not in --endpoints")
    except ParamError as problem:
        raise fail(problem.message, code=USAGE_EXIT) from None
    # Everything the command line and the environment decide is checked before the file is read.
    client = open_client(token, base_url, env)
    with client:
        try:
            valid, skipped = _survey(file)
        except InputFileError as problem:
            raise fail(str(problem), code=USAGE_EXIT) from None
        if not valid:
            raise fail(f"no valid creator id in {file}", code=USAGE_EXIT)
        checkpoint = checkpoint or checkpoint_for(out, checkpoint_dir)
        say(
            f"{valid} creator lines x {len(chosen)} calls each = up to {valid * len(chosen)} "
            "fetches"
            f" ({skipped} lines skipped; repeated ids are fetched once)"
        )
        say(f"checkpoint: {checkpoint} (the same command resumes from it)")
        try:
            stats, retries, failures, paths = _run(
                client, _valid_ids(file), chosen, out, concurrency, rate, budget, checkpoint, valid
            )
        except (PgyError, ExportError) as problem:
            raise fail(str(problem)) from None
        except KeyboardInterrupt:
            # Everything fetched is in the checkpoint (committed per item) and calls in flight
            # keep their Idempotency-Keys there, so the same command picks up where this stopped.
            say(
                f"interrupted: what was fetched is kept in {checkpoint}; run the same command "
                "again to resume (fetched pairs are not paid twice)"
            )
            raise typer.Exit(INTERRUPTED_EXIT) from None
    failed = ", ".join(
        f"{code if code is not None else 'transport'}: {n}"
        for code, n in sorted(stats.failed_by_code.items(), key=str)
    )
    say(
        f"ok {stats.ok} · failed {stats.failed}{f' ({failed})' if failed else ''} · "
        f"billable calls {stats.billable_calls} · from the checkpoint {stats.from_checkpoint} · "
        f"not attempted {stats.not_attempted} · repeated ids {stats.duplicates} · "
        f"retries {retries}"
        + (" · budget reached" if stats.budget_reached else "")
        + (f" · stopped: {stats.stopped_by}" if stats.stopped_by else "")
    )
    for code, message in failures.items():
        say(f"first failure{'' if code is None else f' with code {code}'}: {message}")
    for path in paths:
        typer.echo(str(path))
    if stats.failed or stats.not_attempted:
        raise typer.Exit(FAILED_EXIT)


def _survey(file: Path) -> tuple[int, int]:
    """First pass over the input, holding nothing: report each bad line with its number, and
    count the valid lines (for the progress bar)."""
    valid = skipped = 0
    for entry in iter_user_ids(file):
        if isinstance(entry, InputProblem):
            skipped += 1
            say(f"skipped {file}:{entry.line}: {entry.describe()}")
        else:
            valid += 1
    return valid, skipped


def _valid_ids(file: Path) -> Iterator[str]:
    """Second pass: the valid ids, streamed into the batch (which de-duplicates them)."""
    return (entry for entry in iter_user_ids(file) if isinstance(entry, str))


def _run(
    client: Client,
    user_ids: Iterable[str],
    scopes: tuple[AnyScope, ...],
    out: Path,
    concurrency: int,
    rate: float | None,
    budget: int | None,
    checkpoint: Path,
    lines: int,
) -> tuple[BatchStats, int, dict[int | None, str], list[Path]]:
    """Fetch and export (one file per endpoint). Returns the stats, how many retries the client
    made, the first failure of each business code (None: transport and protocol), which says
    what to fix, and the files written."""
    failures: dict[int | None, str] = {}
    export = EndpointExports(out, endpoints_of(scopes))
    with export, progress_bar(lines, len(scopes)) as progress:
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
                elif item.error is not None:
                    failures.setdefault(getattr(item.error, "code", None), str(item.error))
                progress.advance(run.stats)
        return run.stats, progress.retries.count, failures, list(export.paths.values())


class BatchProgress:
    """A Rich bar on stderr: done, failed, billable, retries, time left. ``advance`` after each
    item; the client's retries (``retries``) update the same line instead of logging."""

    def __init__(self, lines: int, scopes: int) -> None:
        self.lines, self.scopes = lines, scopes
        self.bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "failed {task.fields[failed]} · billable {task.fields[billable]} · "
                "retries {task.fields[retries]}"
            ),
            TimeRemainingColumn(),
            console=stderr,
            transient=False,
        )
        self.task = self.bar.add_task(
            "fetching", total=lines * scopes, failed=0, billable=0, retries=0
        )
        self.retries = RetryCounter(self._retried)

    def advance(self, stats: BatchStats) -> None:
        # A repeated id is not fetched again: the total shrinks as repeats are found.
        self.bar.update(
            self.task,
            advance=1,
            total=(self.lines - stats.duplicates) * self.scopes,
            failed=stats.failed,
            billable=stats.billable_calls,
        )

    def _retried(self, counter: RetryCounter) -> None:
        self.bar.update(self.task, retries=counter.count)


@contextlib.contextmanager
def progress_bar(lines: int, scopes: int) -> Iterator[BatchProgress]:
    """The progress line of a batch, shown while the block runs, counting the client's retries."""
    progress = BatchProgress(lines, scopes)
    with progress.bar, counting_retries(progress.retries):
        yield progress
