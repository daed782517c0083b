"""``pgy report`` and ``pgy plan``: load a pool, analyse it, plan, write the report files.

Thin by design: every figure comes from ``pgy_metrics.analytics``; this module reads options,
prints tables with Rich and turns the analytics layer's errors into one line and an exit code.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.cli.connect import base_url_option, env_option, token_option
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, say
from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.figures import FigureKind, format_figure

if TYPE_CHECKING:
    import polars as pl

    from pgy_metrics.analytics.analysis import Analysis, CampaignPlan
    from pgy_metrics.analytics.marketplace import Marketplace, SiblingAnswers
    from pgy_metrics.analytics.tables import Tables
    from pgy_metrics.client import Client

# The analytics stack (polars, numpy, HiGHS, Jinja2) is imported inside the commands, so that every
# other ``pgy`` command starts without it.

stdout = Console()

PREVIEW_ROWS = 15
"""Rows of a table printed on the terminal; the files hold them all."""

SOURCE_HELP = (
    "Where the data is: a JSONL/CSV/Parquet export of pgy batch, a SQLite file, or a database URL."
)
SOURCE_DEFAULT = "the local server's store: PGY_DATABASE_URL or the data dir"
SETTINGS_DEFAULT = "the built-in weights, tiers and limits"
FETCH_HELP = (
    "Fetch what the plan needs from the API (--base-url, --token): every candidate's notes-rate "
    "scopes, creator profile (prices, order states, followers, tags, agency), data summary, fans "
    "profile and fans history. The file's prices, followers and tags still win."
)
FETCH_CONCURRENCY = 8
"""Notes-rate calls in flight while ``--fetch`` collects the candidates (as ``pgy demo``)."""
SYNTHETIC_DEFAULT = (
    "from the data's sources: synthetic if any row came from the sandbox, unknown if the input "
    "does not say"
)


@contextmanager
def user_errors() -> Iterator[None]:
    """The analytics layer's input errors as one line on stderr and exit 2 (no traceback)."""
    from pgy_metrics.analytics.candidates import CandidatesError, RulesError
    from pgy_metrics.analytics.settings import AnalyticsSettingsError
    from pgy_metrics.analytics.tables import StoreUnavailable, TablesError

    try:
        yield
    except StoreUnavailable as error:
        raise fail(str(error), code=FAILED_EXIT) from None
    except (
        TablesError,
        CandidatesError,
        RulesError,
        AnalyticsSettingsError,
        FileNotFoundError,
    ) as error:
        raise fail(str(error)) from None


def fail(message: str, *, code: int = USAGE_EXIT) -> typer.Exit:
    """Say what went wrong in one line; the caller raises the returned exit (2 unless
    ``code`` says otherwise: most of what goes wrong here is input to fix)."""
    error(message)
    return typer.Exit(code)


def load_pool(source: str | None) -> tuple[Tables, str, bool | None]:
    """The tables, a label for the report, and whether the data is synthetic: True if any row
    came from the sandbox, None (unknown) if some row does not say where it came from."""
    from pgy_metrics.analytics.tables import load

    if source is None:
        # The store's settings come with the server extra; ``--from FILE`` needs only analytics.
        from pgy_metrics.service.settings import Settings

        target = Settings().resolved_database_url
    else:
        target = source
    if source is not None and "://" not in source and not Path(source).exists():
        raise fail(f"--from {source}: no such file")
    tables = load(target)
    if tables.scopes.height == 0:
        raise fail(
            f"no data in {_shown(target)}: fetch creators first (pgy batch FILE --scopes core, "
            "or pgy demo)"
        )
    # Snapshots and exports say which source collected each row (an export from before the
    # source column does not: unknown, never "real"); --synthetic/--real overrides.
    return tables, _shown(target), tables.synthetic


def _shown(target: str) -> str:
    """A source label without the password a database URL may carry (the same rendering as the
    server's store banner, ``Store.describe``)."""
    if "://" not in target:
        return target
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(target).render_as_string(hide_password=True)
    except ArgumentError:
        return target.split("://", 1)[0] + "://***"


