"""``pgy demo``: the whole product in one command, on synthetic data.

Starts the API server in this process on the sandbox source (its own SQLite store under the demo
folder), issues a token, fetches creators x the eight analysis scopes through the typed client's
batch (rate-paced, checkpointed, exported to JSONL) and each creator's profile, data summary, fans
profile and fans history, then benchmarks the pool and plans a campaign on the sandbox's synthetic
prices for an audience target (women, ages 18-34, first-tier cities), writing both reports. Every
figure is synthetic and every file says so.
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
    fetch_notes,
    fetch_siblings,
    print_benchmark,
    print_marketplace,
    print_plan,
    write_files,
)
from pgy_metrics.cli.messages import FAILED_EXIT, say
from pgy_metrics.figures import FigureKind, format_figure

if TYPE_CHECKING:
    from pgy_metrics.analytics.marketplace import Marketplace
    from pgy_metrics.analytics.planner import PlanRules
    from pgy_metrics.service.settings import Settings

# The server, the client and the analytics stack are imported inside the command, so that other
# ``pgy`` commands start without them.

DEMO_TOKEN_NAME = "demo"  # noqa: S105 (a token holder's name, not a secret)
SERVER_START_SECONDS = 30.0
"""How long the in-process server may take to start listening."""
SERVER_POLL_SECONDS = 0.05
DEMO_CONCURRENCY = 8
DEMO_MIN_VIDEO_SHARE = 0.2
DEMO_MAX_CREATOR_BUDGET_SHARE = 0.25
"""The demo plan's rules: at least a fifth of the booked creators in video, nobody above a
quarter of the budget."""
DEMO_FEMALE_MIN = 0.7
DEMO_AGES = ("18-24", "25-34")
DEMO_AGES_MIN = 0.6
DEMO_TIER1_MIN = 0.1
"""The demo plan's audience target (a constraint): women >= 70 %, ages 18-34 >= 60 %, first-tier
cities >= 10 % of the plan's expected audience."""


def demo_rules() -> PlanRules:
    from pgy_metrics.analytics.audience import AudienceTarget
    from pgy_metrics.analytics.planner import PlanRules

    return PlanRules(
        min_video_share=DEMO_MIN_VIDEO_SHARE,
        max_creator_budget_share=DEMO_MAX_CREATOR_BUDGET_SHARE,
        audience=AudienceTarget(
            gender="female",
            gender_min=DEMO_FEMALE_MIN,
            ages=DEMO_AGES,
            ages_min=DEMO_AGES_MIN,
            cities="tier1",
            cities_min=DEMO_TIER1_MIN,
        ),
    )


SYNTHETIC_WARNING = "synthetic data (sandbox source): not real creators; for a demo only"


def creator_ids(count: int) -> list[str]:
    """Stable made-up creator ids, the same on every run (24 lowercase hex characters)."""
    return [hashlib.sha256(f"pgy-demo-{n}".encode()).hexdigest()[:24] for n in range(count)]


def synthetic_market(base_url: str, token: str, ids: list[str]) -> Marketplace:
    """The demo's candidates, completed from the sandbox's creator profiles through the API:
    synthetic prices, order states, followers, tags, agencies, audiences and momentum."""
    import polars as pl

    from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA
    from pgy_metrics.analytics.marketplace import complete_candidates
    from pgy_metrics.client import Client

    with Client(token=token, base_url=base_url) as client:
        siblings = fetch_siblings(client, ids)
    ids_only = pl.DataFrame(
        {name: ids if name == "user_id" else [None] * len(ids) for name in CANDIDATE_SCHEMA},
        schema=CANDIDATE_SCHEMA,
    )
    return complete_candidates(ids_only, siblings)


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
    from pgy_metrics.client import Client

    with Client(token=token, base_url=base_url) as client:
        return fetch_notes(client, ids, out=out)


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
        say("fetching each creator's profile, data summary, fans profile and fans history")
        market = synthetic_market(base_url, token, ids)
    print_marketplace(market)
    candidates = market.candidates
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
            pool,
            candidates,
            budget=budget,
            objective=objective,
            rules=demo_rules(),
            marketplace=market,
        )
    except PlanError as error:
        raise fail(str(error), code=FAILED_EXIT) from None
    print_plan(chosen, synthetic=True)
    plan_paths = write_files(
        pool,
        out=out / "plan",
        title=(
            "Demo: campaign plan 投放方案 (synthetic 合成数据), "
            f"budget {format_figure(budget, FigureKind.MONEY)}, "
            "audience 受众: women 女性, 18-34, tier-1 cities 一线城市"
        ),
        source_label=label,
        synthetic=True,
        plan=chosen,
    )
    say(
        "\nWritten (all synthetic):\n"
        f"  fetched data     {export_path}\n"
        f"  synthetic prices {candidates_path} (the sandbox's creator profiles)\n"
        + "".join(f"  report           {path}\n" for path in report_paths)
        + "".join(f"  plan             {path}\n" for path in plan_paths)
        + "Open the .html files in a browser (they work offline) and the .xlsx in Excel."
    )
    for path in (*report_paths, *plan_paths):
        typer.echo(str(path))
