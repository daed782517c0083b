"""Endpoints are data: a test-only endpoint, defined here by its spec and a sandbox generator
(its source mapping) and nothing else, is served, priced, permitted, cached, stored, replayed,
described in OpenAPI and called by the typed client's generic ``call``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pgy_metrics.client import AsyncClient, InvalidParams, PermissionDenied
from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import (
    API_PREFIX,
    ENDPOINTS,
    EndpointSpec,
    EnumParam,
    Query,
    Registry,
)
from pgy_metrics.contract.params import ParamError
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import EndpointNotCollected
from pgy_metrics.sources.replay import ReplaySource, recording_path
from pgy_metrics.sources.sandbox import GENERATORS, SandboxSource
from pgy_metrics.store.tokens import BillingPlan

USER = "5d21ab6b000000001201567d"
NOW = datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)


class Flavour(StrEnum):
    SWEET = "SWEET"
    SOUR = "SOUR"

    @property
    def upstream(self) -> int:
        return {"SWEET": 1, "SOUR": 2}[self.value]

    @property
    def label(self) -> str:
        return {"SWEET": "甜", "SOUR": "酸"}[self.value]


ECHO = EndpointSpec(
    name="test_echo",
    path=f"{API_PREFIX}/api/test/echo/v1",
    title="Echo",
    title_zh="回声",
    summary="Says back what it was asked, for tests.",
    summary_zh="测试用。",
    params=(EnumParam("flavour", Flavour, Flavour.SWEET, "Which flavour.", "口味。"),),
    ttl_seconds=60,
)
REGISTRY: Registry = ENDPOINTS.extended(ECHO)


def _echo(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    return {"userId": query.user_id, "flavour": query.values[0].value, "day": day.isoformat()}


@pytest.fixture(autouse=True)
def echo_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint's source mapping: the only code besides the spec."""
    monkeypatch.setitem(GENERATORS, ECHO.name, _echo)


@dataclass
class Served:
    app: FastAPI
    client: AsyncClient
    token: str
    clock: FixedClock


async def _serve(tmp_path: Path, plan: BillingPlan | None = None) -> AsyncIterator[Served]:
    clock = FixedClock(NOW)
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0)
    app = create_app(settings, clock=clock, endpoints_registry=REGISTRY)
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("tester", plan=plan)
        client = AsyncClient(
            issued.token,
            base_url="http://127.0.0.1",
            transport=httpx.ASGITransport(app=app),
            endpoints=REGISTRY,
            max_retries=0,
        )
        async with client:
            yield Served(app, client, issued.token, clock)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for each in _serve(tmp_path, BillingPlan(balance=10)):
        yield each


async def test_the_client_calls_it_and_the_store_keeps_it_by_endpoint(served: Served) -> None:
    first = await served.client.call("test_echo", USER, flavour="SOUR")
    assert first.data == {"userId": USER, "flavour": "SOUR", "day": "2026-11-27"}
    assert (first.endpoint, first.params) == ("test_echo", {"userId": USER, "flavour": "SOUR"})
    assert first.source == "sandbox" and first.synthetic
    again = await served.client.call("test_echo", USER, flavour="SOUR")
    assert again.record_time == first.record_time  # a cached answer: the same collection
    default = await served.client.call("test_echo", USER)
    assert default.data["flavour"] == "SWEET"

    store = served.app.state.runtime.store
    history = await store.snapshots.history("test_echo", USER, "SOUR")
    assert [json.loads(s.payload) for s in history] == [first.data]
    assert await store.snapshots.history("notes_rate", USER, "SOUR") == []
    usage = await store.ledger.usage()
    assert sum(day.calls for day in usage) == 3  # priced by its price key (default 1 credit)
    issuer = served.app.state.runtime.issuer
    view = await issuer.balance(await issuer.record("tester"))
    assert view.balance == 7


async def test_its_freshness_is_its_own(served: Served) -> None:
    first = await served.client.call("test_echo", USER)
    served.clock.advance(seconds=61)  # the spec says 60 s; notes rate would still be fresh
    second = await served.client.call("test_echo", USER)
    assert second.record_time != first.record_time