def fetch_notes(client: Client, ids: list[str], *, out: Path) -> Path:
    """Every creator x analysis scope through ``Client.batch``, exported as JSONL in ``out``
    (checkpointed: a re-run skips what was fetched)."""
    from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
    from pgy_metrics.cli.batch import progress_bar
    from pgy_metrics.client.exports import open_export

    out.mkdir(parents=True, exist_ok=True)
    export_path = out / "creators.jsonl"
    with (
        open_export(export_path) as export,
        progress_bar(len(ids), len(ANALYSIS_SCOPES)) as progress,
    ):
        run = client.batch(
            ids,
            scopes=ANALYSIS_SCOPES,
            concurrency=FETCH_CONCURRENCY,
            checkpoint=out / "creators.jsonl.checkpoint",
        )
        with run:
            for item in run:
                if item.result is not None:
                    export.write_result(item.result)
                progress.advance(run.stats)
    if run.stats.failed or run.stats.not_attempted:
        say(f"notes-rate fetch incomplete: {run.stats}; creators without data cannot be valued")
    return export_path


def fetch_siblings(client: Client, ids: list[str]) -> SiblingAnswers:
    """The sibling answers a plan reads (``profiles.PLANNING_ENDPOINTS``) for every creator,
    through ``Client.call``; a failed call is said on stderr and leaves that answer missing
    (the creator is then excluded or planned without it, with the reason listed)."""
    from pgy_metrics.analytics.profiles import PLANNING_ENDPOINTS
    from pgy_metrics.client import InvalidToken, PgyError

    found: dict[str, dict[str, dict[str, object]]] = {name: {} for name in PLANNING_ENDPOINTS}
    for user_id in ids:
        for endpoint in PLANNING_ENDPOINTS:
            try:
                result = client.call(endpoint, user_id)
            except InvalidToken as failure:
                raise fail(f"--token: {failure}", code=FAILED_EXIT) from None
            except PgyError as failure:
                say(f"{endpoint} {user_id}: {failure}")
                continue
            if isinstance(result.data, dict):
                found[endpoint][user_id] = result.data
    return found


def print_marketplace(market: Marketplace) -> None:
    """Where the prices came from and who was left out before planning, and why."""
    from pgy_metrics.analytics.marketplace import FROM_FILE, FROM_PROFILE

    frame = market.candidates
    counts = {
        source: sum(
            frame.get_column(f"price_{fmt}_source").to_list().count(source)
            for fmt in ("photo", "video")
        )
        for source in (FROM_FILE, FROM_PROFILE)
    }
    say(
        f"prices: {counts[FROM_FILE]} from the candidates file, {counts[FROM_PROFILE]} from the "
        "creator profile endpoint"
    )


def stored_market(source: str | None, candidates: pl.DataFrame) -> Marketplace | None:
    """Without ``--fetch``: the candidates completed from the sibling answers already in the
    store (collected by ``pgy batch --endpoints`` or any call through the server), or None when
    the pool is an export or the store holds none for these creators."""
    from pgy_metrics.analytics.marketplace import complete_candidates
    from pgy_metrics.analytics.profiles import PLANNING_ENDPOINTS
    from pgy_metrics.analytics.tables import DATABASE_SCHEMES, SQLITE_SUFFIXES, load_store_answers

    if source is None:
        from pgy_metrics.service.settings import Settings

        target = Settings().resolved_database_url
    elif "://" in source:
        scheme = source.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in DATABASE_SCHEMES:
            return None
        target = source
    elif Path(source).suffix.lower() in SQLITE_SUFFIXES:
        target = source
    else:
        return None
    ids = candidates.get_column("user_id").to_list()
    siblings = load_store_answers(target, PLANNING_ENDPOINTS, ids)
    if not any(siblings.values()):
        return None
    market = complete_candidates(candidates, siblings)
    say(f"creator profiles and audiences from the store for {len(market.audiences)} candidates")
    print_marketplace(market)
    return market


