"""``pgy mcp`` driven by the MCP SDK's own client session, against a real ``pgy serve``.

Both transports run ``pgy mcp`` as a real process: stdio as the subprocess of the SDK's
``stdio_client`` (as a desktop assistant starts it), streamable HTTP on a loopback port. The API
server is the sandbox source; tokens are made with ``pgy token create``. No token may appear in
anything the MCP server says or logs.
"""

from __future__ import annotations

import gc
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from pgy_metrics.client import AsyncClient
from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.mcp_server import SessionBudgets, build_server
from tests.integration.servers import ServerProcess, free_port, pgy, pgy_env
from tests.upstreams.loopback import aserve_on_loopback

pytestmark = pytest.mark.integration

CREATORS = [f"5d21ab6b00000000120156{n:02x}" for n in range(4)]
SCOPES_PER_CREATOR = 8
CLIENT_TIMEOUT = 3.0
"""The in-process test's client timeout: the longest a closed session's budget may linger."""
ANALYST_TOOLS = ("creator_overview", "compare_creators", "benchmark_pool", "plan_campaign")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    """A real ``pgy serve`` (sandbox), a token with credit, and one with balance 0 and a price."""
    folder = tmp_path_factory.mktemp("mcp")
    env = pgy_env(folder / "data")
    rich = pgy("token", "create", "--name", "assistant", env=env).stdout.strip()
    broke = pgy(
        "token", "create", "--name", "broke", "--balance", "0", "--price", "1", env=env
    ).stdout.strip()
    with ServerProcess(env, folder / "server.log") as server:
        yield server, rich, broke


def _mcp_env(api_url: str, token: str) -> dict[str, str]:
    env = pgy_env(Path("/nonexistent"), PGY_TOKEN=token, PGY_BASE_URL=api_url)
    env.pop("PGY_DATA_DIR")
    return env


@asynccontextmanager
async def stdio_session(
    api_url: str, token: str, errlog: Path, *args: str
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "pgy_metrics", "mcp", *args],
        env=_mcp_env(api_url, token),
    )
    with errlog.open("w") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


