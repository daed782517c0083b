"""The endpoint in process (ASGI transport): codes, messages, envelope, headers, secrets.

The same behaviour over real HTTP is covered in ``tests/integration``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH, NotesRateData, Scope
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import Source
from tests.fakes import CountingSource, ExplodingSource, FailingSource

USER = "5d21ab6b000000001201567d"
COLLECTED = datetime(2026, 11, 26, 7, 4, 5, 123456, tzinfo=UTC)


@dataclass
class Harness:
    app: FastAPI
    http: httpx.AsyncClient
    token: str
    source: Any

    async def call(self, **params: str) -> tuple[httpx.Response, dict[str, Any]]:
        response = await self.http.get(NOTES_RATE_PATH, params=params)
        return response, response.json()

    async def ask(self, **params: str) -> dict[str, Any]:
        return (await self.call(token=self.token, **params))[1]


async def _harness(tmp_path: Path, source: Source) -> AsyncIterator[Harness]:
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    app = create_app(settings, source=source, clock=FixedClock(COLLECTED))
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("tester")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Harness(app, http, issued.token, source)


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


@pytest.fixture
async def server(tmp_path: Path, payload: dict[str, Any]) -> AsyncIterator[Harness]:
    async for harness in _harness(tmp_path, CountingSource(payload)):
        yield harness


async def test_success_passes_data_through_with_record_time_and_request_id(
    server: Harness, payload: dict[str, Any]
) -> None:
    response, body = await server.call(token=server.token, userId=USER)
    assert response.status_code == 200
    assert list(body) == ["code", "message", "data", "recordTime", "requestId"]
    assert body["code"] == 0 and body["message"] is None
    assert body["data"] == payload
    assert json.dumps(body["data"], ensure_ascii=False) == json.dumps(payload, ensure_ascii=False)
    assert body["recordTime"] == "2026-11-26T15:04:05.123456"  # collection time, Asia/Shanghai
    assert len(body["requestId"]) == 32
    assert response.headers["X-Request-Id"] == body["requestId"]
    assert response.headers["X-Pgy-Source"] == "counting"
    assert response.headers["content-type"] == "application/json"
    NotesRateData.from_raw(body["data"])


async def test_cached_answer_keeps_its_collection_time(server: Harness) -> None:
    first = await server.ask(userId=USER)
    second = await server.ask(userId=USER)
    assert first["recordTime"] == second["recordTime"]
    assert first["requestId"] != second["requestId"]
    assert len(server.source.calls) == 1


async def test_all_four_filters_reach_the_source_as_a_scope(server: Harness) -> None:
    body = await server.ask(
        userId=USER,
        business="COOPERATE_NOTE",
        noteType="VIDEO",
        dateType="DAY_90",
        advertiseSwitch="ORGANIC_ONLY",
    )
    assert body["code"] == 0
    assert server.source.calls == [(USER, "COOPERATE_NOTE.VIDEO.DAY_90.ORGANIC_ONLY")]


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({}, ["userId is required", "24 lowercase hex"]),
        ({"userId": ""}, ["userId is required"]),
        ({"userId": "abc"}, ["userId must be 24 lowercase hex", "'abc'"]),
        ({"userId": USER.upper()}, ["userId must be 24 lowercase hex"]),
        ({"userId": USER, "business": "SPONSORED"}, ["business", "DAILY_NOTE, COOPERATE_NOTE"]),
        (
            {"userId": USER, "noteType": "REEL"},
            ["noteType", "PHOTO_TEXT_AND_VIDEO, PHOTO_TEXT, VIDEO"],
        ),
        ({"userId": USER, "dateType": "DAY_7"}, ["dateType", "DAY_30, DAY_90"]),
        ({"userId": USER, "advertiseSwitch": "PAID"}, ["advertiseSwitch", "ALL, ORGANIC_ONLY"]),
    ],
)
async def test_bad_parameters_give_400_naming_the_parameter(
    server: Harness, params: dict[str, str], fragments: list[str]
) -> None:
    response, body = await server.call(token=server.token, **params)
    assert response.status_code == 200
    assert body["code"] == 400
    assert body["data"] is None
    for fragment in fragments:
        assert fragment in body["message"]
    assert server.source.calls == []


async def test_repeated_parameter_is_400(server: Harness) -> None:
    response = await server.http.get(
        NOTES_RATE_PATH
        + f"?token={server.token}&userId={USER}&business=DAILY_NOTE&business=COOPERATE_NOTE"
    )
    body = response.json()
    assert body["code"] == 400 and "business was given more than once" in body["message"]


async def test_parameters_are_checked_before_the_token(server: Harness) -> None:
    _, body = await server.call(token="wrong", userId="bad")
    assert body["code"] == 400


async def test_missing_or_unknown_token_gives_100(server: Harness) -> None:
    _, missing = await server.call(userId=USER)
    assert missing["code"] == 100 and "token is required" in missing["message"]
    _, unknown = await server.call(token="pgy_" + "x" * 43, userId=USER)
    assert unknown["code"] == 100 and "unknown, revoked or expired" in unknown["message"]
    assert server.source.calls == []


async def test_revoked_token_gives_100(server: Harness) -> None:
    assert (await server.ask(userId=USER))["code"] == 0
    await server.app.state.runtime.issuer.revoke("tester")
    assert (await server.ask(userId=USER))["code"] == 100


async def test_collection_failure_gives_301_and_stores_nothing(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    source = FailingSource(payload)
    async for harness in _harness(tmp_path, source):
        response, body = await harness.call(token=harness.token, userId=USER)
        assert response.status_code == 200
        assert body["code"] == 301 and body["data"] is None and body["recordTime"] is None
        assert "timed out" in body["message"]
        store = harness.app.state.runtime.store
        assert await store.snapshots.history(NOTES_RATE, USER, Scope().key) == []
        source.healthy = True
        assert (await harness.ask(userId=USER))["code"] == 0


async def test_unexpected_errors_give_a_generic_500_and_log_the_traceback(
    tmp_path: Path, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async for harness in _harness(tmp_path, ExplodingSource(payload)):
        response, body = await harness.call(token=harness.token, userId=USER)
        assert response.status_code == 200
        assert body["code"] == 500 and body["data"] is None
        assert body["requestId"] in body["message"]
        text = response.text
        assert "boom" not in text and "Traceback" not in text and "RuntimeError" not in text
        assert ExplodingSource.SECRET not in text
    logged = [r for r in caplog.records if r.exc_info and "unexpected error" in r.getMessage()]
    assert logged, "the traceback must be logged server-side"
    assert body["requestId"] in logged[0].getMessage()


async def test_openapi_documents_the_endpoint_and_its_parameters(server: Harness) -> None:
    spec = (await server.http.get("/openapi.json")).json()
    operation = spec["paths"][NOTES_RATE_PATH]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == [
        "token",
        "userId",
        "business",
        "noteType",
        "dateType",
        "advertiseSwitch",
        "Cache-Control",  # a header: our extension (docs/api.md)
    ]


async def test_probes(server: Harness) -> None:
    assert (await server.http.get("/healthz")).json() == {"status": "ok"}
    ready = (await server.http.get("/readyz")).json()
    assert ready == {"status": "ok", "source": "counting"}