def read_creators(path: Path | None) -> pl.DataFrame | None:
    """An optional creators file (the candidates format, prices optional): followers, tiers."""
    from pgy_metrics.analytics.candidates import read_candidates

    if path is None:
        return None
    found = read_candidates(path, require_price=False)
    for problem in found.problems:
        say(f"skipped {path} {problem}")
    return found.frame


def analysis_of(
    tables: Tables, *, settings_file: Path | None, creators: pl.DataFrame | None
) -> Analysis:
    from pgy_metrics.analytics.analysis import analyse
    from pgy_metrics.analytics.campaign import followers_of
    from pgy_metrics.analytics.settings import load_settings

    return analyse(tables, settings=load_settings(settings_file), followers=followers_of(creators))


SYNTHETIC_CAPTION = "synthetic data (sandbox source): not real creators"
UNKNOWN_SOURCE_CAPTION = "source unknown: the input does not say where its data came from"


BENCHMARK_COLUMNS = (
    Column("user_id", whole=True),
    Column("tier"),
    Column("content_tag"),
    Column("score", FigureKind.NUMBER),
    Column("flag_count", FigureKind.INTEGER),
)


def caption(synthetic: bool | None) -> str | None:
    """The table caption for data that is synthetic (True), of unknown source (None) or real."""
    if synthetic is None:
        return UNKNOWN_SOURCE_CAPTION
    return SYNTHETIC_CAPTION if synthetic else None


def print_benchmark(analysis: Analysis, *, synthetic: bool | None) -> None:
    frame = analysis.benchmark.sort("score", descending=True, nulls_last=True)
    table = PlainTable(
        BENCHMARK_COLUMNS,
        wide=False,
        title=f"Benchmark: {frame.height} creators (top {PREVIEW_ROWS} by score)",
        caption=caption(synthetic),
    )
    for row in frame.head(PREVIEW_ROWS).iter_rows(named=True):
        values = (
            row["user_id"],
            row.get("tier"),
            row.get("content_tag"),
            row.get("score"),
            row.get("flag_count") or 0,
        )
        table.add_row(values)
    table.print(stdout)


def _basis(scope_key: str) -> str:
    """``COOPERATE_NOTE.VIDEO.DAY_90.ALL`` -> ``sponsored 90d``: which scope valued a format."""
    business, _, date_type, _ = [*scope_key.split("."), "", "", "", ""][:4]
    kind = {"COOPERATE_NOTE": "sponsored", "DAILY_NOTE": "daily"}.get(business, business)
    return f"{kind} {date_type.removeprefix('DAY_')}d" if date_type else kind


def plan_columns(objective: Objective) -> tuple[Column, ...]:
    """The plan table: who, which format, tier, price and the two estimates fit 80 columns; the
    content tag, the scope that valued the format and the value per 1,000 of price need
    ``--wide``."""
    return (
        Column("user_id", whole=True),
        Column("format"),
        Column("tier"),
        Column("content_tag", wide_only=True),
        Column("price", FigureKind.MONEY),
        Column(f"expected\n{objective.value}", FigureKind.INTEGER),
        Column("robust\n(P20)", FigureKind.INTEGER),
        Column("per 1,000\nof price", FigureKind.INTEGER, wide_only=True),
        Column("basis", wide_only=True),
    )


def print_plan(plan: CampaignPlan, *, synthetic: bool | None, wide: bool = False) -> None:
    columns = plan_columns(plan.objective)
    table = PlainTable(
        columns,
        wide=wide,
        title=(
            f"Plan: {plan.objective.value}, budget {format_figure(plan.budget, FigureKind.MONEY)} "
            f"({plan.optimal.status}{', proven optimal' if plan.optimal.proven_optimal else ''})"
        ),
        caption=caption(synthetic),
    )
    for option in sorted(plan.optimal.chosen, key=lambda o: -o.value):
        values = (
            option.user_id,
            option.format,
            option.tier,
            option.content_tag,
            option.price,
            option.value,
            option.robust_value,
            option.value / option.price * 1000 if option.price else None,
            _basis(option.basis),
        )
        table.add_row(values)
    table.print(stdout)
    _print_comparison(plan)


