"""The collection queue with real processes on the machine's PostgreSQL (a throw-away database
each, so procrastinate's tables never meet another test's): ``pgy serve --collect queue`` defers,
``pgy worker`` collects; no worker means a clear 301 and money given back; a worker killed with
SIGKILL in the middle of a job is replaced, with one snapshot and one charge."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.service.jobs import libpq_url
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import (
    STARTUP_SECONDS,
    ServerProcess,
    fake_pugongying_process,
    pgy,
    pgy_env,
)
from tests.integration.test_cluster_collection import upstream, write_config
from tests.integration.test_money import USERS, books, issue
from tests.integration.test_upstream_pugongying import cookie_header

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

QUEUE = ("--collect", "queue")
__all__ = ["upstream"]  # a fixture, imported to be used here


@dataclass
class WorkerProcess:
    """One ``pgy worker`` process; its output (banner, job logs) goes to ``log_path``."""

    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None)

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pgy_metrics", "worker", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"pgy worker exited early:\n{self.logs()}")
            if "Starting worker on queues" in self.logs():
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"pgy worker did not start in {STARTUP_SECONDS}s:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to the queue (a crashed machine)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


async def issue_admin(env: dict[str, str]) -> str:
    settings = load_settings(
        data_dir=Path(env["PGY_DATA_DIR"]), database_url=env.get("PGY_DATABASE_URL")
    )
    async with open_issuer(settings) as issuer:
        return (await issuer.create("ops", is_admin=True, plan=BillingPlan())).token


def snapshot_counts(database_url: str) -> Counter[tuple[str, str]]:
    """Stored snapshots per (creator, scope), read directly from PostgreSQL."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT user_id, params_key, count(*) FROM snapshots GROUP BY user_id, params_key"
        ).fetchall()
    return Counter({(user, scope): count for user, scope, count in rows})


