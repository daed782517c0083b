"""The admin API and ``GET /api/balance`` in process (ASGI transport), on SQLite and PostgreSQL.

Every test runs with a long token cache (60 s), so a change that did not call
``Authenticator.forget()`` would show as a stale answer. Every test's captured logs are checked
for the tokens it made: none may appear.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.tokens import BillingPlan
from tests.fakes import CountingSource

USER = "5d21ab6b000000001201567d"
# 15:30 on 2026-11-26 in Shanghai: the quota day is 2026-11-26
START = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
DAY = "2026-11-26"


@dataclass
class Admin:
    app: FastAPI
    http: httpx.AsyncClient
    clock: FixedClock
    source: CountingSource
    admin_token: str
    secrets: list[str] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth)
        response = await self.http.request(method, url, **kwargs)
        if (method, url) != ("POST", "/admin/tokens"):  # the one answer that holds a token
            for secret in self.secrets:
                assert secret not in response.text, f"{method} {url} echoed a token"
        return response

    async def create(self, **body: Any) -> dict[str, Any]:
        response = await self.request("POST", "/admin/tokens", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        self.secrets.append(created["token"])
        return created

    async def call(self, token: str, user_id: str = USER) -> int:
        response = await self.http.get(NOTES_RATE_PATH, params={"token": token, "userId": user_id})
        return int(response.json()["code"])


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


def _settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, token_cache_seconds=60, **extra)


async def _admin(
    settings: Settings, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Admin]:
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(START)
    source = CountingSource(payload)
    app = create_app(settings, source=source, clock=clock)
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("ops", is_admin=True)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            harness = Admin(app, http, clock, source, issued.token, [issued.token])
            yield harness
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in harness.secrets:
        assert secret not in logged, "a token reached the logs"


@pytest.fixture
async def admin(
    tmp_path: Path, database_url: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Admin]:
    async for harness in _admin(_settings(tmp_path, database_url), payload, caplog):
        yield harness


# -- who may call -------------------------------------------------------------------------------


async def test_no_unknown_or_revoked_token_is_401_and_a_plain_token_is_403(admin: Admin) -> None:
    plain = (await admin.create(name="plain"))["token"]
    cases: list[tuple[dict[str, str], dict[str, str], int, str]] = [
        ({}, {}, 401, "A token is required"),
        ({"Authorization": "Bearer pgy_" + "x" * 43}, {}, 401, "unknown or revoked"),
        ({}, {"token": "pgy_" + "y" * 43}, 401, "unknown or revoked"),
        ({"Authorization": f"Bearer {plain}"}, {}, 403, "admin token"),
        ({}, {"token": plain}, 403, "pgy token create --admin"),
    ]
    for url in ("/admin/tokens", "/admin/tokens/plain", "/admin/usage"):
        for headers, params, status, fragment in cases:
            response = await admin.request("GET", url, headers=headers, params=params)
            assert response.status_code == status, (url, headers, params, response.text)
            body = response.json()
            assert list(body) == ["detail"] and fragment in body["detail"]
            assert plain not in response.text and "pgy_x" not in response.text
            if status == 401:
                assert response.headers["www-authenticate"] == "Bearer"
    for method, url in [
        ("POST", "/admin/tokens"),
        ("PATCH", "/admin/tokens/plain"),
        ("POST", "/admin/tokens/plain/topup"),
        ("DELETE", "/admin/tokens/plain"),
    ]:
        refused = await admin.request(method, url, headers={"Authorization": f"Bearer {plain}"})
        assert refused.status_code == 403, (method, url)
    assert (await admin.request("GET", "/admin/tokens/plain")).json()["active"] is True


async def test_admin_token_works_as_query_parameter_and_revoked_admin_is_401(
    admin: Admin,
) -> None:
    other = (await admin.create(name="ops2", admin=True))["token"]
    by_query = await admin.request("GET", "/admin/tokens", headers={}, params={"token": other})
    assert by_query.status_code == 200
    assert (await admin.request("DELETE", "/admin/tokens/ops2")).status_code == 200
    again = await admin.request("GET", "/admin/tokens", headers={}, params={"token": other})
    assert again.status_code == 401, "a revocation holds at once in this process"


async def test_unknown_admin_tokens_count_against_the_address_and_are_slowed(
    tmp_path: Path,
    database_url: str,
    payload: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path, database_url, failed_token_limit="2/minute")
    async for admin in _admin(settings, payload, caplog):
        guess = {"Authorization": "Bearer pgy_" + "g" * 43}
        first = [await admin.request("GET", "/admin/tokens", headers=guess) for _ in range(2)]
        assert [answer.status_code for answer in first] == [401, 401]
        slowed = await admin.request("GET", "/admin/usage", headers=guess)
        assert slowed.status_code == 429, slowed.text
        assert int(slowed.headers["retry-after"]) >= 1
        assert "PGY_FAILED_TOKEN_LIMIT" not in slowed.text  # says the limit, not the setting
        assert "unknown token" in slowed.json()["detail"] and "pgy_g" not in slowed.text
        # The window is the endpoints' too: the same address's unknown API tokens are refused.
        assert await admin.call("pgy_" + "h" * 43) == 302
        # A valid token from the same address is answered; a missing one is not counted.
        assert (await admin.request("GET", "/admin/tokens")).status_code == 200
        assert (await admin.request("GET", "/admin/tokens", headers={})).status_code == 401


# -- create, show, list -------------------------------------------------------------------------


async def test_create_with_a_plan_returns_the_token_once_and_show_has_the_same_shape(
    admin: Admin,
) -> None:
    created = await admin.create(
        name="shop",
        rate_limit="10/second;300/minute",
        daily_quota=100,
        balance=50,
        endpoints=["notes_rate"],
        price=3,
        cached_price=1,
    )
    token = created.pop("token")
    assert token.startswith("pgy_")
    assert created["name"] == "shop" and created["admin"] is False and created["active"] is True
    assert created["plan"] == {
        "rate_limit": "10/second;300/minute",
        "daily_quota": 100,
        "balance": 50,
        "endpoints": ["notes_rate"],
        "price": 3,
        "cached_price": 1,
    }
    assert created["calls_today"] == 0 and created["remaining_today"] == 100
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert shown == created, "create answers the record as show does, plus the token"
    assert set(shown) == {
        "name",
        "admin",
        "active",
        "created_at",
        "revoked_at",
        "plan",
        "day",
        "calls_today",
        "credits_today",
        "remaining_today",
        "reserved",
        "reserved_credits",
    }
    assert shown["day"] == DAY and shown["created_at"].startswith("2026-11-26T07:30:00")

    assert await admin.call(token) == 0  # fresh: 3 credits
    assert await admin.call(token) == 0  # cached: 1 credit
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert shown["plan"]["balance"] == 46
    assert (shown["calls_today"], shown["credits_today"], shown["remaining_today"]) == (2, 4, 98)
    assert (shown["reserved"], shown["reserved_credits"]) == (0, 0)

    listed = (await admin.request("GET", "/admin/tokens")).json()
    assert [row["name"] for row in listed] == ["ops", "shop"]
    assert listed[1] == shown
    assert "token" not in listed[1] and token not in json.dumps(listed)


async def test_a_token_created_without_plan_fields_gets_the_default_plan(
    tmp_path: Path, database_url: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(
        tmp_path,
        database_url,
        default_rate_limit="5/second",
        default_daily_quota=7,
        default_balance=20,
    )
    async for admin in _admin(settings, payload, caplog):
        default = await admin.create(name="default")
        assert default["plan"] == {
            "rate_limit": "5/second",
            "daily_quota": 7,
            "balance": 20,
            "endpoints": None,
            "price": None,
            "cached_price": None,
        }
        chosen = await admin.create(name="chosen", daily_quota=3)
        assert chosen["plan"]["daily_quota"] == 3
        assert chosen["plan"]["rate_limit"] is None and chosen["plan"]["balance"] is None


async def test_unmetered_token_shows_null_balance_and_all_endpoints(admin: Admin) -> None:
    created = await admin.create(name="team", rate_limit=None)
    assert created["plan"]["balance"] is None and created["plan"]["endpoints"] is None
    assert created["remaining_today"] is None
    assert await admin.call(created["token"]) == 0
    shown = (await admin.request("GET", "/admin/tokens/team")).json()
    assert shown["calls_today"] == 1 and shown["credits_today"] == 1


async def test_a_taken_name_is_409(admin: Admin) -> None:
    await admin.create(name="shop")
    response = await admin.request("POST", "/admin/tokens", json={"name": "shop"})
    assert response.status_code == 409
    assert response.json() == {"detail": "a token named 'shop' exists already"}


@pytest.mark.parametrize(
    ("body", "field", "fragments"),
    [
        ({"rate_limit": "lots"}, "rate_limit", ["10/second;300/minute", "'lots'"]),
        ({"daily_quota": -1}, "daily_quota", ["greater than or equal to 0"]),
        ({"balance": -5}, "balance", ["greater than or equal to 0"]),
        ({"price": -1}, "price", ["greater than or equal to 0"]),
        ({"cached_price": 1.5}, "cached_price", ["integer"]),
        ({"daily_quota": "10"}, "daily_quota", ["integer"]),
        ({"endpoints": ["notes_rate", "search"]}, "endpoints", ["among notes_rate", "search"]),
        ({"endpoints": "notes_rate"}, "endpoints", ["list"]),
        ({"admin": "yes"}, "admin", ["boolean"]),
        ({"balanse": 10}, "balanse", ["Extra inputs are not permitted"]),
    ],
)
async def test_bad_create_fields_are_422_naming_the_field(
    admin: Admin, body: dict[str, Any], field: str, fragments: list[str]
) -> None:
    response = await admin.request("POST", "/admin/tokens", json={"name": "x", **body})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"].startswith(f"{field}: ")
    assert problem["errors"][0]["field"] == field and problem["errors"][0]["location"] == "body"
    for fragment in fragments:
        assert fragment in problem["detail"]
    assert (await admin.request("GET", "/admin/tokens/x")).status_code == 404, "nothing made"


async def test_bad_names_and_bodies_are_422(admin: Admin) -> None:
    bad_name = await admin.request("POST", "/admin/tokens", json={"name": "no spaces"})
    assert bad_name.status_code == 422
    assert bad_name.json()["detail"].startswith("name must be 1-100 characters")
    missing = await admin.request("POST", "/admin/tokens", json={})
    assert missing.status_code == 422 and missing.json()["detail"] == "name: Field required"
    not_json = await admin.request(
        "POST",
        "/admin/tokens",
        content=b"{nope",
        headers={**admin.auth, "content-type": "application/json"},
    )
    assert not_json.status_code == 422 and "JSON" in not_json.json()["detail"]


# -- change a plan ------------------------------------------------------------------------------


async def test_patch_changes_only_the_given_fields_and_holds_at_once(admin: Admin) -> None:
    token = (await admin.create(name="shop", daily_quota=1, balance=10, price=2))["token"]
    assert await admin.call(token) == 0
    assert await admin.call(token, "5d21ab6b000000001201567e") == 303  # quota of 1 used up

    response = await admin.request("PATCH", "/admin/tokens/shop", json={"daily_quota": 5})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["plan"]["daily_quota"] == 5 and view["plan"]["price"] == 2
    assert view["plan"]["balance"] == 8 and view["remaining_today"] == 4
    assert await admin.call(token, "5d21ab6b000000001201567e") == 0, "the new quota holds at once"

    lifted = await admin.request(
        "PATCH",
        "/admin/tokens/shop",
        json={"daily_quota": None, "price": None, "rate_limit": "1/minute"},
    )
    plan = lifted.json()["plan"]
    assert plan["daily_quota"] is None and plan["price"] is None
    assert plan["rate_limit"] == "1/minute" and plan["balance"] == 6
    assert await admin.call(token, "5d21ab6b000000001201567f") == 0
    assert await admin.call(token, "5d21ab6b0000000012015670") == 302

    denied = await admin.request("PATCH", "/admin/tokens/shop", json={"endpoints": []})
    assert denied.json()["plan"]["endpoints"] == []
    assert await admin.call(token) == 600
    allowed = await admin.request("PATCH", "/admin/tokens/shop", json={"endpoints": None})
    assert allowed.json()["plan"]["endpoints"] is None

    unchanged = await admin.request("PATCH", "/admin/tokens/shop", json={})
    assert unchanged.status_code == 200 and unchanged.json()["plan"] == allowed.json()["plan"]


async def test_patch_refusals(admin: Admin) -> None:
    await admin.create(name="shop", balance=10)
    balance = await admin.request("PATCH", "/admin/tokens/shop", json={"balance": 1000})
    assert balance.status_code == 422
    assert balance.json()["errors"][0]["field"] == "balance"
    assert "topup" in balance.json()["detail"] and "ledger" in balance.json()["detail"]
    rate = await admin.request("PATCH", "/admin/tokens/shop", json={"rate_limit": "10 per sec"})
    assert rate.status_code == 422 and rate.json()["detail"].startswith("rate_limit: rate must")
    admin_flag = await admin.request("PATCH", "/admin/tokens/shop", json={"admin": True})
    assert admin_flag.status_code == 422 and admin_flag.json()["errors"][0]["field"] == "admin"
    missing = await admin.request("PATCH", "/admin/tokens/nobody", json={"daily_quota": 1})
    assert missing.status_code == 404 and missing.json() == {"detail": "no token named 'nobody'"}
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert shown["plan"]["balance"] == 10 and shown["plan"]["rate_limit"] is None


# -- money --------------------------------------------------------------------------------------


async def test_topup_adds_credits_through_the_ledger(admin: Admin) -> None:
    token = (await admin.create(name="shop", balance=0))["token"]
    assert await admin.call(token) == 601
    response = await admin.request("POST", "/admin/tokens/shop/topup", json={"credits": 5})
    assert response.status_code == 200
    assert response.json() == {"name": "shop", "credits": 5, "balance": 5}
    assert await admin.call(token) == 0, "the top-up holds at once"
    again = await admin.request("POST", "/admin/tokens/shop/topup", json={"credits": 10})
    assert again.json()["balance"] == 14

    for credits in (0, -3, "5", 2.5, None):
        refused = await admin.request("POST", "/admin/tokens/shop/topup", json={"credits": credits})
        assert refused.status_code == 422, credits
        assert refused.json()["detail"].startswith("credits: ")
    missing = await admin.request("POST", "/admin/tokens/nobody/topup", json={"credits": 5})
    assert missing.status_code == 404

    team = await admin.create(name="team")
    assert team["plan"]["balance"] is None
    metered = await admin.request("POST", "/admin/tokens/team/topup", json={"credits": 3})
    assert metered.json()["balance"] == 3, "a top-up makes an unmetered token metered"


async def test_delete_revokes_at_once_and_again_changes_nothing(admin: Admin) -> None:
    token = (await admin.create(name="shop"))["token"]
    assert await admin.call(token) == 0
    response = await admin.request("DELETE", "/admin/tokens/shop")
    assert response.status_code == 200
    revoked = response.json()
    assert revoked["active"] is False and revoked["revoked_at"].startswith("2026-11-26T07:30")
    assert await admin.call(token) == 100, "revoked at once despite the token cache"
    admin.clock.advance(minutes=5)
    again = await admin.request("DELETE", "/admin/tokens/shop")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked["revoked_at"]
    assert (await admin.request("DELETE", "/admin/tokens/nobody")).status_code == 404


# -- usage --------------------------------------------------------------------------------------


async def test_usage_per_token_and_day_with_filters(admin: Admin) -> None:
    shop = (await admin.create(name="shop", balance=100, price=2, cached_price=2))["token"]
    team = (await admin.create(name="team"))["token"]
    assert await admin.call(shop) == 0
    assert await admin.call(team) == 0
    admin.clock.advance(days=1)
    assert await admin.call(shop) == 0
    assert await admin.call(shop, "5d21ab6b000000001201567e") == 0

    rows = (await admin.request("GET", "/admin/usage")).json()
    assert rows == [
        {
            "name": "shop",
            "day": "2026-11-26",
            "calls": 1,
            "credits": 2,
            "reserved": 0,
            "reserved_credits": 0,
        },
        {
            "name": "team",
            "day": "2026-11-26",
            "calls": 1,
            "credits": 1,
            "reserved": 0,
            "reserved_credits": 0,
        },
        {
            "name": "shop",
            "day": "2026-11-27",
            "calls": 2,
            "credits": 4,
            "reserved": 0,
            "reserved_credits": 0,
        },
    ]
    only_shop = (await admin.request("GET", "/admin/usage", params={"name": "shop"})).json()
    assert [row["day"] for row in only_shop] == ["2026-11-26", "2026-11-27"]
    since = (await admin.request("GET", "/admin/usage", params={"since": "2026-11-27"})).json()
    assert [(row["name"], row["calls"]) for row in since] == [("shop", 2)]
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert shown["day"] == "2026-11-27" and shown["calls_today"] == 2

    for bad in ("yesterday", "2026-13-01", "2026-1-5", "20261127"):
        refused = await admin.request("GET", "/admin/usage", params={"since": bad})
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("since must be a date YYYY-MM-DD")
    unknown = await admin.request("GET", "/admin/usage", params={"name": "nobody"})
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]


async def test_calls_in_flight_show_as_reserved(admin: Admin) -> None:
    token = (await admin.create(name="shop", balance=10, daily_quota=5, price=3))["token"]
    admin.source.gate = asyncio.Event()
    in_flight = asyncio.create_task(admin.call(token))
    for _ in range(500):  # the reservation is committed before the source is asked
        if admin.source.calls:
            break
        await asyncio.sleep(0.01)
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert (shown["reserved"], shown["reserved_credits"]) == (1, 3)
    assert shown["plan"]["balance"] == 7 and shown["remaining_today"] == 4
    rows = (await admin.request("GET", "/admin/usage")).json()
    assert [(r["name"], r["calls"], r["reserved"], r["reserved_credits"]) for r in rows] == [
        ("shop", 0, 1, 3)
    ]
    held = (await admin.http.get("/api/balance", params={"token": token})).json()
    assert (held["balance"], held["reserved"], held["reserved_credits"]) == (7, 1, 3)
    admin.source.gate.set()
    assert await in_flight == 0
    shown = (await admin.request("GET", "/admin/tokens/shop")).json()
    assert (shown["reserved"], shown["reserved_credits"], shown["calls_today"]) == (0, 0, 1)


# -- a holder's own balance ---------------------------------------------------------------------


async def test_holder_balance(admin: Admin) -> None:
    token = (
        await admin.create(
            name="shop", balance=10, daily_quota=5, rate_limit="10/second", price=3, cached_price=1
        )
    )["token"]
    assert await admin.call(token) == 0
    response = await admin.http.get("/api/balance", params={"token": token})
    assert response.status_code == 200
    assert response.json() == {
        "name": "shop",
        "balance": 7,
        "reserved": 0,
        "reserved_credits": 0,
        "day": DAY,
        "daily_quota": 5,
        "calls_today": 1,
        "credits_today": 3,
        "remaining_today": 4,
        "rate_limit": "10/second",
        "endpoints": None,
        "prices": {
            **{key: {"price": 3, "cached_price": 1} for key in ENDPOINTS},
            "history": {"price": 3, "cached_price": 3},  # history is never cached
        },
    }
    by_header = await admin.http.get("/api/balance", headers={"Authorization": f"Bearer {token}"})
    assert by_header.json() == response.json()
    await admin.request("POST", "/admin/tokens/shop/topup", json={"credits": 5})
    assert (await admin.http.get("/api/balance", params={"token": token})).json()["balance"] == 12

    team = (await admin.create(name="team", endpoints=[]))["token"]
    unmetered = (await admin.http.get("/api/balance", params={"token": team})).json()
    assert unmetered["balance"] is None and unmetered["prices"] == {}
    assert unmetered["endpoints"] == [] and unmetered["remaining_today"] is None

    assert (await admin.http.get("/api/balance")).status_code == 401
    unknown = await admin.http.get("/api/balance", params={"token": "pgy_" + "z" * 43})
    assert unknown.status_code == 401 and unknown.json() == {
        "detail": "The token is unknown or revoked."
    }
    await admin.request("DELETE", "/admin/tokens/shop")
    assert (await admin.http.get("/api/balance", params={"token": token})).status_code == 401


async def test_store_plan_equals_what_the_api_shows(admin: Admin) -> None:
    await admin.create(name="shop", rate_limit="2/second", endpoints=["notes_rate", "notes_rate"])
    record = await admin.runtime.store.tokens.by_name("shop")
    assert record.plan == BillingPlan(rate_limit="2/second", endpoints=("notes_rate",))


# -- documentation ------------------------------------------------------------------------------


async def test_openapi_documents_every_admin_route_with_its_bodies(admin: Admin) -> None:
    spec = (await admin.http.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/admin/tokens"]) == {"get", "post"}
    assert set(paths["/admin/tokens/{name}"]) == {"get", "patch", "delete"}
    assert set(paths["/admin/tokens/{name}/topup"]) == {"post"}
    assert set(paths["/admin/usage"]) == {"get"}
    assert set(paths["/api/balance"]) == {"get"}
    schemas = spec["components"]["schemas"]
    assert {"TokenCreate", "PlanUpdate", "Topup", "TokenView", "UsageRow", "BalanceView"} <= set(
        schemas
    )
    assert "balance" not in schemas["PlanUpdate"]["properties"]
    create = paths["/admin/tokens"]["post"]
    assert {"401", "403", "409", "422"} <= set(create["responses"])
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InvalidRequest"
    }
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