def comparison_columns(objective: Objective) -> tuple[Column, ...]:
    return (
        Column("plan", whole=True),
        Column(objective.value, FigureKind.INTEGER),
        Column("creators", FigureKind.INTEGER),
        Column("spend", FigureKind.MONEY),
    )


def _print_comparison(plan: CampaignPlan) -> None:
    """The optimum beside the robust plan and the greedy baseline, then the improvement."""
    columns = comparison_columns(plan.objective)
    table = PlainTable(columns, wide=False)
    stdout.print()
    for name, chosen in (
        ("optimal (HiGHS)", plan.optimal),
        ("robust (P20 estimates)", plan.robust),
        ("greedy value/price", plan.greedy),
    ):
        values = (name, chosen.value, len(chosen.chosen), chosen.spend)
        table.add_row(values)
    table.print(stdout)
    stdout.print(_comparison(plan), highlight=False, markup=False)


def _comparison(plan: CampaignPlan) -> str:
    greedy = plan.greedy
    lines = []
    improvement = plan.improvement
    if improvement is not None and math.isfinite(improvement):
        lines.append(
            "improvement of the optimum over greedy: "
            + format_figure(improvement, FigureKind.CHANGE)
        )
    else:
        lines.append("improvement over greedy: not comparable (greedy misses a rule)")
    if greedy.unmet:
        lines.append(f"greedy misses: {', '.join(greedy.unmet)}")
    if plan.optimal.audience and plan.rules.audience is not None:
        target = plan.rules.audience
        reached = ", ".join(
            f"{target.describe(d)}: {format_figure(share, FigureKind.FRACTION)}"
            for d, share in plan.optimal.audience.items()
        )
        lines.append(f"audience of the plan ({target.mode}): {reached}")
    if plan.costs is not None:
        chosen = {(o.user_id, o.format) for o in plan.optimal.chosen}
        flagged = [
            f"{row['user_id']} {row['format']}"
            for row in plan.costs.iter_rows(named=True)
            if row["estimate_gap_flag"] and (row["user_id"], row["format"]) in chosen
        ]
        if flagged:
            lines.append(
                f"{len(flagged)} booking(s) cost more than 10 % apart from the platform's own "
                f"estimate (CPM or CPE; the report has both): {', '.join(flagged[:PREVIEW_ROWS])}"
            )
    if plan.excluded:
        lines.append(f"excluded before planning ({len(plan.excluded)}):")
        lines += [f"  {item}" for item in plan.excluded[:PREVIEW_ROWS]]
        if len(plan.excluded) > PREVIEW_ROWS:
            lines.append(f"  ... and {len(plan.excluded) - PREVIEW_ROWS} more (report: Excluded)")
    if plan.dropped:
        lines.append(f"{len(plan.dropped)} creator formats could not be valued and were left out:")
        lines += [f"  {dropped}" for dropped in plan.dropped[:PREVIEW_ROWS]]
        if len(plan.dropped) > PREVIEW_ROWS:
            lines.append(f"  ... and {len(plan.dropped) - PREVIEW_ROWS} more")
    return "\n".join(lines)


def write_files(
    analysis: Analysis,
    *,
    out: Path,
    title: str,
    source_label: str,
    synthetic: bool | None,
    plan: CampaignPlan | None = None,
    creators: pl.DataFrame | None = None,
) -> list[Path]:
    from pgy_metrics.analytics.analysis import report_data as build_report_data
    from pgy_metrics.analytics.reports import write_report

    data = build_report_data(
        analysis,
        title=title,
        source_label=source_label,
        synthetic=synthetic,
        generated_at=datetime.now().astimezone(),
        plan=plan,
        creators=creators,
    )
    paths = write_report(data, out)
    if plan is not None:
        plan_csv = out / "plan.csv"
        plan.plan_table().write_csv(plan_csv)
        paths.append(plan_csv)
    return paths


