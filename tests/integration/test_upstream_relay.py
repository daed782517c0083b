"""``pgy serve --config`` relaying to a real local HTTP fake of the hosted API.

Every failure mode of the relay gives our caller the right code and charges nothing; the snapshot
records the relay as its source; after enough failures the health label says so; and neither our
API token nor the relay token reaches a log line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.upstreams.fake_hosted_api import FakeHostedApi
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration
RELAY_TOKEN = "relay-secret-token-0123456789abcdef"


@pytest.fixture
def relay() -> Iterator[tuple[FakeHostedApi, str]]:
    fake = FakeHostedApi(token=RELAY_TOKEN, hang_seconds=3)
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


def _config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "pgy.toml"
    path.write_text(
        f"""
[[sources]]
type = "justoneapi"
base_url = "{base_url}"
token_env = "RELAY_TOKEN"
timeout_seconds = 1
attempts = 2
""",
        encoding="utf-8",
    )
    return path


async def test_relay_failure_modes_codes_charges_health_and_secrets(
    tmp_path: Path, relay: tuple[FakeHostedApi, str]
) -> None:
    fake, base_url = relay
    env = pgy_env(
        tmp_path / "data",
        RELAY_TOKEN=RELAY_TOKEN,
        PGY_HEALTH_FLUSH_SECONDS="0.2",
    )
    token = await issue(env, "paying", BillingPlan(balance=100))
    args = ("--config", str(_config(tmp_path, base_url)))
    with ServerProcess(env, tmp_path / "server.log", args=args) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:

            async def ask(index: int) -> httpx.Response:
                return await client.get(
                    NOTES_RATE_PATH, params={"token": token, "userId": f"{index:024x}"}
                )

            ok = await ask(1)
            assert ok.json()["code"] == 0
            assert ok.headers["X-Pgy-Source"] == "justoneapi"
            expected = json.loads(fake.success_body)["data"]
            assert ok.json()["data"] == expected
            sent = fake.requests[-1]
            assert [
                sent.get(p) for p in ("business", "noteType", "dateType", "advertiseSwitch")
            ] == [
                "DAILY_NOTE",
                "PHOTO_TEXT_AND_VIDEO",
                "DAY_30",
                "ALL",
            ]

            modes = [
                "code_601",
                "code_100",
                "http_502",
                "spring_400",
                "html",
                "timeout",
                "code_303",
            ]
            for index, mode in enumerate(modes, start=10):
                fake.always(mode)
                body = (await ask(index)).json()
                assert body["code"] == 301, (mode, body)
                assert RELAY_TOKEN not in body["message"]
            fake.always("code_301")
            for index in range(100, 106):
                assert (await ask(index)).json()["code"] == 301

            final = await books(env, "paying")
            assert (final.charge_rows, final.balance, final.reservations) == (1, 99, 0)

            deadline = time.monotonic() + 10
            label = None
            while time.monotonic() < deadline:
                subjects = {
                    s["subject"]: s for s in (await client.get("/status")).json()["subjects"]
                }
                relay_health = subjects.get("notes_rate/justoneapi")
                if relay_health and relay_health["ok"] + relay_health["failed"] >= 14:
                    label = relay_health["label"]
                    break
                await asyncio.sleep(0.2)
            assert label == "Mostly unavailable"
            page = (await client.get("/status.html")).text
            assert "notes_rate/justoneapi" in page and RELAY_TOKEN not in page
            metrics = (await client.get("/metrics")).text
            assert 'pgy_requests_total{code="301"} 13.0' in metrics
    logs = server.logs()
    assert RELAY_TOKEN not in logs and token not in logs


async def test_failover_to_the_next_source_which_the_snapshot_records(
    tmp_path: Path, relay: tuple[FakeHostedApi, str]
) -> None:
    fake, base_url = relay
    config = _config(tmp_path, base_url)
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[failover]\ncooldown_seconds = 600\n\n[[sources]]\ntype = "sandbox"\n',
        encoding="utf-8",
    )
    env = pgy_env(tmp_path / "data", RELAY_TOKEN=RELAY_TOKEN, PGY_HEALTH_FLUSH_SECONDS="0.2")
    token = await issue(env, "t", BillingPlan())
    fake.always("code_601")  # the relay's own balance ran out: it needs its operator
    args = ("--config", str(config))
    with ServerProcess(env, tmp_path / "server.log", args=args) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            answers = [
                await client.get(NOTES_RATE_PATH, params={"token": token, "userId": f"{i:024x}"})
                for i in range(1, 6)
            ]
            assert [a.json()["code"] for a in answers] == [0] * 5
            assert {a.headers["X-Pgy-Source"] for a in answers} == {"sandbox"}
            assert fake.calls == 1, "a failed source rests instead of being asked every time"
            # Outcomes reach /status by periodic flushes (every 0.2 s here), so the five may
            # arrive over two flushes: wait for all of them, not for the first to appear.
            deadline = time.monotonic() + 10
            subjects: dict[str, Any] = {}

            def flushed() -> bool:
                return (
                    subjects.get("notes_rate/sandbox", {}).get("ok") == 5
                    and subjects.get("notes_rate", {}).get("ok") == 5
                )

            while time.monotonic() < deadline and not flushed():
                status = (await client.get("/status")).json()
                subjects = {s["subject"]: s for s in status["subjects"]}
                await asyncio.sleep(0.2)
            assert subjects["notes_rate/sandbox"]["ok"] == 5
            assert subjects["notes_rate/justoneapi"]["failed"] == 1
            assert subjects["notes_rate"]["ok"] == 5
    logs = server.logs()
    assert RELAY_TOKEN not in logs and token not in logs