@contextmanager
def http_mcp_process(api_url: str, token: str, log_path: Path, *args: str) -> Iterator[str]:
    """``pgy mcp --http`` as a process on a free port (its output in ``log_path``): its URL."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "pgy_metrics", "mcp", "--http", "--port", str(port)),
                *("--log-level", "DEBUG", *args),
            ],
            env=_mcp_env(api_url, token),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def http_mcp(
    api: tuple[ServerProcess, str, str], tmp_path: Path
) -> Iterator[tuple[str, Path, str]]:
    """``pgy mcp --http`` as a process: its URL, its log and the token it uses."""
    server, token, _ = api
    log_path = tmp_path / "mcp-http.log"
    with http_mcp_process(server.base_url, token, log_path) as url:
        yield url, log_path, token


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.isError, _text(result)
    assert result.structuredContent is not None
    return result.structuredContent


def _text(result: CallToolResult) -> str:
    return " ".join(part.text for part in result.content if isinstance(part, TextContent))


def _dump(result: CallToolResult) -> str:
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


async def test_stdio_lists_tools_calls_them_and_holds_the_budget(
    api: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    server, token, _ = api
    errlog = tmp_path / "stdio.log"
    budget = len(ENDPOINTS) + SCOPES_PER_CREATOR + 2
    seen: list[str] = []
    async with stdio_session(
        server.base_url, token, errlog, "--max-billable-calls", str(budget), "--log-level", "DEBUG"
    ) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {*ENDPOINTS, *ANALYST_TOOLS}
        for tool in tools.values():
            assert "billable call" in (tool.description or ""), tool.name
            assert tool.outputSchema is not None, tool.name
        assert tools["notes_rate"].inputSchema["required"] == ["user_id"]

        answer = await session.call_tool(
            "notes_rate", {"user_id": CREATORS[0], "dateType": "DAY_90"}
        )
        seen.append(_dump(answer))
        data = _structured(answer)
        assert data["params"]["dateType"] == "DAY_90" and data["synthetic"] is True
        assert data["billing"] == {
            "calls_needed": 1,
            "billable_calls": 1,
            "session_used": 1,
            "session_remaining": budget - 1,
        }
        for spec in ENDPOINTS.specs()[1:]:  # every other endpoint, its parameters defaulted
            sibling = await session.call_tool(spec.name, {"user_id": CREATORS[0]})
            seen.append(_dump(sibling))
            got = _structured(sibling)
            assert got["endpoint"] == spec.name and got["data"], spec.name
            assert set(got["params"]) == {"userId", *(p.name for p in spec.params)}

        overview = await session.call_tool("creator_overview", {"user_id": CREATORS[0]})
        seen.append(_dump(overview))
        summary = _structured(overview)
        assert len(summary["scopes"]) == SCOPES_PER_CREATOR
        reads = next(f for f in summary["scopes"][0]["figures"] if f["name"] == "read_median")
        assert reads["unit"] == "count" and reads["text"]
        assert summary["billing"]["session_remaining"] == 2

        refused = await session.call_tool("compare_creators", {"user_ids": CREATORS[:2]})
        seen.append(_dump(refused))
        assert refused.isError
        assert "needs 16 billable calls" in _text(refused) and "has 2 left" in _text(refused)

        bad = await session.call_tool("notes_rate", {"user_id": "nope"})
        seen.append(_dump(bad))
        assert bad.isError and "user" in _text(bad).lower()

        codes = await session.read_resource("pgy://codes")  # type: ignore[arg-type]
        assert "601" in codes.contents[0].text  # type: ignore[union-attr]
        endpoints = await session.read_resource("pgy://endpoints/notes_rate")  # type: ignore[arg-type]
        assert "advertiseSwitch" in endpoints.contents[0].text  # type: ignore[union-attr]
    logs = errlog.read_text()
    assert "CallToolRequest" in logs and "HTTP Request" in logs  # everything was logged
    assert token not in logs and all(token not in text for text in seen)


async def test_http_runs_every_analyst_tool(
    http_mcp: tuple[str, Path, str], tmp_path: Path
) -> None:
    url, log_path, token = http_mcp
    ids_file = tmp_path / "creators.txt"
    ids_file.write_text("\n".join([*CREATORS[:3], "not-an-id"]) + "\n")
    seen: list[str] = []
    async with http_session(url) as session:
        assert len((await session.list_tools()).tools) == len(ENDPOINTS) + len(ANALYST_TOOLS)

        compared = await session.call_tool("compare_creators", {"user_ids": CREATORS[:3]})
        seen.append(_dump(compared))
        creators = _structured(compared)["creators"]
        assert {c["user_id"] for c in creators} == set(CREATORS[:3])
        assert any(figure["unit"] == "fraction (0-1)" for figure in creators[0]["percentiles"])

        pool = await session.call_tool("benchmark_pool", {"path": str(ids_file)})
        seen.append(_dump(pool))
        table = _structured(pool)
        assert table["creators"] == 3 and len(table["skipped"]) == 1
        assert table["billing"]["billable_calls"] == 3 * SCOPES_PER_CREATOR

        candidates = [
            {"user_id": uid, "price_photo": 1000 + 500 * n, "price_video": 2000 + 500 * n}
            for n, uid in enumerate(CREATORS)
        ]
        planned = await session.call_tool(
            "plan_campaign", {"candidates": candidates, "budget": 5000, "objective": "reads"}
        )
        seen.append(_dump(planned))
        plan = _structured(planned)
        assert plan["bookings"] and plan["spend"]["value"] <= 5000
        assert plan["value"]["value"] >= plan["greedy_value"]["value"]
        assert {"value", "unit", "text"} <= set(plan["improvement_over_greedy"])
    assert token not in log_path.read_text() and all(token not in text for text in seen)


async def test_a_business_code_is_a_tool_error_with_code_message_and_request_id(
    api: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    server, _, broke = api
    errlog = tmp_path / "stdio.log"
    async with stdio_session(server.base_url, broke, errlog) as session:
        result = await session.call_tool("notes_rate", {"user_id": CREATORS[0]})
        assert result.isError
        text = _text(result)
        assert "code 601" in text and "balance" in text and "request id" in text
        overview = await session.call_tool("creator_overview", {"user_id": CREATORS[0]})
        assert overview.isError and "code 601" in _text(overview)
        assert broke not in _dump(result) + _dump(overview)
    assert broke not in errlog.read_text()


async def test_http_sessions_each_have_their_own_budget_and_free_answers_cost_nothing(
    api: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    """One ``pgy mcp --http --max-billable-calls 2`` process, two MCP sessions open at once:
    each may spend 2 calls, the third is refused saying what it needs, and an answer the server
    says was free (a cached one, for a token whose plan prices cached answers at 0) spends
    nothing. Creators no other test asks for, so their first answers are fresh (charged)."""
    server, _, _ = api
    cheap = pgy(
        "token",
        "create",
        "--name",
        "cheap-cache",
        "--price",
        "1",
        "--cached-price",
        "0",
        env=server.env,
    ).stdout.strip()
    fresh = [f"5d21ab6b00000000120157{n:02x}" for n in range(5)]
    log_path = tmp_path / "mcp-budget.log"
    seen: list[str] = []

    async def notes_rate(session: ClientSession, user_id: str) -> CallToolResult:
        result = await session.call_tool("notes_rate", {"user_id": user_id})
        seen.append(_dump(result))
        return result

    with http_mcp_process(server.base_url, cheap, log_path, "--max-billable-calls", "2") as url:
        async with http_session(url) as first, http_session(url) as second:
            billing = _structured(await notes_rate(first, fresh[0]))["billing"]
            assert (billing["billable_calls"], billing["session_remaining"]) == (1, 1)
            for _ in range(3):  # cached, charged 0: the last call left is never spent
                billing = _structured(await notes_rate(first, fresh[0]))["billing"]
                assert billing == {
                    "calls_needed": 1,
                    "billable_calls": 0,
                    "session_used": 1,
                    "session_remaining": 1,
                }
            billing = _structured(await notes_rate(first, fresh[1]))["billing"]
            assert (billing["session_used"], billing["session_remaining"]) == (2, 0)
            refused = await notes_rate(first, fresh[2])
            assert refused.isError
            assert "notes_rate needs 1 billable call but" in _text(refused)
            assert "has 0 left (2 used)" in _text(refused)

            # The other session, open all along, still has its whole budget.
            for user_id, remaining in ((fresh[2], 1), (fresh[3], 0)):
                billing = _structured(await notes_rate(second, user_id))["billing"]
                assert (billing["billable_calls"], billing["session_remaining"]) == (
                    1,
                    remaining,
                )
            refused = await notes_rate(second, fresh[4])
            assert refused.isError and "needs 1 billable call" in _text(refused)
            assert "has 0 left (2 used)" in _text(refused)
        async with http_session(url) as third:  # a new session: a new budget
            billing = _structured(await notes_rate(third, fresh[4]))["billing"]
            assert (billing["session_used"], billing["session_remaining"]) == (1, 1)
    assert cheap not in log_path.read_text() and all(cheap not in text for text in seen)


async def test_a_closed_http_session_releases_its_budget(
    api: tuple[ServerProcess, str, str],
) -> None:
    """The SDK's own HTTP server (in this process, so the budgets can be counted): each session
    holds a budget while open, and none is left once the sessions are closed.

    A session's object (hence its budget) lives as long as anything made during its requests
    holds their context: a cancelled timer until it falls due (the client's timeout, short
    here), a pooled keep-alive connection until it closes (none here). In a long-running
    ``pgy mcp`` those are bounded by the client's pool and timeout."""
    server, token, _ = api
    budgets = SessionBudgets(5)
    no_pool = httpx.Limits(max_keepalive_connections=0)
    mcp, tools = build_server(
        lambda: AsyncClient(
            token=token,
            base_url=server.base_url,
            timeout=CLIENT_TIMEOUT,
            transport=httpx.AsyncHTTPTransport(retries=0, limits=no_pool),
        ),
        token=token,
        budgets=budgets,
    )
    async with aserve_on_loopback(mcp.streamable_http_app()) as base_url:
        url = f"{base_url}/mcp"
        async with http_session(url) as first, http_session(url) as second:
            for session in (first, second):
                _structured(await session.call_tool("notes_rate", {"user_id": CREATORS[1]}))
            assert len(budgets) == 2
        deadline = time.monotonic() + 10 * CLIENT_TIMEOUT
        while len(budgets) and time.monotonic() < deadline:  # the server ends them on its side
            await anyio.sleep(0.05)
            gc.collect()
        assert len(budgets) == 0
    await tools.aclose()


