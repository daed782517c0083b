"""``GET /api/history`` and ``Cache-Control`` on the endpoints, in process (ASGI transport).

History: the gate's checks and codes, its own price key, ``since``, ``fields``, only the
configured sources' snapshots, oldest first. Cache-Control: a caller's ``max-age`` or
``no-cache`` makes the server collect anew (priced fresh) when the snapshot is too old.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pgy_metrics.client import AsyncClient, Client, HistoryPoint, InvalidParams, PermissionDenied
from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.server import create_app
from pgy_metrics.server.routes.endpoints import max_age
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import BillingPlan
from tests.fakes import CountingSource

USER = "5d21ab6b000000001201567d"
START = datetime(2026, 11, 26, 1, 0, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DEFAULT_KEY = "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL"


@dataclass
class Harness:
    app: FastAPI
    http: httpx.AsyncClient
    token: str
    source: CountingSource
    clock: FixedClock

    async def notes(self, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
        response = await self.http.get(
            NOTES_RATE_PATH,
            params={"token": self.token, "userId": USER, **params},
            headers=headers or {},
        )
        body: dict[str, Any] = response.json()
        return body

    async def history(self, **params: str) -> dict[str, Any]:
        response = await self.http.get(
            HISTORY_PATH, params={"token": self.token, "userId": USER, **params}
        )
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-request-id"]
        body: dict[str, Any] = response.json()
        return body

    async def balance(self) -> int | None:
        issuer = self.app.state.runtime.issuer
        view = await issuer.balance(await issuer.record("tester"))
        balance: int | None = view.balance
        return balance


async def _harness(
    tmp_path: Path,
    payload: dict[str, Any],
    *,
    plan: BillingPlan | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
    source = CountingSource(payload)
    app = create_app(
        Settings(data_dir=tmp_path, token_cache_seconds=0, **settings),
        source=source,
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("tester", plan=plan)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Harness(app, http, issued.token, source, clock)


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


@pytest.fixture
async def server(tmp_path: Path, payload: dict[str, Any]) -> AsyncIterator[Harness]:
    async for harness in _harness(tmp_path, payload):
        yield harness


async def _three_collections(server: Harness) -> list[str]:
    """Three collections 7 hours apart (past the 6-hour TTL); their record times."""
    times = []
    for _ in range(3):
        times.append((await server.notes())["recordTime"])
        server.clock.advance(hours=7)
    assert len(server.source.calls) == 3
    return times


async def test_history_lists_every_collection_oldest_first(
    server: Harness, payload: dict[str, Any]
) -> None:
    times = await _three_collections(server)
    await server.notes(dateType="DAY_90")  # another scope: not in this scope's history
    body = await server.history()
    assert body["code"] == 0 and body["message"] is None
    data = body["data"]
    assert data["userId"] == USER
    assert data["scope"] == {
        "endpoint": "notes_rate",
        "business": "DAILY_NOTE",
        "noteType": "PHOTO_TEXT_AND_VIDEO",
        "dateType": "DAY_30",
        "advertiseSwitch": "ALL",
    }
    assert [p["recordTime"] for p in data["points"]] == times
    assert times == sorted(times)
    assert body["recordTime"] == times[-1]
    assert all(p["source"] == "counting" and p["data"] == payload for p in data["points"])
    other = (await server.history(dateType="DAY_90"))["data"]
    assert len(other["points"]) == 1 and other["scope"]["dateType"] == "DAY_90"


async def test_history_of_a_creator_never_collected_is_empty(server: Harness) -> None:
    body = await server.history()
    assert body["code"] == 0
    assert body["data"]["points"] == [] and body["recordTime"] is None
    assert server.source.calls == []  # history never collects


async def test_since_takes_a_day_or_a_datetime(server: Harness) -> None:
    times = await _three_collections(server)  # 09:00, 16:00, 23:00 Shanghai on 2026-11-26
    assert times[0].startswith("2026-11-26T09:00")
    since_day = await server.history(since="2026-11-26")
    assert len(since_day["data"]["points"]) == 3
    assert (await server.history(since="2026-11-27"))["data"]["points"] == []
    wall = await server.history(since="2026-11-26T16:00:00")  # wall time, like recordTime
    assert [p["recordTime"] for p in wall["data"]["points"]] == times[1:]
    offset = await server.history(since="2026-11-26T08:00:01Z")  # 16:00:01 in Shanghai
    assert [p["recordTime"] for p in offset["data"]["points"]] == times[2:]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-01"}, "since"),
        ({"fields": "noteNumber,bad-name"}, "fields"),
        ({"endpoint": "nope"}, "endpoint"),
        ({"dateType": "DAY_7"}, "dateType"),
        ({"userId": "nope"}, "userId"),
    ],
)
async def test_bad_input_gives_400_naming_the_parameter(
    server: Harness, params: dict[str, str], param: str
) -> None:
    body = await server.history(**params)
    assert body["code"] == 400 and body["data"] is None
    assert body["message"].startswith(param)


async def test_a_repeated_parameter_is_400(server: Harness) -> None:
    response = await server.http.get(
        f"{HISTORY_PATH}?token={server.token}&userId={USER}&since=2026-11-01&since=2026-11-02"
    )
    body = response.json()
    assert body["code"] == 400 and "since was given more than once" in body["message"]


async def test_fields_selects_keys_of_data(server: Harness, payload: dict[str, Any]) -> None:
    await server.notes()
    body = await server.history(fields="noteNumber, readMedian,absent")
    (point,) = body["data"]["points"]
    assert point["data"] == {
        "noteNumber": payload["noteNumber"],
        "readMedian": payload["readMedian"],
        "absent": None,
    }


async def test_only_snapshots_of_the_served_sources_are_read(server: Harness) -> None:
    await server.notes()
    await server.app.state.runtime.store.snapshots.add(
        Snapshot(
            endpoint="notes_rate",
            user_id=USER,
            params_key=DEFAULT_KEY,
            collected_at=START.replace(hour=2),
            source="sandbox",
            payload='{"synthetic":true}',
        )
    )
    points = (await server.history())["data"]["points"]
    assert [p["source"] for p in points] == ["counting"]


async def test_token_permission_and_rate_limit_codes(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    async for server in _harness(tmp_path / "a", payload):
        no_token = await server.http.get(HISTORY_PATH, params={"userId": USER})
        assert no_token.json()["code"] == 100
        unknown = await server.http.get(HISTORY_PATH, params={"userId": USER, "token": "x" * 32})
        assert unknown.json()["code"] == 100
    async for server in _harness(
        tmp_path / "b", payload, plan=BillingPlan(endpoints=("notes_rate",))
    ):
        body = await server.history()
        assert body["code"] == 600 and "may not call history" in body["message"]
        assert (await server.notes())["code"] == 0
    async for server in _harness(
        tmp_path / "c", payload, plan=BillingPlan(endpoints=("history",), rate_limit="1/minute")
    ):
        assert (await server.history())["code"] == 0
        assert (await server.notes())["code"] == 600  # history alone does not allow collecting
        # (a refused permission is not counted against the rate limit)
        limited = await server.http.get(
            HISTORY_PATH, params={"token": server.token, "userId": USER}
        )
        assert limited.json()["code"] == 302 and "retry-after" in limited.headers


async def test_history_is_priced_by_its_own_key(tmp_path: Path, payload: dict[str, Any]) -> None:
    async for server in _harness(
        tmp_path,
        payload,
        plan=BillingPlan(balance=10),
        prices={"notes_rate": 1, "history": 4},
    ):
        await server.notes()
        assert await server.balance() == 9
        assert (await server.history())["code"] == 0
        assert await server.balance() == 5
        assert (await server.history())["code"] == 0
        assert await server.balance() == 1
        poor = await server.history()
        assert poor["code"] == 601 and "4 credits" in poor["message"]
        assert await server.balance() == 1


async def test_history_counts_against_the_daily_quota(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    async for server in _harness(tmp_path, payload, plan=BillingPlan(daily_quota=1)):
        assert (await server.history())["code"] == 0
        assert (await server.history())["code"] == 303


# --- Cache-Control ---------------------------------------------------------------------------


@pytest.fixture
async def priced(tmp_path: Path, payload: dict[str, Any]) -> AsyncIterator[Harness]:
    async for harness in _harness(
        tmp_path,
        payload,
        plan=BillingPlan(balance=100),
        prices={"notes_rate": 5},
        cached_prices={"notes_rate": 1},
    ):
        yield harness


async def test_max_age_older_than_the_snapshot_recollects_at_the_fresh_price(
    priced: Harness,
) -> None:
    first = await priced.notes()
    assert await priced.balance() == 95
    priced.clock.advance(seconds=120)
    younger = await priced.notes(headers={"Cache-Control": "max-age=600"})
    assert younger["recordTime"] == first["recordTime"]
    assert len(priced.source.calls) == 1
    assert await priced.balance() == 94  # cached price
    older = await priced.notes(headers={"Cache-Control": "max-age=60"})
    assert older["recordTime"] != first["recordTime"]
    assert len(priced.source.calls) == 2
    assert await priced.balance() == 89  # fresh price
    plain = await priced.notes()  # without the header: the new snapshot, cached
    assert plain["recordTime"] == older["recordTime"]
    assert len(priced.source.calls) == 2 and await priced.balance() == 88


async def test_no_cache_always_recollects(priced: Harness) -> None:
    await priced.notes()
    for calls in (2, 3):
        body = await priced.notes(headers={"Cache-Control": "no-cache"})
        assert body["code"] == 0
        assert len(priced.source.calls) == calls
    assert await priced.balance() == 85  # three fresh calls
    snapshots = await priced.app.state.runtime.store.snapshots.history(
        "notes_rate", USER, DEFAULT_KEY
    )
    assert len(snapshots) == 3


async def test_invalid_cache_control_is_ignored(priced: Harness) -> None:
    first = await priced.notes()
    for value in ("max-age=abc", "max-age=-5", "private", "max-age"):
        body = await priced.notes(headers={"Cache-Control": value})
        assert body["recordTime"] == first["recordTime"]
    assert len(priced.source.calls) == 1
    assert await priced.balance() == 91


def test_the_header_is_read_as_http_reads_it() -> None:
    assert max_age(None) is None and max_age("") is None
    assert max_age("no-cache").total_seconds() == 0  # type: ignore[union-attr]
    assert max_age("max-age=0").total_seconds() == 0  # type: ignore[union-attr]
    assert max_age("Max-Age=30").total_seconds() == 30  # type: ignore[union-attr]
    assert max_age("max-age=600, max-age=30").total_seconds() == 30  # type: ignore[union-attr]
    assert max_age('max-age="45"').total_seconds() == 45  # type: ignore[union-attr]
    assert max_age("max-age=60, no-cache").total_seconds() == 0  # type: ignore[union-attr]
    assert max_age("max-age=1.5") is None and max_age("no-store") is None


# --- the client twins ------------------------------------------------------------------------


async def test_the_async_client_reads_history(server: Harness, payload: dict[str, Any]) -> None:
    times = await _three_collections(server)
    client = AsyncClient(
        server.token,
        base_url="http://127.0.0.1",
        transport=httpx.ASGITransport(app=server.app),
        max_retries=0,
    )
    async with client:
        result = await client.history(USER, since=date(2026, 11, 26), fields=["noteNumber"])
        assert [p.record_time for p in result.points] == times
        assert result.points[0].data == {"noteNumber": payload["noteNumber"]}
        assert result.points[0].source == "counting"
        assert result.record_time == times[-1] and result.user_id == USER
        assert result.scope["dateType"] == "DAY_30" and result.endpoint == "notes_rate"
        later = await client.history(USER, since="2026-11-26T16:00:00")
        assert len(later.points) == 2 and later.points[0].data == payload
        other = await client.history(USER, dateType="DAY_90")
        assert other.points == [] and other.scope["dateType"] == "DAY_90"
        with pytest.raises(InvalidParams, match=r"^since must be a day"):
            await client.history(USER, since="last week")
        with pytest.raises(InvalidParams, match="dateType must be one of"):
            await client.history(USER, dateType="DAY_7")
    assert len(server.source.calls) == 3  # reading history never collects


def test_the_sync_client_reads_history_and_its_errors() -> None:
    sent: list[httpx.Request] = []
    point = {"recordTime": "2026-11-26T09:00:00.000000", "source": "pugongying", "data": {"a": 1}}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.params.get("since") == "2026-11-01":
            body = {"code": 600, "message": "This token may not call history.", "data": None}
            return httpx.Response(200, json=body)
        data = {"userId": USER, "scope": {"endpoint": "notes_rate"}, "points": [point]}
        body = {"code": 0, "message": None, "data": data, "recordTime": point["recordTime"]}
        return httpx.Response(200, json={**body, "requestId": "r1"})

    transport = httpx.MockTransport(answer)
    with Client("t" * 32, base_url="http://127.0.0.1", transport=transport) as client:
        result = client.history(USER, dateType="DAY_90", fields=("a",))
        assert result.points == [
            HistoryPoint(record_time=point["recordTime"], source="pugongying", data={"a": 1})
        ]
        with pytest.raises(PermissionDenied, match="may not call history"):
            client.history(USER, since=date(2026, 11, 1))
    first = sent[0]
    assert first.url.path == HISTORY_PATH
    assert dict(first.url.params) == {
        "endpoint": "notes_rate",
        "userId": USER,
        "business": "DAILY_NOTE",
        "noteType": "PHOTO_TEXT_AND_VIDEO",
        "dateType": "DAY_90",
        "advertiseSwitch": "ALL",
        "fields": "a",
        "token": "t" * 32,
    }


async def test_openapi_describes_history_and_the_header(server: Harness) -> None:
    paths = server.app.openapi()["paths"]
    history = paths[HISTORY_PATH]["get"]
    names = [p["name"] for p in history["parameters"]]
    assert names[:3] == ["token", "userId", "endpoint"]
    assert {"dateType", "since", "fields"} <= set(names)
    notes = paths[NOTES_RATE_PATH]["get"]["parameters"]
    assert any(p["name"] == "Cache-Control" and p["in"] == "header" for p in notes)


async def test_history_of_a_sibling_endpoint_is_its_own(server: Harness) -> None:
    from pgy_metrics.contract.endpoints import BLOGGER_PROFILE_SPEC, FANS_HISTORY_SPEC

    await server.http.get(BLOGGER_PROFILE_SPEC.path, params={"token": server.token, "userId": USER})
    fans = await server.http.get(
        FANS_HISTORY_SPEC.path,
        params={"token": server.token, "userId": USER, "dateType": "DAY_90"},
    )
    assert fans.json()["code"] == 0
    body = await server.history(endpoint="fans_history", dateType="DAY_90")
    assert body["code"] == 0 and len(body["data"]["points"]) == 1
    assert body["data"]["scope"]["endpoint"] == "fans_history"
    assert set(body["data"]["scope"]) == {"endpoint", *(p.name for p in FANS_HISTORY_SPEC.params)}
    profile = await server.history(endpoint="blogger_profile")
    assert profile["data"]["scope"] == {"endpoint": "blogger_profile"}
    assert len(profile["data"]["points"]) == 1
    assert (await server.history(endpoint="fans_history"))["data"]["points"] == []  # DAY_30
    assert (await server.history())["data"]["points"] == []  # notes rate never collected


async def test_every_answer_says_what_it_was_charged(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    """X-Pgy-Charged equals what the balance lost: the fresh price, the cached price, the
    history price, and 0 for a refusal."""
    async for server in _harness(
        tmp_path,
        payload,
        plan=BillingPlan(balance=11),
        prices={"notes_rate": 5, "history": 4},
        cached_prices={"notes_rate": 1},
    ):

        async def charged(path: str, harness: Harness = server) -> tuple[int, str]:
            query = {"token": harness.token, "userId": USER}
            response = await harness.http.get(path, params=query)
            return response.json()["code"], response.headers["x-pgy-charged"]

        assert await charged(NOTES_RATE_PATH) == (0, "5")  # collected
        assert await charged(NOTES_RATE_PATH) == (0, "1")  # cached
        assert await charged(HISTORY_PATH) == (0, "4")
        assert await server.balance() == 1
        assert await charged(HISTORY_PATH) == (601, "0")
        assert await server.balance() == 1