async def test_bad_parameters_name_the_parameter_and_its_values(served: Served) -> None:
    with pytest.raises(InvalidParams, match="flavour must be one of SWEET, SOUR"):
        await served.client.call("test_echo", USER, flavour="BITTER")
    with pytest.raises(InvalidParams, match=r"endpoint must be one of notes_rate, .*, test_echo"):
        await served.client.call("nope", USER)
    transport = httpx.ASGITransport(app=served.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        raw = await http.get(  # the server's own 400, not the client's check
            ECHO.path, params={"token": served.token, "userId": USER, "flavour": "BITTER"}
        )
    body = raw.json()
    assert body["code"] == 400 and "flavour must be one of SWEET, SOUR" in body["message"]


async def test_a_plan_without_it_is_refused_with_600(tmp_path: Path) -> None:
    async for served in _serve(tmp_path, BillingPlan(endpoints=("notes_rate",))):
        with pytest.raises(PermissionDenied, match="may not call test_echo"):
            await served.client.call("test_echo", USER)
        notes = await served.client.call("notes_rate", USER)
        assert "noteNumber" in notes.data


async def test_openapi_describes_it_from_its_spec(served: Served) -> None:
    operation = served.app.openapi()["paths"][ECHO.path]["get"]
    assert operation["summary"] == "Echo"
    flavour = next(p for p in operation["parameters"] if p["name"] == "flavour")
    assert flavour["schema"] == {"type": "string", "enum": ["SWEET", "SOUR"], "default": "SWEET"}


async def test_replay_reads_its_recordings_by_endpoint(tmp_path: Path) -> None:
    query = ECHO.query(USER, flavour="SOUR")
    path = recording_path(tmp_path, query)
    assert path == tmp_path / USER / "test_echo.SOUR.json"
    path.parent.mkdir()
    path.write_text('{"echo": 1}', encoding="utf-8")
    assert await ReplaySource(tmp_path).fetch(query) == {"echo": 1}


async def test_a_source_without_its_mapping_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(GENERATORS, ECHO.name)
    source = SandboxSource(clock=FixedClock(NOW))
    with pytest.raises(EndpointNotCollected, match="does not collect the test_echo endpoint"):
        await source.fetch(ECHO.query(USER))


def test_queries_have_stable_keys_and_refuse_unknown_parameters() -> None:
    query = ECHO.query(USER, flavour=Flavour.SOUR)
    assert query.key == ("test_echo", USER, "SOUR")
    assert ECHO.from_scope_key(USER, "SOUR") == query
    assert [q.scope_key for q in ECHO.scopes(USER)] == ["SWEET", "SOUR"]
    assert query.upstream_params() == {"flavour": 2}
    with pytest.raises(ParamError, match="test_echo has no parameter colour"):
        ECHO.query(USER, colour="red")
    with pytest.raises(ValueError, match="registered twice"):
        REGISTRY.extended(ECHO)


async def test_pgy_mcp_has_a_tool_for_it_with_its_parameters(served: Served) -> None:
    """The MCP server generates its endpoint tools from the registry: the spec is the tool."""
    from mcp.shared.memory import create_connected_server_and_client_session

    from pgy_metrics.mcp_server import SessionBudgets, build_server

    server, _ = build_server(
        lambda: served.client, token=served.token, budgets=SessionBudgets(5), registry=REGISTRY
    )
    async with create_connected_server_and_client_session(server) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        echo = tools["test_echo"]
        assert echo.title == "Echo" and "Costs 1 billable call" in (echo.description or "")
        assert set(echo.inputSchema["properties"]) == {"user_id", "flavour"}
        answer = await session.call_tool("test_echo", {"user_id": USER, "flavour": "SOUR"})
        assert not answer.isError and answer.structuredContent is not None
        assert answer.structuredContent["data"] == {
            "userId": USER,
            "flavour": "SOUR",
            "day": "2026-11-27",
        }
        assert answer.structuredContent["billing"]["session_remaining"] == 4
        url = f"https://www.xiaohongshu.com/user/profile/{USER}?xsec_source=pc"
        by_url = await session.call_tool("test_echo", {"user_id": url})
        assert by_url.structuredContent is not None
        assert by_url.structuredContent["user_id"] == USER
        wrong = await session.call_tool("test_echo", {"user_id": USER, "flavour": "BITTER"})
        assert wrong.isError
        endpoints = await session.read_resource("pgy://endpoints/test_echo")  # type: ignore[arg-type]
        assert "`SOUR` (酸)" in endpoints.contents[0].text  # type: ignore[union-attr]
