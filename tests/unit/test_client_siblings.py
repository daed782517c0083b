"""The typed methods of the five sibling endpoints, on ``Client`` and ``AsyncClient`` alike, with
httpx.MockTransport serving the recorded fixtures: typed data with the raw JSON kept, every
parameter sent explicitly, bad filters refused before sending, off-contract data a
``ProtocolError``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from pgy_metrics.client import (
    AsyncClient,
    BatchItem,
    BatchStats,
    Client,
    EndpointResult,
    InvalidParams,
    ProtocolError,
    SiblingResult,
)
from pgy_metrics.client.batch import EndpointScope
from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.contract.params import Scope
from pgy_metrics.contract.siblings import (
    BloggerProfileData,
    DataSummaryData,
    FansHistoryData,
    FansProfileData,
    FansSummaryData,
)
from tests.conftest import FIXTURES

TOKEN = "pgy_" + "S3cr3tT0k3n-" * 3 + "abcdefg"
USER = "5d21ab6b000000001201567d"
BASE = "https://api.example.test"
FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
    "notes_rate": "justoneapi-notesrate-3-notes.json",
}
METHODS = {
    "blogger_profile": ("profile", BloggerProfileData, {}),
    "data_summary": ("data_summary", DataSummaryData, {"business": "DAILY_NOTE"}),
    "fans_summary": ("fans_summary", FansSummaryData, {}),
    "fans_profile": ("fans_profile", FansProfileData, {}),
    "fans_history": (
        "fans_history",
        FansHistoryData,
        {"dateType": "DAY_30", "increaseType": "FANS_TOTAL"},
    ),
}


class Server:
    """Answers each sibling path with its fixture (or ``override`` data), recording requests."""

    def __init__(self, override: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.override = override

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        spec = ENDPOINTS.by_path(request.url.path)
        assert spec is not None, request.url.path
        body = json.loads((FIXTURES / FIXTURE_OF[spec.name]).read_bytes())
        if self.override is not None:
            body["data"] = self.override
        return httpx.Response(200, json=body, headers={"X-Pgy-Source": "replay"})


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``call(server, method, *args, **kwargs)`` on a fresh client of the parametrised kind."""
    runner = asyncio.Runner()

    def run(server: Server, method: str, *args: Any, **kwargs: Any) -> Any:
        transport = httpx.MockTransport(server)
        if request.param == "sync":
            with Client(TOKEN, base_url=BASE, transport=transport) as client:
                return getattr(client, method)(*args, **kwargs)

        async def go() -> Any:
            async with AsyncClient(TOKEN, base_url=BASE, transport=transport) as client:
                return await getattr(client, method)(*args, **kwargs)

        return runner.run(go())

    yield run
    runner.close()


@pytest.mark.parametrize("endpoint", sorted(METHODS))
def test_each_typed_method_returns_its_model_with_the_raw_json(call: Any, endpoint: str) -> None:
    method, model, sent = METHODS[endpoint]
    server = Server()
    result = call(server, method, USER)
    assert isinstance(result, SiblingResult)
    assert isinstance(result.data, model)
    recorded = json.loads((FIXTURES / FIXTURE_OF[endpoint]).read_bytes())
    assert result.data.raw == recorded["data"]
    assert list(result.data.raw) == list(recorded["data"]), "key order kept"
    assert result.endpoint == endpoint and result.user_id == USER
    assert result.params == {"userId": USER, **sent}
    assert result.source == "replay" and result.record_time == recorded["recordTime"]
    (request,) = server.requests
    assert request.url.path == ENDPOINTS[endpoint].path
    # Every enum is sent explicitly (the hosted API once answered 400 without them).
    assert dict(request.url.params) == {"token": TOKEN, "userId": USER, **sent}


def test_filters_are_sent_as_given(call: Any) -> None:
    server = Server()
    call(server, "data_summary", USER, business="COOPERATE_NOTE")
    call(server, "fans_history", USER, date_type="DAY_90", increase_type="FANS_INCREASE")
    assert server.requests[0].url.params["business"] == "COOPERATE_NOTE"
    assert server.requests[1].url.params["dateType"] == "DAY_90"
    assert server.requests[1].url.params["increaseType"] == "FANS_INCREASE"


@pytest.mark.parametrize(
    ("method", "kwargs", "param", "fragment"),
    [
        ("fans_history", {"date_type": "DAY_7"}, "date_type", "DAY_30, DAY_90"),
        ("fans_history", {"increase_type": "ALL"}, "increase_type", "FANS_TOTAL, FANS_INCREASE"),
        ("data_summary", {"business": "X"}, "business", "DAILY_NOTE, COOPERATE_NOTE"),
    ],
)
def test_bad_filters_are_refused_before_sending(
    call: Any, method: str, kwargs: dict[str, str], param: str, fragment: str
) -> None:
    server = Server()
    with pytest.raises(InvalidParams) as raised:
        call(server, method, USER, **kwargs)
    assert raised.value.param == param and fragment in str(raised.value)
    with pytest.raises(InvalidParams, match="24 lowercase hex"):
        call(server, "profile", "not-an-id")
    assert server.requests == []


def test_data_off_the_contract_is_a_protocol_error(call: Any) -> None:
    server = Server(override={"fansNum": "2031"})
    with pytest.raises(ProtocolError, match="fansNum"):
        call(server, "fans_summary", USER)


def test_a_creator_not_on_the_marketplace_has_no_price(call: Any) -> None:
    data = json.loads((FIXTURES / FIXTURE_OF["blogger_profile"]).read_bytes())["data"]
    data.update(picturePrice=None, videoPrice=None, lowerPrice=None, pictureState=None)
    result = call(Server(override=data), "profile", USER)
    assert result.data.picture_price is None and not result.data.on_marketplace


def test_a_batch_mixes_notes_rate_and_sibling_scopes_and_resumes_from_its_checkpoint(
    tmp_path: Path,
) -> None:
    server = Server()
    scopes = [Scope(), EndpointScope.of("fans_profile"), EndpointScope.of("fans_history")]
    checkpoint = tmp_path / "run.sqlite3"
    users = [USER, "5d21ab6b000000001201567e"]

    async def run() -> tuple[list[BatchItem], BatchStats]:
        transport = httpx.MockTransport(server)
        async with AsyncClient(TOKEN, base_url=BASE, transport=transport) as client:
            batch = client.batch(users, scopes=scopes, checkpoint=checkpoint)
            return [item async for item in batch], batch.stats

    first, stats = asyncio.run(run())
    assert stats.ok == 6 and stats.billable_calls == 6 and len(server.requests) == 6
    by_key = {(item.user_id, item.scope.key): item for item in first}
    history = by_key[(USER, "fans_history.DAY_30.FANS_TOTAL")]
    assert history.endpoint == "fans_history" and isinstance(history.result, EndpointResult)
    assert history.result.params == {
        "userId": USER,
        "dateType": "DAY_30",
        "increaseType": "FANS_TOTAL",
    }
    assert by_key[(USER, Scope().key)].endpoint == "notes_rate"

    again, stats = asyncio.run(run())
    assert len(server.requests) == 6, "nothing is sent again"
    assert stats.from_checkpoint == 6 and stats.billable_calls == 0
    for item in again:
        before = by_key[(item.user_id, item.scope.key)]
        assert item.result is not None and before.result is not None
        assert item.from_checkpoint and item.result.envelope == before.result.envelope
        assert type(item.result) is type(before.result)
