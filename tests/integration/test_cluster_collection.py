"""Two real ``pgy serve`` processes sharing the machine's PostgreSQL (a throw-away database) and
Redis (a key prefix of their own), collecting from one loopback fake Pugongying account paced at
2 requests a second that answers in 0.3 s: one upstream call per creator × scope for the whole
cluster, the account's pace held across both processes, every ask answered."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.params import Scope
from pgy_metrics.service.account_pool import RedisAccountPool
from pgy_metrics.sources.base import AccountState, RiskControlled
from pgy_metrics.sources.pugongying import PugongyingAccount, PugongyingConfig, PugongyingSource
from pgy_metrics.store.tokens import BillingPlan
from tests.conftest import unavailable
from tests.integration.servers import (
    STARTUP_SECONDS,
    ServerProcess,
    fake_pugongying_process,
    free_port,
    pgy_env,
)
from tests.integration.test_money import issue
from tests.integration.test_upstream_pugongying import SECRETS, cookie_header
from tests.upstreams.fake_pugongying import FakePugongying
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration


PACE = 2
"""The account's requests_per_second."""
CREATORS = 30
ASKS = 300


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """The fake in a process of its own (its clock undisturbed by the asks); its base URL."""
    with fake_pugongying_process(tmp_path, "0.3") as base_url:
        yield base_url


