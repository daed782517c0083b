"""The five sibling endpoints over real HTTP (``pgy serve`` under uvicorn on loopback): the
official ``justoneapi`` SDK's own methods get code 0 and data shaped like the recorded fixtures,
our typed client (both twins) gets typed results, and replaying each fixture gives its ``data``
back unchanged (issue 14, items 5 and 7)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from justoneapi import JustOneAPIClient

from pgy_metrics.client import AsyncClient, Client, SiblingResult
from pgy_metrics.contract.endpoints import ENDPOINTS, SIBLING_SPECS
from pgy_metrics.contract.siblings import WireModel
from pgy_metrics.sources.replay import recording_name
from tests.conftest import FIXTURES
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}
NULLABLE = {
    "picturePrice",
    "videoPrice",
    "lowerPrice",
    "pictureState",
    "videoState",
    "pictureShowState",
    "videoShowState",
    "priceState",
    "cooperateState",
    "currentLevel",
    "contentTags",
    "featureTags",
    "personalTags",
    "travelAreaList",
    "tradeType",
    "clothingIndustryPrice",
}
"""Profile keys docs/api.md documents as null for some creators (one not on the marketplace)."""


def _fixture(endpoint: str) -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads((FIXTURES / FIXTURE_OF[endpoint]).read_bytes())
    return recorded


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def assert_same_shape(got: Any, recorded: Any, where: str) -> None:
    """Same keys and JSON types, recursively (a list's items against the recorded first item);
    a key recorded as null, or documented as nullable and null here, says nothing of its type."""
    if recorded is None:
        return
    if got is None and where.rsplit(".", 1)[-1] in NULLABLE:
        return
    assert _json_type(got) == _json_type(recorded), (where, got, recorded)
    if isinstance(recorded, dict):
        assert set(got) == set(recorded), (where, set(got) ^ set(recorded))
        for key, value in recorded.items():
            assert_same_shape(got[key], value, f"{where}.{key}")
    elif isinstance(recorded, list) and recorded:
        for index, item in enumerate(got):
            assert_same_shape(item, recorded[0], f"{where}[{index}]")


SDK_CALLS = {
    "blogger_profile": ("api_solar_cooperator_user_blogger_user_id_v1", {}),
    "data_summary": ("api_solar_kol_data_v3_data_summary_v1", {"business": "COOPERATE_NOTE"}),
    "fans_summary": ("api_solar_kol_data_v3_fans_summary_v1", {}),
    "fans_profile": ("api_solar_kol_data_user_id_fans_profile_v1", {}),
    "fans_history": (
        "api_solar_kol_data_user_id_fans_overall_new_history_v1",
        {"date_type": "DAY_90", "increase_type": "FANS_INCREASE"},
    ),
}
"""Each sibling's method of the official SDK (``client.xiaohongshu_pgy``), with non-default
parameters where it has any, so the SDK's parameter names are exercised too."""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    folder = tmp_path_factory.mktemp("siblings-http")
    env = pgy_env(folder / "data")
    token = pgy("token", "create", "--name", "siblings", env=env).stdout.strip()
    with ServerProcess(env, folder / "server.log") as server:
        yield server, token
    assert token not in server.logs()


def test_official_sdk_gets_code_0_and_fixture_shaped_data_for_every_sibling(
    sandbox: tuple[ServerProcess, str],
) -> None:
    server, token = sandbox
    users = [USER, *(f"{0x5D21AB6B000000000000000 + i * 7919:024x}" for i in range(3))]
    with JustOneAPIClient(token=token, base_url=server.base_url) as client:
        for endpoint, (method, params) in SDK_CALLS.items():
            for user in users:
                response = getattr(client.xiaohongshu_pgy, method)(user_id=user, **params)
                assert response.success, (endpoint, response.message)
                assert response.code == 0
                assert_same_shape(response.data, _fixture(endpoint)["data"], endpoint)
                model = ENDPOINTS[endpoint].data_model
                assert issubclass(model, WireModel)
                model.from_raw(response.data)
                assert response.raw_json["recordTime"]
        bad = client.xiaohongshu_pgy.api_solar_kol_data_user_id_fans_overall_new_history_v1(
            user_id=USER, date_type="DAY_7"
        )
        assert bad.code == 400 and "dateType" in bad.message


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_typed_client_methods_against_the_server(
    sandbox: tuple[ServerProcess, str], kind: str
) -> None:
    server, token = sandbox
    calls: list[tuple[str, dict[str, str]]] = [
        ("profile", {}),
        ("data_summary", {"business": "COOPERATE_NOTE"}),
        ("fans_summary", {}),
        ("fans_profile", {}),
        ("fans_history", {"date_type": "DAY_90"}),
    ]

    async def run_async() -> list[SiblingResult[Any]]:
        async with AsyncClient(token, base_url=server.base_url) as client:
            return [await getattr(client, name)(USER, **kw) for name, kw in calls]

    if kind == "sync":
        with Client(token, base_url=server.base_url) as client:
            results = [getattr(client, name)(USER, **kw) for name, kw in calls]
    else:
        results = asyncio.run(run_async())
    by_name = {result.endpoint: result for result in results}
    assert [spec.name for spec in SIBLING_SPECS] == list(by_name)
    for spec in SIBLING_SPECS:
        result = by_name[spec.name]
        assert isinstance(result.data, spec.data_model)
        assert result.source == "sandbox" and result.synthetic
    history = by_name["fans_history"].data
    assert history.points is not None and len(history.points) == 90
    summary = by_name["fans_summary"].data
    assert summary.fans_num == by_name["blogger_profile"].data.fans_count
    assert by_name["data_summary"].params["business"] == "COOPERATE_NOTE"


def test_replaying_each_fixture_gives_its_data_unchanged(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    for spec in SIBLING_SPECS:
        query = spec.query(USER)  # the fixtures' scope: every parameter at its default
        target = recordings / recording_name(query)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((FIXTURES / FIXTURE_OF[spec.name]).read_bytes())
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "replay", env=env).stdout.strip()
    args = ("--source", "replay", "--replay-dir", str(recordings))
    with ServerProcess(env, tmp_path / "server.log", args=args) as server:
        for spec in SIBLING_SPECS:
            response = httpx.get(
                server.base_url + spec.path, params={"token": token, "userId": USER}, timeout=30
            )
            assert response.headers["X-Pgy-Source"] == "replay"
            body = response.json()
            assert body["code"] == 0, body
            recorded = _fixture(spec.name)["data"]
            # Same data, key order and number spellings included.
            assert json.dumps(body["data"], ensure_ascii=False) == json.dumps(
                recorded, ensure_ascii=False
            )
            model = spec.data_model
            assert issubclass(model, WireModel)
            assert model.from_raw(body["data"]).wire() == recorded
        other = httpx.get(
            server.base_url + ENDPOINTS["fans_history"].path,
            params={"token": token, "userId": USER, "dateType": "DAY_90"},
            timeout=30,
        ).json()
        assert other["code"] == 301 and "fans_history.DAY_90.FANS_TOTAL.json" in other["message"]
