"""Crash and resume against a real ``pgy serve``: a batch runs as its own Python process with a
checkpoint, is killed with SIGKILL mid-way, and is run again to the end over the same checkpoint.
The server's ledger must then hold exactly one charge per (creator, scope): nothing missing, no
duplicate. Sync and async clients run the same case."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pgy_metrics.contract import Business, Scope
from pgy_metrics.store import Store
from pgy_metrics.store.money import ledger
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CREATORS = [f"{index:024x}" for index in range(0x100, 0x100 + 40)]
SCOPES = (Scope(), Scope(business=Business.COOPERATE_NOTE))
PAIRS = {(user, scope.key) for user in CREATORS for scope in SCOPES}
KILL_AFTER = 25
"""Items the first run reports before it is killed (of 80)."""
WORKER_SECONDS = 120


def worker() -> None:
    """The batch process: prints one JSON line per item, flushed, so the test can kill it at a
    known point. Settings come from the environment (``PGY_TOKEN``, ``PGY_BASE_URL``...)."""
    from pgy_metrics.client import AsyncClient, Client

    checkpoint = os.environ["BATCH_CHECKPOINT"]
    options = {"scopes": SCOPES, "concurrency": 8, "rate": 40.0, "checkpoint": checkpoint}

    def show(user_id: str, scope: Scope, ok: bool, billable: bool, cached: bool) -> None:
        line = {"user": user_id, "scope": scope.key, "ok": ok, "billable": billable}
        print(json.dumps({**line, "from_checkpoint": cached}), flush=True)

    if os.environ["BATCH_KIND"] == "sync":
        with Client() as client:
            for item in client.batch(CREATORS, **options):  # type: ignore[arg-type]
                show(item.user_id, item.scope, item.ok, item.billable, item.from_checkpoint)
        return

    async def main() -> None:
        async with AsyncClient() as client:
            async for item in client.batch(CREATORS, **options):  # type: ignore[arg-type]
                show(item.user_id, item.scope, item.ok, item.billable, item.from_checkpoint)

    asyncio.run(main())


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    code = "from tests.integration.test_batch import worker; worker()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def charges_by_pair(env: dict[str, str], name: str) -> Counter[tuple[str, str]]:
    async def read() -> Counter[tuple[str, str]]:
        store = Store(f"sqlite+aiosqlite:///{env['PGY_DATA_DIR']}/pgy-metrics.sqlite3")
        try:
            record = await store.tokens.by_name(name)
            assert record is not None
            with store.engine.connect() as connection:
                rows = connection.execute(
                    select(ledger.c.user_id, ledger.c.scope_key).where(
                        ledger.c.token_id == record.id, ledger.c.kind == "charge"
                    )
                )
                return Counter((row.user_id, row.scope_key) for row in rows)
        finally:
            await store.aclose()

    return asyncio.run(read())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    folder = tmp_path_factory.mktemp("batch-server")
    env = pgy_env(folder / "data")
    with ServerProcess(env, folder / "server.log") as process:
        yield env, process.base_url


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_kill_9_mid_batch_then_rerun_charges_each_pair_exactly_once(
    kind: str, server: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, base_url = server
    name = f"batch-crash-{kind}"
    token = asyncio.run(issue(env, name, BillingPlan(balance=1000)))
    checkpoint = tmp_path / "batch.sqlite3"
    worker_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PGY_")},
        "PGY_TOKEN": token,
        "PGY_BASE_URL": base_url,
        "BATCH_CHECKPOINT": str(checkpoint),
        "BATCH_KIND": kind,
    }

    # First run: killed with SIGKILL once KILL_AFTER items were reported.
    first = start_worker(worker_env)
    assert first.stdout is not None
    seen = []
    try:
        for line in first.stdout:
            seen.append(json.loads(line))
            if len(seen) == KILL_AFTER:
                first.send_signal(signal.SIGKILL)
                break
    finally:
        first.kill()
        first.wait(timeout=WORKER_SECONDS)
    assert first.returncode == -signal.SIGKILL, first.stderr.read() if first.stderr else ""
    assert len(seen) == KILL_AFTER

    with sqlite3.connect(checkpoint) as db:
        states = dict(db.execute("SELECT state, count(*) FROM batch_items GROUP BY state"))
    assert states.get("done", 0) >= KILL_AFTER
    assert states.get("pending", 0) >= 1, states  # calls were in flight when it died
    assert sum(states.values()) < len(PAIRS)

    # Second run over the same checkpoint, to the end.
    second = subprocess.run(
        [sys.executable, "-c", "from tests.integration.test_batch import worker; worker()"],
        cwd=ROOT,
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=WORKER_SECONDS,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    items = [json.loads(line) for line in second.stdout.splitlines()]
    assert {(i["user"], i["scope"]) for i in items} == PAIRS
    assert len(items) == len(PAIRS) and all(i["ok"] for i in items)
    resumed = {(i["user"], i["scope"]) for i in items if i["from_checkpoint"]}
    assert resumed >= {(i["user"], i["scope"]) for i in seen}

    # The server's ledger: exactly one charge per (creator, scope), nothing else.
    charges = charges_by_pair(env, name)
    assert set(charges) == PAIRS
    assert set(charges.values()) == {1}
    final = asyncio.run(books(env, name))
    assert final.charge_rows == len(PAIRS)
    assert final.balance == 1000 - len(PAIRS)
    billable = sum(i["billable"] for i in seen) + sum(i["billable"] for i in items)
    assert billable <= len(PAIRS)

    with sqlite3.connect(checkpoint) as db:
        states = dict(db.execute("SELECT state, count(*) FROM batch_items GROUP BY state"))
    assert states == {"done": len(PAIRS)}