async def test_plan_campaign_reads_the_marketplace_when_asked(
    api: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    """Only ids, a budget and an audience target: prices, followers and audiences come from the
    sibling endpoints (4 more billable calls per creator); without ``marketplace`` the same ask
    is refused with a message saying what to pass."""
    server, token, _ = api
    creators = [f"5d21ab6b00000000120157{n:02x}" for n in range(8)]
    audience = {"gender": "female", "gender_min": 0.3}
    errlog = tmp_path / "stdio.log"
    async with stdio_session(server.base_url, token, errlog) as session:
        refused = await session.call_tool(
            "plan_campaign",
            {
                "candidates": [{"user_id": uid} for uid in creators],
                "budget": 50_000,
                "rules": {"audience": audience},
            },
        )
        assert refused.isError and "marketplace=true" in _text(refused)

        planned = await session.call_tool(
            "plan_campaign",
            {
                "candidates": [{"user_id": uid} for uid in creators],
                "budget": 50_000,
                "objective": "reads",
                "rules": {"audience": audience},
                "marketplace": True,
            },
        )
        assert not planned.isError, _text(planned)
        plan = _structured(planned)
        assert plan["billing"]["billable_calls"] == len(creators) * (SCOPES_PER_CREATOR + 4)
        assert plan["bookings"] and plan["spend"]["value"] <= 50_000
        excluded_creators = {line.split(":")[0] for line in plan["excluded"]}
        assert all(reason.split(": ", 1)[1] for reason in plan["excluded"])  # each says why
        assert not {b["user_id"] for b in plan["bookings"]} & excluded_creators
        assert all(b["price"]["value"] > 0 for b in plan["bookings"])  # from the profiles
    assert token not in errlog.read_text() and token not in _dump(planned)