def write_config(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "alpha.cookies").write_text(cookie_header("alpha") + "\n", encoding="utf-8")
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = {PACE}
timeout_seconds = 5
retry_attempts = 1

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"
""",
        encoding="utf-8",
    )
    return config


def busiest_second(times: list[float]) -> int:
    """The most calls in any 1-second window [t, t + 1) that starts at a call."""
    ordered = sorted(times)
    return max(
        (sum(1 for other in ordered if start <= other < start + 1) for start in ordered), default=0
    )


def test_two_servers_make_one_upstream_call_per_key_at_the_accounts_pace(
    tmp_path: Path, postgres_url: str, redis_url: str, upstream: str
) -> None:
    base_url = upstream
    config = write_config(tmp_path, base_url)
    env = pgy_env(
        tmp_path / "data",
        postgres_url,
        PGY_REDIS_URL=redis_url,
        PGY_REDIS_KEY_PREFIX=f"pgy-test-{uuid.uuid4().hex[:12]}",
        PGY_LOG_LEVEL="debug",
    )
    token = asyncio.run(issue(env, "cluster", BillingPlan()))
    args = ("--config", str(config))
    with (
        ServerProcess(env, tmp_path / "first.log", args=args) as first,
        ServerProcess(env, tmp_path / "second.log", args=args) as second,
    ):
        servers = [first.base_url, second.base_url]
        users = [f"{index:024x}" for index in range(CREATORS)]

        async def ask_all() -> list[dict[str, object]]:
            limits = httpx.Limits(max_connections=ASKS, max_keepalive_connections=ASKS)
            async with httpx.AsyncClient(timeout=120, limits=limits) as client:

                async def ask(index: int) -> dict[str, object]:
                    response = await client.get(
                        servers[index % 2] + NOTES_RATE_PATH,
                        params={"token": token, "userId": users[(index // 2) % CREATORS]},
                    )
                    answer: dict[str, object] = response.json()
                    answer["asked"] = users[(index // 2) % CREATORS]
                    return answer

                return await asyncio.gather(*(ask(index) for index in range(ASKS)))

        answers = asyncio.run(ask_all())
        status = httpx.get(first.base_url + "/status", timeout=10).json()

    codes = Counter(answer["code"] for answer in answers)
    assert codes == {0: ASKS}, [a for a in answers if a["code"] != 0][:3]
    received = httpx.get(base_url + "/__fake__/requests", timeout=10).json()
    assert all(request["account"] == SECRETS["alpha"] for request in received)
    per_creator = Counter(request["params"]["userId"] for request in received)
    assert per_creator == dict.fromkeys(users, 1)  # exactly 30 calls: one per creator × scope
    record_times: dict[object, set[object]] = {}
    for answer in answers:
        record_times.setdefault(answer["asked"], set()).add(answer["recordTime"])
    assert all(len(times) == 1 for times in record_times.values())  # the same collection
    assert busiest_second([request["at"] for request in received]) <= PACE
    assert status["account_pool"] == "shared"
    (alpha,) = status["accounts"]
    assert (alpha["account"], alpha["state"], alpha["in_flight"]) == ("alpha", "active", 0)


# -- the shared pool between two sources (two processes' worth) ------------------------------------


def pugongying_config(base_url: str, **options: Any) -> PugongyingConfig:
    accounts = [
        PugongyingAccount(
            name=name,
            cookies=dict(part.split("=", 1) for part in cookie_header(name).split("; ")),
        )
        for name in SECRETS
    ]
    return PugongyingConfig(
        accounts=accounts,
        base_url=base_url,
        requests_per_second=100.0,
        timeout_seconds=5.0,
        retry_attempts=1,
        **options,
    )


async def test_a_lost_session_and_a_rest_seen_by_one_process_hold_in_every_other(
    redis_url: str,
) -> None:
    """Two sources with a pool each on one Redis prefix, as two server processes have."""
    fake = FakePugongying()
    prefix = f"pgy-test-{uuid.uuid4().hex[:12]}"
    with serve_on_loopback(fake.app) as base_url:
        first, second = (
            PugongyingSource(
                pugongying_config(base_url), pool=RedisAccountPool(redis_url, prefix=prefix)
            )
            for _ in range(2)
        )
        try:
            fake.set_mode(SECRETS["alpha"], "http_401")
            await first.fetch(notes_query(f"{1:024x}", Scope()))  # alpha lost, beta answered
            seen = {a.account: a for a in await second.cluster_accounts()}
            assert seen["alpha"].state is AccountState.DISABLED
            assert seen["alpha"].last_failure == "session_lost"
            assert seen["beta"].state is AccountState.ACTIVE
            alpha_calls = len(fake.received_by(SECRETS["alpha"]))
            await second.fetch(notes_query(f"{2:024x}", Scope()))
            assert len(fake.received_by(SECRETS["alpha"])) == alpha_calls  # not tried again

            fake.set_mode(SECRETS["beta"], "code_300013")
            with pytest.raises(RiskControlled):
                await second.fetch(notes_query(f"{3:024x}", Scope()))
            seen = {a.account: a for a in await first.cluster_accounts()}
            beta = seen["beta"]
            assert beta.state is AccountState.COOLING_DOWN
            assert beta.cooling_until is not None and beta.cooling_until > time.time()
            assert (beta.last_failure, beta.in_flight) == ("risk_control", 0)
            beta_calls = len(fake.received_by(SECRETS["beta"]))
            with pytest.raises(RiskControlled):
                await first.fetch(notes_query(f"{4:024x}", Scope()))
            assert len(fake.received_by(SECRETS["beta"])) == beta_calls
            assert first.pool_state == "shared"
        finally:
            await first.aclose()
            await second.aclose()


# -- Redis stopped and started again under a running server ---------------------------------------


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free port (never the machine's)."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            unavailable("redis-server is not installed")
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not come up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def test_with_redis_down_collection_pauses_cached_answers_are_served_and_it_resumes(
    tmp_path: Path,
) -> None:
    redis = PrivateRedis(tmp_path)
    redis.start()
    fake = FakePugongying()
    try:
        with serve_on_loopback(fake.app) as base_url:
            config = write_config(tmp_path, base_url)
            env = pgy_env(tmp_path / "data", PGY_REDIS_URL=redis.url)
            token = asyncio.run(issue(env, "outage", BillingPlan()))
            with ServerProcess(env, tmp_path / "server.log", args=("--config", str(config))) as s:

                def ask(user: int) -> dict[str, Any]:
                    answer: dict[str, Any] = httpx.get(
                        s.base_url + NOTES_RATE_PATH,
                        params={"token": token, "userId": f"{user:024x}"},
                        timeout=30,
                    ).json()
                    return answer

                assert ask(1)["code"] == 0
                redis.stop()
                assert ask(1)["code"] == 0  # cached: no collection needed
                calls = len(fake.received)
                paused = ask(2)
                assert paused["code"] == 301
                assert "shared account pool (Redis) cannot be reached" in paused["message"]
                assert len(fake.received) == calls  # no call the pace cannot vouch for
                status = httpx.get(s.base_url + "/status", timeout=10).json()
                assert status["account_pool"] == "unreachable"

                redis.start()
                deadline = time.monotonic() + 30
                while (answer := ask(2))["code"] != 0 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert answer["code"] == 0
                status = httpx.get(s.base_url + "/status", timeout=10).json()
                assert status["account_pool"] == "shared"
    finally:
        redis.stop()