def admin_jobs(base_url: str, admin: str, **params: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/admin/jobs",
        params=params,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def ask_all(base_url: str, token: str, users: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=120) as client:

        async def ask(user: str) -> dict[str, Any]:
            response = await client.get(
                base_url + NOTES_RATE_PATH, params={"token": token, "userId": user}
            )
            assert response.status_code == 200
            answer: dict[str, Any] = response.json()
            answer["asked"] = user
            return answer

        return await asyncio.gather(*(ask(user) for user in users))


def test_asks_are_answered_code_0_through_a_worker(tmp_path: Path, postgres_url: str) -> None:
    env = pgy_env(tmp_path / "data", postgres_url)
    token = asyncio.run(issue(env, "shop", BillingPlan(balance=100)))
    admin = asyncio.run(issue_admin(env))
    users = USERS[:3]
    with (
        WorkerProcess(env, tmp_path / "worker.log") as worker,
        ServerProcess(env, tmp_path / "server.log", args=QUEUE) as server,
    ):
        answers = asyncio.run(ask_all(server.base_url, token, users * 4))
        again = asyncio.run(ask_all(server.base_url, token, users))  # cached now
        shown = admin_jobs(server.base_url, admin)
        done = admin_jobs(server.base_url, admin, status="done")
        listed = pgy("jobs", "--json", env=env)
    assert [a["code"] for a in answers + again] == [0] * 15, answers
    for user in users:  # every asker of a creator got the one collection's answer
        times = {a["recordTime"] for a in answers + again if a["asked"] == user}
        assert len(times) == 1, times
    assert "Job pgy_metrics.collect" in worker.logs()
    assert sorted(snapshot_counts(postgres_url).values()) == [1, 1, 1]
    # One job per creator (concurrent askers joined it), all done; pgy jobs says the same.
    assert shown["collect"] == "queue"
    assert shown["counts"]["done"] == 3
    assert shown["counts"]["queued"] == shown["counts"]["failed"] == 0
    assert sorted(job["userId"] for job in done["jobs"]) == sorted(users)
    assert {job["status"] for job in done["jobs"]} == {"done"}
    assert json.loads(listed.stdout)["counts"] == shown["counts"]
    money = asyncio.run(books(env, "shop"))
    assert money.charge_rows == 15
    assert money.reserved == money.reservations == 0


def test_without_a_worker_an_ask_waits_then_answers_301_and_gives_the_money_back(
    tmp_path: Path, postgres_url: str
) -> None:
    env = pgy_env(tmp_path / "data", postgres_url, PGY_COLLECT_WAIT_SECONDS="2")
    token = asyncio.run(issue(env, "shop", BillingPlan(balance=5)))
    admin = asyncio.run(issue_admin(env))
    with ServerProcess(env, tmp_path / "server.log", args=QUEUE) as server:
        started = time.monotonic()
        [answer] = asyncio.run(ask_all(server.base_url, token, USERS[:1]))
        waited = time.monotonic() - started
        shown = admin_jobs(server.base_url, admin)
    assert answer["code"] == 301, answer
    assert answer["data"] is None
    assert "No worker collected this request within 2 s" in answer["message"]
    assert "pgy worker" in answer["message"]
    assert waited >= 2  # it did wait for a worker
    money = asyncio.run(books(env, "shop"))
    assert (money.balance, money.charge_rows, money.reserved, money.reservations) == (5, 0, 0, 0)
    # The abandoned job is cancelled: a worker started later spends no upstream call on it.
    assert shown["counts"]["cancelled"] == 1
    assert shown["counts"]["queued"] == 0
    assert snapshot_counts(postgres_url) == Counter()


@pytest.fixture
def slow_upstream(tmp_path: Path) -> Iterator[str]:
    """The fake Pugongying in its own process, answering after 3 s: time to kill a worker."""
    with fake_pugongying_process(tmp_path, "3") as base_url:
        yield base_url


def upstream_calls(base_url: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = httpx.get(base_url + "/__fake__/requests", timeout=5).json()
    return calls


def test_a_worker_killed_mid_job_is_replaced_with_one_snapshot_and_one_charge(
    tmp_path: Path, postgres_url: str, slow_upstream: str
) -> None:
    (tmp_path / "alpha.cookies").write_text(cookie_header("alpha") + "\n", encoding="utf-8")
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{slow_upstream}"
requests_per_second = 2
timeout_seconds = 20
retry_attempts = 1

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"
""",
        encoding="utf-8",
    )
    env = pgy_env(tmp_path / "data", postgres_url, PGY_COLLECT_WAIT_SECONDS="55")
    token = asyncio.run(issue(env, "shop", BillingPlan(balance=10)))
    admin = asyncio.run(issue_admin(env))
    args = ("--config", str(config))
    user = USERS[0]
    with ServerProcess(env, tmp_path / "server.log", args=(*args, *QUEUE)) as server:
        first = WorkerProcess(env, tmp_path / "first.log", args=args).start()
        try:
            with httpx.Client(timeout=120) as client:

                async def ask() -> dict[str, Any]:
                    return await asyncio.to_thread(
                        lambda: client.get(
                            server.base_url + NOTES_RATE_PATH,
                            params={"token": token, "userId": user},
                        ).json()
                    )

                async def kill_then_replace() -> WorkerProcess:
                    deadline = time.monotonic() + 30
                    while not upstream_calls(slow_upstream):  # the first worker is calling
                        assert time.monotonic() < deadline, first.logs()
                        await asyncio.sleep(0.05)
                    first.kill()
                    return await asyncio.to_thread(
                        WorkerProcess(env, tmp_path / "second.log", args=args).start
                    )

                async def both() -> tuple[dict[str, Any], WorkerProcess]:
                    return await asyncio.gather(ask(), kill_then_replace())

                answer, second = asyncio.run(both())
                try:
                    shown = admin_jobs(server.base_url, admin)
                finally:
                    second.stop()
        finally:
            first.stop()
    assert answer["code"] == 0, (answer, server.logs())
    assert "queued again" in second.logs()  # the second worker rescued the dead one's job
    calls = upstream_calls(slow_upstream)
    assert len(calls) == 2  # the lost attempt and the one that answered
    stored = snapshot_counts(postgres_url)
    assert list(stored.values()) == [1]
    assert next(iter(stored))[0] == user
    assert shown["counts"]["done"] == 1
    assert shown["counts"]["failed"] == shown["counts"]["queued"] == 0
    money = asyncio.run(books(env, "shop"))
    assert (money.charge_rows, money.charges, money.reserved, money.reservations) == (1, 1, 0, 0)
    assert money.balance == 9


def test_two_servers_and_two_workers_make_one_upstream_call_per_key(
    tmp_path: Path, postgres_url: str, redis_url: str, upstream: str
) -> None:
    """Servers in queue mode over one PostgreSQL and one Redis: the asks of both servers for a
    creator become one job (queueing lock, or a later job that finds the snapshot stored), and
    the workers, sharing the account pool, call the upstream once per creator."""
    config = write_config(tmp_path, upstream)
    env = pgy_env(
        tmp_path / "data",
        postgres_url,
        PGY_REDIS_URL=redis_url,
        PGY_REDIS_KEY_PREFIX=f"pgy-test-{uuid.uuid4().hex[:12]}",
    )
    token = asyncio.run(issue(env, "cluster", BillingPlan(balance=1000)))
    args = ("--config", str(config))
    users = [f"{index:024x}" for index in range(100, 112)]
    asks = users * 10
    with (
        WorkerProcess(env, tmp_path / "w1.log", args=args),
        WorkerProcess(env, tmp_path / "w2.log", args=args),
        ServerProcess(env, tmp_path / "s1.log", args=(*args, *QUEUE)) as first,
        ServerProcess(env, tmp_path / "s2.log", args=(*args, *QUEUE)) as second,
    ):

        async def spread() -> list[dict[str, Any]]:
            halves = await asyncio.gather(
                ask_all(first.base_url, token, asks[::2]),
                ask_all(second.base_url, token, asks[1::2]),
            )
            return halves[0] + halves[1]

        answers = asyncio.run(spread())
    assert Counter(a["code"] for a in answers) == {0: len(asks)}, answers[:3]
    received = upstream_calls(upstream)
    assert Counter(r["params"]["userId"] for r in received) == dict.fromkeys(users, 1)
    # The account's pace over the cluster is test_cluster_collection's proof: here the arrival
    # times of 8 concurrent workers' calls on a loaded machine are no measure of when the pool
    # let each call go (a call delayed in transit lands in the next window).
    for user in users:
        assert len({a["recordTime"] for a in answers if a["asked"] == user}) == 1
    assert sorted(snapshot_counts(postgres_url).values()) == [1] * len(users)
    money = asyncio.run(books(env, "cluster"))
    assert (money.charge_rows, money.reserved, money.reservations) == (len(asks), 0, 0)


def test_worker_and_jobs_refuse_sqlite_naming_the_setting(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    worker = pgy("worker", env=env, check=False)
    jobs = pgy("jobs", env=env, check=False)
    serve = pgy("serve", "--port", "0", "--collect", "queue", env=env, check=False)
    assert worker.returncode == jobs.returncode == serve.returncode == 2
    assert "pgy worker needs PostgreSQL: set PGY_DATABASE_URL" in worker.stderr
    assert "no worker" in worker.stderr
    assert "On SQLite, pgy serve collects in-process" in jobs.stderr
    assert "PGY_COLLECT (or --collect) 'queue' needs PostgreSQL" in serve.stderr
    assert "Traceback" not in worker.stderr + jobs.stderr + serve.stderr


def test_jobs_status_option_names_the_states(tmp_path: Path, postgres_url: str) -> None:
    env = pgy_env(tmp_path / "data", postgres_url)
    refused = pgy("jobs", "--status", "stuck", env=env, check=False)
    empty = pgy("jobs", "--status", "queued", "--json", env=env)
    assert refused.returncode == 2
    assert "queued, running, done, failed, cancelled, aborted" in refused.stderr
    assert json.loads(empty.stdout) == {
        "counts": dict.fromkeys(("queued", "running", "done", "failed", "cancelled", "aborted"), 0),
        "jobs": [],
    }
