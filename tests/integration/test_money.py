"""Proofs that money and limits are exact, on real servers over loopback.

- 1,000 concurrent requests on a balance that pays for 100: exactly 100 answers with code 0,
  900 with 601, a final balance of 0 and a ledger that adds up; on SQLite with one process and on
  PostgreSQL + Redis with two processes sharing them.
- Rate limits admit 0.95x-1.05x of the exact allowance when driven at 5x for 10 windows, with
  one process (memory) and two (Redis).
- kill -9 during a load of paid requests: after restart and the reaper, the ledger, the balance
  and the quota counters agree with the answers clients received as code 0.
- 50 concurrent repeats of one Idempotency-Key: one charge, identical bodies.
"""

from __future__ import annotations

import asyncio
import math
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store import Store
from pgy_metrics.store.money import idempotency, ledger, reservations, usage
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env

pytestmark = pytest.mark.integration
USERS = [f"{index:024x}" for index in range(1, 51)]


async def issue(env: dict[str, str], name: str, plan: BillingPlan) -> str:
    """Create a token in the servers' database (same data dir, so the same pepper)."""
    settings = load_settings(
        data_dir=Path(env["PGY_DATA_DIR"]), database_url=env.get("PGY_DATABASE_URL")
    )
    async with open_issuer(settings) as issuer:
        return (await issuer.create(name, plan=plan)).token


@dataclass
class Books:
    balance: int | None
    topups: int
    charges: int
    charge_rows: int
    calls: int
    reserved: int
    reservations: int
    pending_keys: int


async def books(env: dict[str, str], name: str) -> Books:
    """What the database says of a token's money, read directly."""
    url = (
        env.get("PGY_DATABASE_URL")
        or f"sqlite+aiosqlite:///{env['PGY_DATA_DIR']}/pgy-metrics.sqlite3"
    )
    store = Store(url)
    try:
        record = await store.tokens.by_name(name)
        assert record is not None
        with store.engine.connect() as connection:

            async def scalar(query: Any) -> int:
                return int(connection.execute(query).scalar() or 0)

            mine = ledger.c.token_id == record.id
            return Books(
                balance=record.plan.balance,
                topups=await scalar(
                    select(func.sum(ledger.c.amount)).where(mine, ledger.c.kind == "topup")
                ),
                charges=await scalar(
                    select(func.sum(ledger.c.amount)).where(mine, ledger.c.kind == "charge")
                ),
                charge_rows=await scalar(
                    select(func.count()).where(mine, ledger.c.kind == "charge")
                ),
                calls=await scalar(
                    select(func.sum(usage.c.calls)).where(usage.c.token_id == record.id)
                ),
                reserved=await scalar(
                    select(func.sum(usage.c.reserved)).where(usage.c.token_id == record.id)
                ),
                reservations=await scalar(select(func.count()).select_from(reservations)),
                pending_keys=await scalar(
                    select(func.count()).where(idempotency.c.state == "pending")
                ),
            )
    finally:
        await store.aclose()


