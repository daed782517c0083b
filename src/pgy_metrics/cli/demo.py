"""``pgy demo``: the whole product in one command, on synthetic data.

Starts the API server in this process on the sandbox source (its own SQLite store under the demo
folder), issues a token, fetches creators x the eight analysis scopes through the typed client's
batch (rate-paced, checkpointed, exported to JSONL), then benchmarks the pool and plans a campaign
with made-up prices, writing both reports. Every figure is synthetic and every file says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
from pgy_metrics.cli.analysis import (
    analysis_of,
    fail,
    print_benchmark,
    print_plan,
    write_files,
)
from pgy_metrics.cli.messages import FAILED_EXIT, say
from pgy_metrics.figures import FigureKind, format_figure

if TYPE_CHECKING:
    import polars as pl

    from pgy_metrics.analytics.planner import PlanRules
    from pgy_metrics.service.settings import Settings

# The server, the client and the analytics stack are imported inside the command, so that other
# ``pgy`` commands start without them.

DEMO_TOKEN_NAME = "demo"  # noqa: S105 (a token holder's name, not a secret)
SERVER_START_SECONDS = 30.0
"""How long the in-process server may take to start listening."""
SERVER_POLL_SECONDS = 0.05
DEMO_CONCURRENCY = 8
PRICE_PER_FOLLOWER_PHOTO = 0.08
PRICE_PER_FOLLOWER_VIDEO = 0.12
"""Synthetic quotes: a photo-text note at 8 % of the follower count (in yuan), video at 12 %,
plus a floor; the order of magnitude of public rate cards, nothing more."""
PRICE_FLOOR = 300.0
VIDEO_OFFER_ABOVE = 0.15
"""Synthetic creators whose notes are at least this share video also quote a video price."""
DEMO_MIN_VIDEO_SHARE = 0.2
DEMO_MAX_CREATOR_BUDGET_SHARE = 0.25
"""The demo plan's rules: at least a fifth of the booked creators in video, nobody above a
quarter of the budget."""


def demo_rules() -> PlanRules:
    from pgy_metrics.analytics.planner import PlanRules

    return PlanRules(
        min_video_share=DEMO_MIN_VIDEO_SHARE,
        max_creator_budget_share=DEMO_MAX_CREATOR_BUDGET_SHARE,
    )


SYNTHETIC_WARNING = "synthetic data (sandbox source): not real creators; for a demo only"


def creator_ids(count: int) -> list[str]:
    """Stable made-up creator ids, the same on every run (24 lowercase hex characters)."""
    return [hashlib.sha256(f"pgy-demo-{n}".encode()).hexdigest()[:24] for n in range(count)]


def synthetic_candidates(ids: list[str]) -> pl.DataFrame:
    """Prices and follower counts for the demo's creators, from the sandbox's own profiles."""
    import polars as pl

    from pgy_metrics.sources.sandbox import creator_profile

    rows = []
    for user_id in ids:
        profile = creator_profile(user_id)
        photo = round(max(PRICE_FLOOR, profile.followers * PRICE_PER_FOLLOWER_PHOTO), -1)
        video = round(max(PRICE_FLOOR, profile.followers * PRICE_PER_FOLLOWER_VIDEO), -1)
        rows.append(
            {
                "user_id": user_id,
                "price_photo": photo,
                "price_video": video if profile.video_share >= VIDEO_OFFER_ABOVE else None,
                "followers": profile.followers,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "user_id": pl.Utf8,
            "price_photo": pl.Float64,
            "price_video": pl.Float64,
            "followers": pl.Int64,
        },
        orient="row",
    )


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """The API server on a free loopback port in a thread of this process; yields its URL."""
    import uvicorn

    from pgy_metrics.server.app import create_app

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="pgy-demo-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            raise fail("the demo server did not start", code=FAILED_EXIT)
        time.sleep(SERVER_POLL_SECONDS)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SERVER_START_SECONDS)
        listener.close()


async def _demo_token(settings: Settings) -> str:
    """A fresh unmetered token for this run (named demo-N: a re-run over the same folder adds
    one, since a token is shown only once)."""
    from pgy_metrics.cli.common import open_issuer
    from pgy_metrics.store.tokens import BillingPlan

    async with open_issuer(settings) as issuer:
        names = {record.name for record in await issuer.list()}
        name = f"{DEMO_TOKEN_NAME}-{len(names) + 1}"
        return (await issuer.create(name, plan=BillingPlan())).token


def fetch_pool(base_url: str, token: str, ids: list[str], *, out: Path) -> Path:
    """Every creator x analysis scope through ``Client.batch``, exported as JSONL."""
    from pgy_metrics.cli.batch import progress_bar
    from pgy_metrics.client import Client
    from pgy_metrics.client.exports import open_export

    export_path = out / "creators.jsonl"
    with (
        Client(token=token, base_url=base_url) as client,
        open_export(export_path) as export,
        progress_bar(len(ids), len(ANALYSIS_SCOPES)) as progress,
    ):
        run = client.batch(
            ids,
            scopes=ANALYSIS_SCOPES,
            concurrency=DEMO_CONCURRENCY,
            checkpoint=out / "creators.jsonl.checkpoint",
        )
        with run:
            for item in run:
                if item.result is not None:
                    export.write_result(item.result)
                progress.advance(run.stats)
    if run.stats.failed or run.stats.not_attempted:
        raise fail(f"the demo fetch did not complete: {run.stats}", code=FAILED_EXIT)
    return export_path


def demo(
    out: Path = typer.Option(Path("pgy-demo"), "--out", help="Folder for everything it writes."),
    creators: int = typer.Option(60, "--creators", min=2, max=2000, help="Synthetic creators."),
    budget: float = typer.Option(
        50_000, "--budget", min=1, help="Demo campaign budget (synthetic prices, yuan)."
    ),
    objective: Objective = typer.Option(Objective.READS, "--objective"),
) -> None:
    """Run server, client, benchmark and planner on synthetic data; print where the files are."""
    from pgy_metrics.analytics.analysis import plan_campaign
    from pgy_metrics.analytics.planner import PlanError
    from pgy_metrics.analytics.tables import load_jsonl
    from pgy_metrics.cli.common import load_settings

    out.mkdir(parents=True, exist_ok=True)
    say(SYNTHETIC_WARNING, style="yellow")
    settings = load_settings(
        data_dir=out / "server",
        database_url=f"sqlite+aiosqlite:///{(out / 'server' / 'pgy.db').resolve()}",
        source="sandbox",
        log_level="warning",
    )
    (out / "server").mkdir(parents=True, exist_ok=True)
    token = asyncio.run(_demo_token(settings))
    ids = creator_ids(creators)
    with running_server(settings) as base_url:
        say(
            f"server: {base_url} (in this process, sandbox source); fetching {creators} creators "
            f"x {len(ANALYSIS_SCOPES)} scopes through the client"
        )
        export_path = fetch_pool(base_url, token, ids, out=out)
    candidates = synthetic_candidates(ids)
    candidates_path = out / "candidates-synthetic.csv"
    candidates.write_csv(candidates_path)
    pool = analysis_of(load_jsonl(export_path), settings_file=None, creators=candidates)
    print_benchmark(pool, synthetic=True)
    label = f"{export_path} ({SYNTHETIC_WARNING})"
    report_paths = write_files(
        pool,
        out=out / "report",
        title="Demo: creator benchmark 博主基准 (synthetic 合成数据)",
        source_label=label,
        synthetic=True,
    )
    try:
        chosen = plan_campaign(
            pool, candidates, budget=budget, objective=objective, rules=demo_rules()
        )
    except PlanError as error:
        raise fail(str(error), code=FAILED_EXIT) from None
    print_plan(chosen, synthetic=True)
    plan_paths = write_files(
        pool,
        out=out / "plan",
        title=(
            "Demo: campaign plan 投放方案 (synthetic 合成数据), "
            f"budget {format_figure(budget, FigureKind.MONEY)}"
        ),
        source_label=label,
        synthetic=True,
        plan=chosen,
    )
    say(
        "\nWritten (all synthetic):\n"
        f"  fetched data     {export_path}\n"
        f"  synthetic prices {candidates_path}\n"
        + "".join(f"  report           {path}\n" for path in report_paths)
        + "".join(f"  plan             {path}\n" for path in plan_paths)
        + "Open the .html files in a browser (they work offline) and the .xlsx in Excel."
    )
    for path in (*report_paths, *plan_paths):
        typer.echo(str(path))