def report(
    source: str | None = typer.Option(
        None, "--from", help=SOURCE_HELP, show_default=SOURCE_DEFAULT
    ),
    out: Path = typer.Option(Path("pgy-report"), "--out", help="Folder for the report files."),
    creators: Path | None = typer.Option(
        None,
        "--creators",
        help="CSV/XLSX with user_id and optional followers, tier, content_tag, prices.",
        show_default="none: tiers by the read-median proxy",
    ),
    settings_file: Path | None = typer.Option(
        None,
        "--settings",
        help="Analytics settings (TOML): score weights, tiers, flag limits.",
        show_default=SETTINGS_DEFAULT,
    ),
    title: str = typer.Option("Creator benchmark 博主基准", "--title"),
    synthetic: bool | None = typer.Option(
        None,
        "--synthetic/--real",
        help="Label every figure as synthetic, or as real.",
        show_default=SYNTHETIC_DEFAULT,
    ),
    fetch: bool = typer.Option(
        False,
        "--fetch",
        help="Fetch every creator's profile, data summary, fans profile and fans history from "
        "the API (--base-url, --token): prices (with their source), followers, tags, agency, "
        "momentum in a Creators sheet. The --creators file's figures still win.",
    ),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Benchmark a pool of creators and write report.xlsx and report.html."""
    with user_errors():
        tables, label, detected = load_pool(source)
        listed = read_creators(creators)
        market = None
        if fetch:
            market = _market_of(tables, listed, token=token, base_url=base_url, env=env)
            listed = market.candidates
        pool = analysis_of(tables, settings_file=settings_file, creators=listed)
        labelled = detected if synthetic is None else synthetic
        print_benchmark(pool, synthetic=labelled)
        paths = write_files(
            pool,
            out=out,
            title=title,
            source_label=label,
            synthetic=labelled,
            creators=market.candidates if market is not None else None,
        )
    for path in paths:
        typer.echo(str(path))


def plan(
    candidates: Path = typer.Argument(
        ...,
        help="CSV/XLSX: user_id, price_photo and/or price_video, optional followers, tier, "
        "content_tag. With --fetch a list of ids is enough.",
    ),
    budget: float = typer.Option(..., "--budget", help="Total budget, in the prices' currency."),
    objective: Objective = typer.Option(Objective.READS, "--objective"),
    rules_file: Path | None = typer.Option(
        None,
        "--rules",
        help="Rules (TOML), an audience target too; docs/planner.md.",
        show_default="no rules",
    ),
    source: str | None = typer.Option(
        None, "--from", help=SOURCE_HELP, show_default=SOURCE_DEFAULT + " (--fetch: the API)"
    ),
    out: Path = typer.Option(Path("pgy-plan"), "--out", help="Folder for the plan files."),
    settings_file: Path | None = typer.Option(
        None, "--settings", help="Analytics settings.", show_default=SETTINGS_DEFAULT
    ),
    synthetic: bool | None = typer.Option(
        None,
        "--synthetic/--real",
        help="Label every figure as synthetic, or as real.",
        show_default=SYNTHETIC_DEFAULT,
    ),
    wide: bool = typer.Option(
        False,
        "--wide",
        help="Print every column of the plan table (content tag, value per 1,000 of price, "
        "basis), wider than 80 columns.",
    ),
    fetch: bool = typer.Option(False, "--fetch", help=FETCH_HELP),
    token: str | None = token_option(),
    base_url: str | None = base_url_option(),
    env: str | None = env_option(),
) -> None:
    """Choose creators and formats that maximise the objective within the budget and rules."""
    from pgy_metrics.analytics.analysis import plan_campaign
    from pgy_metrics.analytics.candidates import load_rules, read_candidates
    from pgy_metrics.analytics.planner import PlanError, PlanRules

    if not (math.isfinite(budget) and budget > 0):
        raise fail(f"--budget must be a positive number; got {budget:g}")
    market = None
    with user_errors():
        rules = load_rules(rules_file) if rules_file is not None else PlanRules()
        found = read_candidates(candidates, require_price=not fetch)
        for problem in found.problems:
            say(f"skipped {candidates} {problem}")
        if found.frame.height == 0:
            raise fail(f"{candidates}: no usable candidate rows")
        if fetch:
            tables, label, detected, market = _fetched(
                found.frame, source=source, out=out, token=token, base_url=base_url, env=env
            )
        else:
            tables, label, detected = load_pool(source)
            market = stored_market(source, found.frame)
        if rules.audience is not None and market is None:
            raise fail(
                "the [audience] target needs the candidates' fans profiles: give --fetch, or "
                "plan from a store that holds them (pgy batch --endpoints fans_profile,...)"
            )
        frame = market.candidates if market is not None else found.frame
        pool = analysis_of(tables, settings_file=settings_file, creators=frame)
    try:
        chosen = plan_campaign(
            pool,
            found.frame,
            budget=budget,
            objective=objective,
            rules=rules,
            marketplace=market,
        )
    except PlanError as error:
        raise fail(str(error), code=FAILED_EXIT) from None
    labelled = detected if synthetic is None else synthetic
    print_plan(chosen, synthetic=labelled, wide=wide)
    paths = write_files(
        pool,
        out=out,
        title=(
            f"Campaign plan 投放方案: {objective.value}, "
            f"budget {format_figure(budget, FigureKind.MONEY)}"
        ),
        source_label=label,
        synthetic=labelled,
        plan=chosen,
    )
    for path in paths:
        typer.echo(str(path))


def _fetched(
    candidates: pl.DataFrame,
    *,
    source: str | None,
    out: Path,
    token: str | None,
    base_url: str | None,
    env: str | None,
) -> tuple[Tables, str, bool | None, Marketplace]:
    """``--fetch``: the notes-rate tables (from ``--from`` when given, else fetched into
    ``out/creators.jsonl``) and the candidates completed from the sibling endpoints."""
    from pgy_metrics.analytics.marketplace import complete_candidates
    from pgy_metrics.analytics.tables import load_jsonl
    from pgy_metrics.cli.connect import open_client

    ids = candidates.get_column("user_id").to_list()
    with open_client(token, base_url, env) as client:
        if source is None:
            say(f"fetching {len(ids)} candidates through the API (notes rate, profile, audience)")
            export = fetch_notes(client, ids, out=out)
            tables = load_jsonl(export)
            label, detected = str(export), tables.synthetic
        else:
            tables, label, detected = load_pool(source)
        siblings = fetch_siblings(client, ids)
    market = complete_candidates(candidates, siblings)
    print_marketplace(market)
    if market.candidates.height == 0:
        for item in market.excluded:
            say(f"excluded {item}")
        raise fail("no candidate has a bookable format (see excluded above)", code=FAILED_EXIT)
    return tables, label, detected, market


def _market_of(
    tables: Tables,
    listed: pl.DataFrame | None,
    *,
    token: str | None,
    base_url: str | None,
    env: str | None,
) -> Marketplace:
    """``pgy report --fetch``: every creator of the pool (or of ``--creators``), completed from
    the sibling endpoints; creators without a bookable format stay listed, without a price."""
    import polars as pl

    from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA
    from pgy_metrics.analytics.marketplace import complete_candidates
    from pgy_metrics.cli.connect import open_client

    if listed is None:
        ids = tables.scopes.get_column("user_id").unique(maintain_order=True).to_list()
        listed = pl.DataFrame(
            {name: ids if name == "user_id" else [None] * len(ids) for name in CANDIDATE_SCHEMA},
            schema=CANDIDATE_SCHEMA,
        )
    with open_client(token, base_url, env) as client:
        siblings = fetch_siblings(client, listed.get_column("user_id").to_list())
    market = complete_candidates(listed, siblings, keep_unbookable=True)
    print_marketplace(market)
    return market
