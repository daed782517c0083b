"""Two real ``pgy serve`` processes sharing the machine's PostgreSQL (a throw-away database) and
Redis (a key prefix of their own), collecting from one loopback fake Pugongying account paced at
2 requests a second that answers in 0.3 s: one upstream call per creator × scope for the whole
cluster, the account's pace held across both processes, every ask answered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import STARTUP_SECONDS, ServerProcess, free_port, pgy_env
from tests.integration.test_money import issue, redis_url
from tests.integration.test_upstream_pugongying import SECRETS, cookie_header

pytestmark = pytest.mark.integration
__all__ = ["redis_url"]  # a fixture, imported to be used here

PACE = 2
"""The account's requests_per_second."""
CREATORS = 30
ASKS = 300


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """The fake in a process of its own (its clock undisturbed by the asks); its base URL."""
    port = free_port()
    log = (tmp_path / "upstream.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.upstreams.fake_pugongying_process", str(port), "0.3"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                httpx.get(base_url + "/__fake__/requests", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)


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