async def fire(
    bases: list[str], token: str, count: int, *, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """``count`` requests all in flight at once, spread over ``bases`` (the servers)."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def one(index: int) -> dict[str, Any]:
            base = bases[index % len(bases)]
            response = await client.get(
                base + NOTES_RATE_PATH,
                params={"token": token, "userId": USERS[index % len(USERS)]},
                headers=headers,
            )
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            return body

        return await asyncio.gather(*(one(i) for i in range(count)))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Started servers, stopped after the test (a test appends what it starts)."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def start(started: list[ServerProcess], env: dict[str, str], log: Path) -> ServerProcess:
    server = ServerProcess(env, log).start()
    started.append(server)
    return server


def assert_exact_100_of_1000(bodies: list[dict[str, Any]], final: Books) -> None:
    codes = Counter(body["code"] for body in bodies)
    assert codes == {0: 100, 601: 900}, codes
    assert final.balance == 0
    assert final.topups == 100
    assert final.charges == 100 and final.charge_rows == 100
    assert final.topups - final.charges == final.balance
    assert final.calls == 100
    assert final.reserved == 0 and final.reservations == 0
    assert len({body["requestId"] for body in bodies}) == 1000


async def test_1000_concurrent_on_100_credits_sqlite_one_process(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    env = pgy_env(tmp_path / "data")
    token = await issue(env, "prepaid", BillingPlan(balance=100))
    server = start(servers, env, tmp_path / "server.log")
    bodies = await fire([server.base_url], token, 1000)
    assert_exact_100_of_1000(bodies, await books(env, "prepaid"))
    assert token not in server.logs()


async def test_1000_concurrent_on_100_credits_postgres_redis_two_processes(
    tmp_path: Path, postgres_url: str, redis_url: str, servers: list[ServerProcess]
) -> None:
    env = pgy_env(tmp_path / "data", postgres_url, PGY_REDIS_URL=redis_url)
    token = await issue(env, "prepaid", BillingPlan(balance=100, rate_limit="100000/second"))
    first = start(servers, env, tmp_path / "first.log")
    second = start(servers, env, tmp_path / "second.log")
    bodies = await fire([first.base_url, second.base_url], token, 1000)
    assert_exact_100_of_1000(bodies, await books(env, "prepaid"))
    for server in (first, second):
        assert token not in server.logs()


@dataclass
class Driven:
    """The answers' codes, and the seconds from the first request sent to the last answer
    received: the longest span the server can have admitted requests over."""

    codes: Counter[int]
    span: float


async def drive(bases: list[str], token: str, *, rate: float, seconds: float) -> Driven:
    """Open-loop load: requests sent on a fixed schedule, whatever the answers."""
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def one(index: int) -> int:
            response = await client.get(
                bases[index % len(bases)] + NOTES_RATE_PATH,
                params={"token": token, "userId": USERS[0]},
            )
            return int(response.json()["code"])

        tasks = []
        begin = time.monotonic()
        for index in range(int(rate * seconds)):
            delay = begin + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        codes = Counter(await asyncio.gather(*tasks))
        return Driven(codes, time.monotonic() - begin)


LIMIT_PER_SECOND = 20
WINDOWS = 10


def assert_accurate(driven: Driven) -> None:
    """At least 95 % of the allowance of the planned windows, and never more than the allowance
    of the windows the requests really spanned (+5 %): on a busy machine the sender falls behind
    its schedule and the requests spread over more windows, each of which may admit its limit."""
    codes, allowance = driven.codes, LIMIT_PER_SECOND * WINDOWS
    ceiling = LIMIT_PER_SECOND * math.ceil(max(driven.span, WINDOWS))
    print(
        f"admitted {codes[0]} of an exact allowance of {allowance} ({codes[0] / allowance:.3f}); "
        f"the requests spanned {driven.span:.2f} s, whose windows allow {ceiling}"
    )
    assert set(codes) <= {0, 302}, codes
    assert 0.95 * allowance <= codes[0] <= 1.05 * ceiling, (codes, allowance, ceiling)


async def test_rate_limit_accuracy_one_process(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    env = pgy_env(tmp_path / "data")
    token = await issue(env, "paced", BillingPlan(rate_limit=f"{LIMIT_PER_SECOND}/second"))
    server = start(servers, env, tmp_path / "server.log")
    assert_accurate(
        await drive([server.base_url], token, rate=5 * LIMIT_PER_SECOND, seconds=WINDOWS)
    )


async def test_rate_limit_accuracy_two_processes_sharing_redis(
    tmp_path: Path, postgres_url: str, redis_url: str, servers: list[ServerProcess]
) -> None:
    env = pgy_env(tmp_path / "data", postgres_url, PGY_REDIS_URL=redis_url)
    token = await issue(env, "paced", BillingPlan(rate_limit=f"{LIMIT_PER_SECOND}/second"))
    first = start(servers, env, tmp_path / "first.log")
    second = start(servers, env, tmp_path / "second.log")
    assert_accurate(
        await drive(
            [first.base_url, second.base_url], token, rate=5 * LIMIT_PER_SECOND, seconds=WINDOWS
        )
    )


async def test_idempotency_50_concurrent_repeats_one_charge_identical_bodies(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    env = pgy_env(tmp_path / "data")
    token = await issue(env, "careful", BillingPlan(balance=10))
    server = start(servers, env, tmp_path / "server.log")
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.get(
                    server.base_url + NOTES_RATE_PATH,
                    params={"token": token, "userId": USERS[0]},
                    headers={"Idempotency-Key": "one-order"},
                )
                for _ in range(50)
            )
        )
    assert {r.content for r in responses} == {responses[0].content}
    assert responses[0].json()["code"] == 0
    final = await books(env, "careful")
    assert (final.charge_rows, final.balance) == (1, 9)


async def test_kill_9_during_paid_load_then_restart_and_reap(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    env = pgy_env(
        tmp_path / "data",
        PGY_RESERVATION_TIMEOUT_SECONDS="1",
        PGY_REAPER_INTERVAL_SECONDS="0.5",
        PGY_IDEMPOTENCY_STALE_SECONDS="1",
    )
    token = await issue(env, "loaded", BillingPlan(balance=100_000, daily_quota=100_000))
    server = start(servers, env, tmp_path / "first.log")
    received: dict[str, int] = {}  # idempotency key -> code received
    lost: list[tuple[str, str]] = []  # (key, userId) of requests with no answer

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=20)) as client:

        async def worker(worker_id: int) -> None:
            for index in range(10_000):
                key, user = f"{worker_id}-{index}-{uuid.uuid4().hex}", USERS[index % len(USERS)]
                try:
                    response = await client.get(
                        server.base_url + NOTES_RATE_PATH,
                        params={"token": token, "userId": user},
                        headers={"Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    lost.append((key, user))
                    return
                received[key] = response.json()["code"]

        load = [asyncio.create_task(worker(w)) for w in range(20)]
        while len(received) < 300:
            await asyncio.sleep(0.01)
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        await asyncio.gather(*load)
    server.process.wait()
    assert lost, "the kill must interrupt requests in flight"
    assert set(received.values()) == {0}

    # After the restart the reaper releases what the dead process held.
    restarted = start(servers, env, tmp_path / "second.log")
    deadline = time.monotonic() + 30
    while (await books(env, "loaded")).reservations and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    before_retries = await books(env, "loaded")
    assert before_retries.reservations == 0 and before_retries.reserved == 0
    # Charges the clients saw, plus at most the lost ones whose capture committed unseen.
    assert len(received) <= before_retries.charge_rows <= len(received) + len(lost)
    assert before_retries.balance == before_retries.topups - before_retries.charges
    assert before_retries.calls == before_retries.charge_rows

    # Retrying each lost request with its key settles it: a replay if it was charged, else a
    # fresh call; either way the client now holds code 0 and nothing is paid twice.
    async with httpx.AsyncClient(timeout=60) as client:
        for key, user in lost:
            response = await client.get(
                restarted.base_url + NOTES_RATE_PATH,
                params={"token": token, "userId": user},
                headers={"Idempotency-Key": key},
            )
            received[key] = response.json()["code"]
    final = await books(env, "loaded")
    assert set(received.values()) == {0}
    assert final.charge_rows == len(received)
    assert final.charges == len(received)
    assert final.balance == 100_000 - len(received)
    assert final.calls == len(received)
    assert final.reserved == 0 and final.reservations == 0 and final.pending_keys == 0
