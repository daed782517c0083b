"""SIGTERM under paid load (issue 17 item 1), with a real ``pgy serve`` and a slow upstream.

Within the grace period (``PGY_SHUTDOWN_GRACE_SECONDS``) the requests in flight finish and each
success is charged exactly once; new connections are refused at once; the process exits 0. When
the upstream is slower than the grace, the requests still running are cancelled: each gives back
what it reserved, so nothing is charged for an answer never sent and no reservation is left.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.upstreams.fake_hosted_api import fixture_body
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration
RELAY_TOKEN = "relay-secret-token-for-shutdown"
IN_FLIGHT = 6
PRICE = 3
BALANCE = 100


@pytest.fixture
def slow_relay() -> Iterator[tuple[str, list[float]]]:
    """A hosted-API fake that answers the recorded fixture after a delay the test sets (the
    list's one item, in seconds): its base URL and that list."""
    delay = [2.0]

    async def answer(request: Request) -> Response:
        await asyncio.sleep(delay[0])
        return Response(fixture_body(), media_type="application/json")

    app = Starlette(routes=[Route(NOTES_RATE_PATH, answer)])
    with serve_on_loopback(app) as base_url:
        yield base_url, delay


def _config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[[sources]]
type = "justoneapi"
base_url = "{base_url}"
token_env = "RELAY_TOKEN"
timeout_seconds = 30
attempts = 1
""",
        encoding="utf-8",
    )
    return path


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def _shutdown_under_load(
    tmp_path: Path, base_url: str, *, grace: int
) -> tuple[list[httpx.Response | BaseException], bool, int | None, float, dict[str, str]]:
    env = pgy_env(tmp_path / "data", RELAY_TOKEN=RELAY_TOKEN, PGY_SHUTDOWN_GRACE_SECONDS=str(grace))
    token = await issue(env, "paying", BillingPlan(balance=BALANCE, price=PRICE))
    server = ServerProcess(
        env, tmp_path / "server.log", args=("--config", str(_config(tmp_path, base_url)))
    )
    server.start()
    process = server.process
    assert process is not None
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            asks = [
                asyncio.create_task(
                    client.get(NOTES_RATE_PATH, params={"token": token, "userId": f"{n:024x}"})
                )
                for n in range(1, IN_FLIGHT + 1)
            ]
            await asyncio.sleep(0.8)  # every request is waiting on the upstream now
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            await asyncio.sleep(0.3)
            refused = _refused(server.port)
            answers = await asyncio.gather(*asks, return_exceptions=True)
        exit_code = await asyncio.to_thread(process.wait, grace + 20)
        took = time.monotonic() - stopped_at
    finally:
        server.stop()
    return answers, refused, exit_code, took, env


async def test_requests_in_flight_finish_and_are_charged_once(
    tmp_path: Path, slow_relay: tuple[str, list[float]]
) -> None:
    base_url, delay = slow_relay
    delay[0] = 2.0
    answers, refused, exit_code, took, env = await _shutdown_under_load(
        tmp_path, base_url, grace=15
    )
    codes = [a.json()["code"] for a in answers if isinstance(a, httpx.Response)]
    assert codes == [0] * IN_FLIGHT, answers
    assert refused, "a new connection was accepted after SIGTERM"
    assert exit_code == 0 and took < 15
    money = await books(env, "paying")
    assert money.charge_rows == IN_FLIGHT and money.charges == IN_FLIGHT * PRICE
    assert money.balance == BALANCE - IN_FLIGHT * PRICE
    assert money.reservations == 0 and money.reserved == 0 and money.calls == IN_FLIGHT
    logs = (tmp_path / "server.log").read_text()
    assert "Traceback" not in logs and RELAY_TOKEN not in logs


async def test_requests_past_the_grace_are_released_not_charged(
    tmp_path: Path, slow_relay: tuple[str, list[float]]
) -> None:
    base_url, delay = slow_relay
    delay[0] = 8.0
    answers, refused, exit_code, took, env = await _shutdown_under_load(tmp_path, base_url, grace=1)
    # Each request still running is answered in the contract's envelope, not charged.
    assert all(isinstance(a, httpx.Response) for a in answers), answers
    envelopes = [a.json() for a in answers if isinstance(a, httpx.Response)]
    assert [e["code"] for e in envelopes] == [500] * IN_FLIGHT
    assert all("stopping" in e["message"] for e in envelopes)
    assert all(a.headers["X-Pgy-Charged"] == "0" for a in answers if isinstance(a, httpx.Response))
    assert refused
    assert exit_code == 0 and took < 8  # within the grace (plus start-up of the shutdown)
    money = await books(env, "paying")
    assert money.charge_rows == 0 and money.charges == 0 and money.balance == BALANCE
    assert money.reservations == 0 and money.reserved == 0 and money.calls == 0
    logs = (tmp_path / "server.log").read_text()
    assert "Traceback" not in logs and RELAY_TOKEN not in logs
