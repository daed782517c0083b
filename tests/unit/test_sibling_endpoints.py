"""The five sibling endpoints of notes rate (docs/api.md) through a real in-process app: their
paths and parameters, 400 messages naming the parameter, code 600 for a plan without them, their
price keys and OpenAPI, and their ``data`` passed through from the sandbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import ENDPOINTS, SIBLING_SPECS, EndpointSpec
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.tokens import BillingPlan
from tests.conftest import FIXTURES

USER = "5d21ab6b000000001201567d"
NOW = datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)
FIXTURE_NAMES = {
    "blogger_profile": "blogger-profile",
    "data_summary": "data-summary",
    "fans_summary": "fans-summary",
    "fans_profile": "fans-profile",
    "fans_history": "fans-history",
}
NAMES = ["blogger_profile", "data_summary", "fans_summary", "fans_profile", "fans_history"]
BAD: dict[str, tuple[str, str, str]] = {
    "data_summary": ("business", "SPONSORED", "business must be one of DAILY_NOTE, COOPERATE_NOTE"),
    "fans_history": ("increaseType", "NEW", "increaseType must be one of FANS_TOTAL, FANS_INCR"),
}


async def _app(tmp_path: Path, plan: BillingPlan) -> AsyncIterator[tuple[FastAPI, str]]:
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    app = create_app(settings, clock=FixedClock(NOW))
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("tester", plan=plan)
        yield app, issued.token


async def _get(app: FastAPI, spec: EndpointSpec, params: dict[str, str]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get(spec.path, params=params)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_registry_has_the_five_siblings_at_their_hosted_paths() -> None:
    assert [spec.name for spec in SIBLING_SPECS] == NAMES
    assert list(ENDPOINTS)[1:] == NAMES
    prefix = "/api/xiaohongshu-pgy/api/solar/"
    assert {spec.name: spec.path.removeprefix(prefix) for spec in SIBLING_SPECS} == {
        "blogger_profile": "cooperator/user/blogger/userId/v1",
        "data_summary": "kol/dataV3/dataSummary/v1",
        "fans_summary": "kol/dataV3/fansSummary/v1",
        "fans_profile": "kol/data/userId/fans_profile/v1",
        "fans_history": "kol/data/userId/fans_overall_new_history/v1",
    }
    for spec in SIBLING_SPECS:
        assert spec.permission == spec.price_key == spec.name
    history = ENDPOINTS["fans_history"].query(USER)
    assert history.api_params() == {
        "userId": USER,
        "dateType": "DAY_30",
        "increaseType": "FANS_TOTAL",
    }
    assert ENDPOINTS["fans_history"].query(
        USER, dateType="DAY_90", increaseType="FANS_INCREASE"
    ).upstream_params() == {"dateType": 2, "increaseType": 2}
    assert ENDPOINTS["data_summary"].query(USER, business="COOPERATE_NOTE").upstream_params() == {
        "business": 1
    }


def test_prices_accept_the_sibling_names() -> None:
    settings = Settings(prices={"notes_rate": 1, "blogger_profile": 2, "fans_history": 0})
    assert settings.prices["blogger_profile"] == 2


@pytest.mark.parametrize("name", NAMES)
async def test_bad_parameters_get_400_naming_the_parameter(tmp_path: Path, name: str) -> None:
    spec = ENDPOINTS[name]
    async for app, token in _app(tmp_path, BillingPlan(balance=10)):
        body = await _get(app, spec, {"token": token, "userId": "nope"})
        assert body["code"] == 400 and "userId" in body["message"]
        if name in BAD:
            param, value, message = BAD[name]
            body = await _get(app, spec, {"token": token, "userId": USER, param: value})
            assert body["code"] == 400 and message in body["message"]


@pytest.mark.parametrize("name", NAMES)
async def test_a_plan_without_it_gets_600(tmp_path: Path, name: str) -> None:
    async for app, token in _app(tmp_path, BillingPlan(endpoints=("notes_rate",))):
        body = await _get(app, ENDPOINTS[name], {"token": token, "userId": USER})
        assert body["code"] == 600 and body["data"] is None
        assert name in body["message"]


async def test_openapi_describes_every_sibling(tmp_path: Path) -> None:
    async for app, _token in _app(tmp_path, BillingPlan(balance=10)):
        paths = app.openapi()["paths"]
        for spec in SIBLING_SPECS:
            operation = paths[spec.path]["get"]
            assert operation["summary"] == spec.title
        params = paths[ENDPOINTS["fans_history"].path]["get"]["parameters"]
        increase = next(p for p in params if p["name"] == "increaseType")
        assert increase["schema"] == {
            "type": "string",
            "enum": ["FANS_TOTAL", "FANS_INCREASE"],
            "default": "FANS_TOTAL",
        }


@pytest.mark.parametrize("name", NAMES)
async def test_each_is_served_priced_and_stored_with_its_data_untouched(
    tmp_path: Path, name: str
) -> None:
    spec = ENDPOINTS[name]
    async for app, token in _app(tmp_path, BillingPlan(balance=10, endpoints=(name,))):
        params = {"token": token, "userId": USER}
        body = await _get(app, spec, params)
        assert body["code"] == 0 and body["message"] is None
        again = await _get(app, spec, params)
        assert again["data"] == body["data"] and again["recordTime"] == body["recordTime"]
        (query,) = list(spec.scopes(USER))[:1]
        store = app.state.runtime.store
        history = await store.snapshots.history(name, USER, query.scope_key)
        assert [json.loads(s.payload) for s in history] == [body["data"]]
        fixture = json.loads((FIXTURES / f"justoneapi-{FIXTURE_NAMES[name]}.json").read_bytes())
        assert set(body["data"]) == set(fixture["data"])
        issuer = app.state.runtime.issuer
        view = await issuer.balance(await issuer.record("tester"))
        assert view.balance == 8  # two calls of 1 credit (cached answers are charged too)
