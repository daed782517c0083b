"""Watchlists refreshed by a real ``pgy worker`` (procrastinate's scheduler) on the machine's
PostgreSQL and Redis, against the fake Pugongying in a process of its own that records the time
and account of every call (issue 12 item 7: a watchlist of 200 creators × 2 scopes with a short
period: each key refreshed once per period, calls spread evenly over it)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pgy_metrics.service.jobs import libpq_url
from tests.integration.servers import pgy, pgy_env
from tests.integration.test_cluster_collection import busiest_second, upstream
from tests.integration.test_collection_queue import WorkerProcess
from tests.integration.test_upstream_pugongying import SECRETS, cookie_header

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
__all__ = ["upstream"]  # a fixture, imported to be used here

CREATORS = 200
SCOPES = "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL,DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_90.ALL"
PERIOD = 60
RUN_SECONDS = 2 * PERIOD + 8
"""Two whole periods after the list is added, and time for the last one's calls to land."""
PACE = 10
BUCKET = 10


def write_config(tmp_path: Path, base_url: str) -> Path:
    accounts = ""
    for name in SECRETS:
        (tmp_path / f"{name}.cookies").write_text(cookie_header(name) + "\n", encoding="utf-8")
        accounts += (
            f'\n[[sources.accounts]]\nname = "{name}"\n'
            f'cookies_file = "{tmp_path / f"{name}.cookies"}"\n'
        )
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = {PACE}
timeout_seconds = 5
retry_attempts = 1
{accounts}""",
        encoding="utf-8",
    )
    return config


def key_of(request: dict[str, Any]) -> tuple[str, ...]:
    params = request["params"]
    return (params["userId"], *sorted(f"{k}={v}" for k, v in params.items() if k != "userId"))


def test_a_watchlist_is_refreshed_once_per_period_spread_over_it(
    tmp_path: Path, postgres_url: str, redis_url: str, upstream: str
) -> None:
    config = write_config(tmp_path, upstream)
    env = pgy_env(
        tmp_path / "data",
        postgres_url,
        PGY_REDIS_URL=redis_url,
        PGY_REDIS_KEY_PREFIX=f"pgy-test-{uuid.uuid4().hex[:12]}",
        PGY_CONFIG=str(config),
    )
    creators = tmp_path / "creators.csv"
    users = [f"{index:024x}" for index in range(1, CREATORS + 1)]
    creators.write_text(
        "userId\n" + "\n".join(users[:100]) + "\nnot-an-id\n" + "\n".join(users[100:]) + "\n",
        encoding="utf-8",
    )
    with WorkerProcess(env, tmp_path / "worker.log", args=("--concurrency", "8")) as worker:
        added_at = time.time()
        added = pgy(
            "watch",
            "add",
            str(creators),
            "--scopes",
            SCOPES,
            "--every",
            "1m",
            "--list",
            "shops",
            env=env,
        )
        time.sleep(RUN_SECONDS - (time.time() - added_at))
        status = json.loads(pgy("watch", "status", "--json", env=env).stdout)
        worker_logs = worker.logs()
    received = httpx.get(upstream + "/__fake__/requests", timeout=10).json()

    assert "skipped" in added.stderr and f"{creators}:102" in added.stderr, added.stderr
    assert "400 key(s) added" in added.stderr, added.stderr
    assert "Traceback" not in worker_logs, worker_logs[-4000:]
    assert "pgy_metrics.watch_tick" in worker_logs

    # Spread: calls in 10-second buckets over the second period after the add (the first
    # one also holds the keys that fell due between the add and the first tick).
    buckets = Counter(
        int((at - added_at) // BUCKET)
        for at in (r["at"] for r in received)
        if PERIOD <= at - added_at < 2 * PERIOD
    )
    counts = [buckets.get(index, 0) for index in range(PERIOD // BUCKET, 2 * PERIOD // BUCKET)]
    mean = sum(counts) / len(counts)
    print(
        f"\nwatchlist refresh spread: {len(received)} calls in all; over one whole period, "
        f"per {BUCKET}-s bucket max {max(counts)}, min {min(counts)}, mean {mean:.1f} "
        f"(max/mean {max(counts) / mean:.2f}); busiest second per account: "
        + ", ".join(
            str(busiest_second([r["at"] for r in received if r["account"] == secret]))
            for secret in SECRETS.values()
        )
        + f" (pace {PACE})"
    )
    assert max(counts) <= 2 * mean, counts
    calls: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for request in received:
        calls[key_of(request)].append(request["at"])
    assert len(calls) == CREATORS * 2, len(calls)  # every key of the list, nothing else
    gaps = []
    for key, times in calls.items():
        times.sort()
        # Each key's due times are one period apart, the first within a period of the add: in
        # two periods and a bit, each key was refreshed twice or three times, never more.
        assert 2 <= len(times) <= 3, (key, [round(t - added_at, 1) for t in times])
        for before, after in itertools.pairwise(times):
            gaps.append(after - before)
            assert 0.75 * PERIOD <= after - before <= 1.25 * PERIOD, (key, after - before)
    print(f"gaps between one key's refreshes: {min(gaps):.1f}-{max(gaps):.1f} s")

    # A refresh is a collection like any other: through the account pool, which rotates over
    # both accounts. (Its pace is item 2's proof, tests/integration/test_cluster_collection.py;
    # the busiest second per account is printed above.)
    shares = Counter(r["account"] for r in received)
    assert set(shares) == set(SECRETS.values())
    assert all(0.35 <= count / len(received) <= 0.65 for count in shares.values()), shares

    (shops,) = status["lists"]
    assert (shops["creators"], shops["scopes"], shops["keys"]) == (CREATORS, 2, CREATORS * 2)
    assert shops["overdue"] == 0 and shops["lastRefreshedAt"] is not None
    assert status["capacity"] == {
        "accounts": 2,
        "callsPerSecond": 2 * PACE,
        "callsPerDay": 2 * PACE * 86_400,
    }
    assert status["callsPerDay"] == CREATORS * 2 * 86_400 / PERIOD
    assert status["warning"] is None
    # The operator pays: no token was charged for the refreshes.
    with psycopg.connect(libpq_url(postgres_url)) as conn:
        ledger = conn.execute("SELECT count(*) FROM ledger").fetchone()
        snapshots = conn.execute("SELECT count(*) FROM snapshots").fetchone()
    assert ledger == (0,)
    assert snapshots == (len(received),)
