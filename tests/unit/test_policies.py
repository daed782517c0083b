"""Plans enforced by the endpoint, in process on the real store: codes 600/302/303/601, the order
of checks, prices, reservations released on failure, idempotency and the reaper.

The same guarantees under real concurrency, over HTTP and across processes, are proven in
``tests/integration/test_money.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.http import IDEMPOTENCY_KEY_MAX_CHARS, idempotency_key_problem
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.money import Refusal, ledger, reservations, usage
from pgy_metrics.store.tokens import BillingPlan
from tests.fakes import CountingSource, FailingSource

USER = "5d21ab6b000000001201567d"
OTHER = "5d21ab6b000000001201567e"
# 15:30 on 2026-11-26 in Shanghai
START = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@dataclass
class Server:
    app: FastAPI
    http: httpx.AsyncClient
    clock: FixedClock
    source: Any

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def token(self, name: str, **plan: Any) -> str:
        issued = await self.runtime.issuer.create(name, plan=BillingPlan(**plan))
        return str(issued.token)

    async def call(
        self, token: str, headers: dict[str, str] | None = None, **params: str
    ) -> httpx.Response:
        params.setdefault("userId", USER)
        return await self.http.get(
            NOTES_RATE_PATH, params={"token": token, **params}, headers=headers
        )

    async def code(self, token: str, **params: str) -> int:
        return int((await self.call(token, **params)).json()["code"])

    async def balance(self, name: str) -> int | None:
        record = await self.runtime.store.tokens.by_name(name)
        return record.plan.balance

    async def scalar(self, query: Any) -> Any:
        return await self.runtime.store.database.read(lambda c: c.execute(query).scalar())


async def _server(settings: Settings, source: Any, clock: FixedClock) -> AsyncIterator[Server]:
    app = create_app(settings, source=source, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Server(app, http, clock, source)


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


@pytest.fixture
async def server(
    tmp_path: Path, database_url: str, payload: dict[str, Any]
) -> AsyncIterator[Server]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, token_cache_seconds=0)
    async for server in _server(settings, CountingSource(payload), FixedClock(START)):
        yield server


async def test_unmetered_token_without_plan_is_unlimited_but_counted(server: Server) -> None:
    token = await server.token("team")
    codes = [await server.code(token, userId=f"{i:024x}") for i in range(30)]
    assert codes == [0] * 30
    assert await server.balance("team") is None
    assert await server.scalar(select(func.count()).select_from(ledger)) == 30
    assert await server.scalar(select(func.sum(usage.c.calls))) == 30


async def test_permission_denied_names_what_the_token_may_call(server: Server) -> None:
    token = await server.token("nothing", endpoints=())
    body = (await server.call(token)).json()
    assert body["code"] == 600 and "may not call notes_rate" in body["message"]
    allowed = await server.token("allowed", endpoints=("notes_rate",))
    assert await server.code(allowed) == 0


async def test_order_of_checks(server: Server) -> None:
    denied = await server.token("denied", endpoints=(), balance=0, daily_quota=0)
    assert await server.code("unknown", userId="bad") == 400  # params before the token
    assert await server.code("unknown") == 100  # token before permission
    assert await server.code(denied) == 600  # permission before quota and balance
    broke = await server.token("broke", balance=0, daily_quota=0)
    assert await server.code(broke) == 303  # quota before balance


async def test_rate_limit_gives_302_with_headers_and_counts_invalid_requests(
    server: Server,
) -> None:
    token = await server.token("limited", rate_limit="3/minute")
    assert await server.code(token, userId="bad") == 400  # counts against the limit
    assert [await server.code(token) for _ in range(2)] == [0, 0]
    refused = await server.call(token)
    body = refused.json()
    assert body["code"] == 302 and "3/minute" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) == int(refused.headers["Retry-After"])
    assert await server.scalar(select(func.count()).select_from(ledger)) == 2


async def test_quota_exact_under_concurrency_and_resets_at_the_shanghai_midnight(
    server: Server,
) -> None:
    token = await server.token("quota", daily_quota=5)
    first_day = await asyncio.gather(*(server.code(token, userId=f"{i:024x}") for i in range(20)))
    assert sorted(first_day) == [0] * 5 + [303] * 15
    server.clock.set(datetime(2026, 11, 26, 15, 59, 59, tzinfo=UTC))  # 23:59:59 in Shanghai
    assert await server.code(token) == 303
    server.clock.set(datetime(2026, 11, 26, 16, 0, 0, tzinfo=UTC))  # midnight in Shanghai
    next_day = await asyncio.gather(*(server.code(token, userId=f"{i:024x}") for i in range(8)))
    assert sorted(next_day) == [0] * 5 + [303] * 3
    usage_rows = await server.runtime.store.ledger.usage()
    assert [(u.day, u.calls, u.reserved) for u in usage_rows] == [
        ("2026-11-26", 5, 0),
        ("2026-11-27", 5, 0),
    ]


async def test_balance_pays_for_exactly_what_it_holds(server: Server) -> None:
    token = await server.token("prepaid", balance=3)
    codes = await asyncio.gather(*(server.code(token, userId=f"{i:024x}") for i in range(10)))
    assert sorted(codes) == [0] * 3 + [601] * 7
    assert await server.balance("prepaid") == 0
    charges = await server.scalar(
        select(func.sum(ledger.c.amount)).where(ledger.c.kind == "charge")
    )
    topups = await server.scalar(select(func.sum(ledger.c.amount)).where(ledger.c.kind == "topup"))
    assert (topups, charges) == (3, 3)
    assert await server.scalar(select(func.count()).select_from(reservations)) == 0
    message = (await server.call(token)).json()["message"]
    assert "balance is below the price" in message and "1 credits" in message
    await server.runtime.issuer.topup("prepaid", 2)
    assert await server.code(token) == 0


async def test_cached_answers_have_their_own_price(tmp_path: Path, payload: dict[str, Any]) -> None:
    settings = Settings(
        data_dir=tmp_path,
        token_cache_seconds=0,
        prices={"notes_rate": 5},
        cached_prices={"notes_rate": 2},
    )
    async for server in _server(settings, CountingSource(payload), FixedClock(START)):
        token = await server.token("priced", balance=100)
        assert await server.code(token) == 0  # collected for this request: 5
        assert await server.code(token) == 0  # cached: 2
        assert await server.balance("priced") == 93
        overridden = await server.token("override", balance=100, price=7, cached_price=1)
        assert await server.code(overridden, userId=OTHER) == 0
        assert await server.code(overridden, userId=OTHER) == 0
        assert await server.balance("override") == 92
        cached = await server.scalar(select(func.count()).where(ledger.c.cached.is_(True)))
        assert cached == 2


async def test_failures_release_the_reservation_and_charge_nothing(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    source = FailingSource(payload)
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    async for server in _server(settings, source, FixedClock(START)):
        token = await server.token("unlucky", balance=1, daily_quota=1)
        assert await server.code(token) == 301
        assert await server.balance("unlucky") == 1
        usage_rows = await server.runtime.store.ledger.usage()
        assert [(u.calls, u.reserved) for u in usage_rows] == [(0, 0)]
        assert await server.scalar(select(func.count()).select_from(reservations)) == 0
        assert (
            await server.scalar(
                select(func.count()).select_from(ledger).where(ledger.c.kind == "charge")
            )
            == 0
        )
        source.healthy = True
        assert await server.code(token) == 0
        assert await server.balance("unlucky") == 0


async def test_idempotency_key_replays_the_first_answer_without_a_second_charge(
    server: Server,
) -> None:
    token = await server.token("careful", balance=10)
    first = await server.call(token, headers={"Idempotency-Key": "order-1"})
    again = await server.call(token, headers={"Idempotency-Key": "order-1"})
    assert first.json()["code"] == 0
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Request-Id"] == first.headers["X-Request-Id"]
    assert again.headers["X-Pgy-Source"] == "counting"
    assert await server.balance("careful") == 9
    other = await server.call(token, headers={"Idempotency-Key": "order-1"}, dateType="DAY_90")
    assert other.json()["code"] == 400
    assert "Idempotency-Key was used with other parameters" in other.json()["message"]
    fresh = await server.call(token, headers={"Idempotency-Key": "order-2"})
    assert fresh.json()["code"] == 0 and fresh.content != first.content
    assert await server.balance("careful") == 8
    # keys belong to their token: another token's same key is another request
    second = await server.token("second", balance=1)
    assert (await server.call(second, headers={"Idempotency-Key": "order-1"})).json()["code"] == 0


async def test_an_idempotency_key_longer_than_the_contract_allows_is_refused(
    server: Server,
) -> None:
    token = await server.token("verbose", balance=10)
    longest = "k" * IDEMPOTENCY_KEY_MAX_CHARS
    assert (await server.call(token, headers={"Idempotency-Key": longest})).json()["code"] == 0
    refused = await server.call(token, headers={"Idempotency-Key": longest + "k"})
    assert refused.json()["code"] == 400
    assert refused.json()["message"] == idempotency_key_problem(longest + "k")
    assert await server.balance("verbose") == 9


async def test_idempotency_key_expires_after_the_retention_window(server: Server) -> None:
    token = await server.token("later", balance=10)
    first = await server.call(token, headers={"Idempotency-Key": "k"})
    server.clock.advance(hours=23, minutes=59)
    assert (await server.call(token, headers={"Idempotency-Key": "k"})).content == first.content
    server.clock.advance(minutes=2)
    late = await server.call(token, headers={"Idempotency-Key": "k"})
    assert late.json()["code"] == 0 and late.content != first.content
    assert await server.balance("later") == 8


async def test_a_failed_first_attempt_does_not_pin_its_key(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    source = FailingSource(payload)
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    async for server in _server(settings, source, FixedClock(START)):
        token = await server.token("retry", balance=5)
        assert (await server.call(token, headers={"Idempotency-Key": "x"})).json()["code"] == 301
        source.healthy = True
        assert (await server.call(token, headers={"Idempotency-Key": "x"})).json()["code"] == 0
        assert await server.balance("retry") == 4


async def test_reaper_releases_reservations_of_dead_processes(server: Server) -> None:
    await server.token("orphan", balance=10, daily_quota=3)
    record = await server.runtime.store.tokens.by_name("orphan")
    ledger = server.runtime.store.ledger
    held = await ledger.reserve(
        request_id="dead-process-request",
        token_id=record.id,
        day="2026-11-26",
        price=4,
        metered=True,
        daily_quota=3,
        at=START,
    )
    assert held is not Refusal.QUOTA and held is not Refusal.BALANCE
    assert await server.balance("orphan") == 6
    assert await server.runtime.reap() == 0  # not old enough yet
    server.clock.advance(seconds=server.runtime.settings.reservation_timeout_seconds + 1)
    assert await server.runtime.reap() == 1
    assert await server.balance("orphan") == 10
    assert [(u.calls, u.reserved) for u in await ledger.usage()] == [(0, 0)]
    assert await server.runtime.reap() == 0
