"""The sources collect the sibling endpoints. ``pugongying`` asks each as the blogger-detail page
does: the upstream path (the creator id in the path where upstream puts it, else in the query),
every parameter explicit as Pugongying's number, the creator's Referer; ``justoneapi`` relays each
to its hosted path with every parameter by name; ``replay`` reads ``<userId>/<endpoint>.<scope
key>.json``. Each returns ``data`` untouched. The network is an ``httpx.MockTransport`` answering
the recorded fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pgy_metrics.contract.endpoints import ENDPOINTS, Query
from pgy_metrics.sources.justoneapi import JustOneApiConfig, JustOneApiSource
from pgy_metrics.sources.pugongying import (
    UPSTREAM_REQUESTS,
    PugongyingAccount,
    PugongyingConfig,
    PugongyingSource,
)
from pgy_metrics.sources.replay import ReplaySource, recording_path
from tests.conftest import FIXTURES

USER = "5d21ab6b000000001201567d"
FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}
COOKIES = {
    "access-token-pgy.xiaohongshu.com": "customer.pgy.AT-test",
    "a1": "18c0ffeea1",
}
CASES: list[tuple[Query, str, dict[str, str]]] = [
    (ENDPOINTS["blogger_profile"].query(USER), f"/api/solar/cooperator/user/blogger/{USER}", {}),
    (
        ENDPOINTS["data_summary"].query(USER),
        "/api/solar/kol/dataV3/dataSummary",
        {"userId": USER, "business": "0"},
    ),
    (
        ENDPOINTS["data_summary"].query(USER, business="COOPERATE_NOTE"),
        "/api/solar/kol/dataV3/dataSummary",
        {"userId": USER, "business": "1"},
    ),
    (ENDPOINTS["fans_summary"].query(USER), "/api/solar/kol/dataV3/fansSummary", {"userId": USER}),
    (ENDPOINTS["fans_profile"].query(USER), f"/api/solar/kol/data/{USER}/fans_profile", {}),
    (
        ENDPOINTS["fans_history"].query(USER),
        f"/api/solar/kol/data/{USER}/fans_overall_new_history",
        {"dateType": "1", "increaseType": "1"},
    ),
    (
        ENDPOINTS["fans_history"].query(USER, dateType="DAY_90", increaseType="FANS_INCREASE"),
        f"/api/solar/kol/data/{USER}/fans_overall_new_history",
        {"dateType": "2", "increaseType": "2"},
    ),
]


def _fixture_data(name: str) -> Any:
    return json.loads((FIXTURES / FIXTURE_OF[name]).read_bytes())["data"]


def test_every_endpoint_has_an_upstream_request() -> None:
    assert set(UPSTREAM_REQUESTS) == set(ENDPOINTS)


@pytest.mark.parametrize(
    ("query", "path", "params"),
    CASES,
    ids=[f"{query.endpoint.name}-{query.scope_key}" for query, _, _ in CASES],
)
async def test_each_sibling_is_asked_at_its_upstream_path_with_numbers(
    query: Query, path: str, params: dict[str, str]
) -> None:
    seen: list[httpx.Request] = []
    data = _fixture_data(query.endpoint.name)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"code": 0, "success": True, "msg": "成功", "data": data}
        return httpx.Response(200, json=body)

    config = PugongyingConfig(
        accounts=[PugongyingAccount(name="alpha", cookies=COOKIES)],
        base_url="https://pgy.example",
        requests_per_second=1000.0,
    )
    source = PugongyingSource(config, transport=httpx.MockTransport(answer))
    try:
        got = await source.fetch(query)
    finally:
        await source.aclose()

    assert got == data
    assert json.dumps(got, ensure_ascii=False) == json.dumps(data, ensure_ascii=False)
    (request,) = seen
    assert request.method == "GET"
    assert request.url.host == "pgy.example" and request.url.path == path
    assert dict(request.url.params) == params
    referer = f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER}"
    assert request.headers["Referer"] == referer


@pytest.mark.parametrize("query", [case[0] for case in CASES], ids=[c[0].describe() for c in CASES])
async def test_the_relay_asks_the_hosted_path_with_every_parameter(query: Query) -> None:
    seen: list[httpx.URL] = []
    data = _fixture_data(query.endpoint.name)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"code": 0, "message": None, "data": data})

    config = JustOneApiConfig(token=SecretStr("relay-token"), base_url="https://relay.example")
    relay = JustOneApiSource(config, transport=httpx.MockTransport(answer))
    try:
        assert await relay.fetch(query) == data
    finally:
        await relay.aclose()
    (url,) = seen
    assert url.path == query.endpoint.path
    assert {k: v for k, v in url.params.items() if k != "token"} == query.api_params()


async def test_replay_serves_each_sibling_from_its_recording(tmp_path: Path) -> None:
    for query, _path, _params in CASES:
        path = recording_path(tmp_path, query)
        assert path.name == f"{query.endpoint.name}.{query.scope_key}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes((FIXTURES / FIXTURE_OF[query.endpoint.name]).read_bytes())
    replay = ReplaySource(tmp_path)
    assert recording_path(tmp_path, CASES[0][0]) == tmp_path / USER / "blogger_profile.-.json"
    for query, _path, _params in CASES:
        assert await replay.fetch(query) == _fixture_data(query.endpoint.name)
