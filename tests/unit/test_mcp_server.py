"""The parts of ``pgy mcp`` that need no process: the budget, the generated reference, the tool
descriptions' costs and the error text (code, message, request id; never the token). The whole
server over both transports is tests/integration/test_mcp.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
from pgy_metrics.client import AsyncClient, InsufficientBalance
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.mcp_server import Budget, BudgetExceeded, SessionBudgets, build_server
from pgy_metrics.mcp_server.app import ANALYSIS_SCOPE_COUNT, Tools
from pgy_metrics.mcp_server.reference import codes_markdown, endpoints_markdown

TOKEN = "pgy_" + "s" * 43


def test_the_budget_refuses_a_call_whole_and_says_how_many_it_needs() -> None:
    budget = Budget(10)
    budget.reserve(8, "creator_overview")
    budget.settle(8, 8)
    with pytest.raises(
        BudgetExceeded, match=r"compare_creators needs 16 billable calls"
    ) as refused:
        budget.reserve(16, "compare_creators")
    assert "has 2 left (8 used)" in str(refused.value)
    assert (budget.used, budget.reserved, budget.remaining) == (8, 0, 2)
    budget.reserve(2, "notes_rate")
    budget.settle(2, 1)  # one failed: only code 0 is billed
    assert budget.remaining == 1
    assert Budget().remaining is None
    with pytest.raises(ValueError, match="max_billable_calls"):
        Budget(-1)


def test_the_reference_is_generated_from_the_registry_and_the_codes() -> None:
    text = endpoints_markdown(ENDPOINTS)
    for spec in ENDPOINTS.specs():
        assert spec.path in text
        for param in spec.params:
            assert f"`{param.name}`" in text
            assert all(f"`{value.value}`" in text for value in param.values)
    codes = codes_markdown()
    for code in BusinessCode:
        assert f"| {code.value} | {code.name} | {'yes' if code.billed else 'no'} |" in codes


def test_every_tool_says_what_it_costs() -> None:
    assert len(ANALYSIS_SCOPES) == ANALYSIS_SCOPE_COUNT
    server, _ = build_server(
        lambda: AsyncClient(token=TOKEN, base_url="http://127.0.0.1:9"), token=TOKEN
    )
    tools = {tool.name: tool for tool in asyncio.run(server.list_tools())}
    assert set(tools) == {
        *ENDPOINTS,
        "creator_overview",
        "compare_creators",
        "benchmark_pool",
        "plan_campaign",
    }
    for name in ENDPOINTS:
        assert "Costs 1 billable call" in (tools[name].description or "")
    assert f"Costs {ANALYSIS_SCOPE_COUNT} billable calls." in (
        tools["creator_overview"].description or ""
    )
    for name in ("compare_creators", "benchmark_pool", "plan_campaign"):
        assert f"{ANALYSIS_SCOPE_COUNT} billable calls per" in (tools[name].description or "")


def test_a_business_code_becomes_code_message_and_request_id_without_the_token() -> None:
    tools = Tools(
        lambda: AsyncClient(token=TOKEN, base_url="http://127.0.0.1:9"), SessionBudgets(), TOKEN
    )
    problem = InsufficientBalance(f"balance too low for {TOKEN}", request_id="req-1")
    text = str(tools.error(problem))
    assert text == "code 601: balance too low for *** (request id req-1)"


def test_pgy_mcp_without_a_token_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGY_")}
    result = subprocess.run(
        [sys.executable, "-m", "pgy_metrics", "mcp", "--base-url", "http://127.0.0.1:9"],
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "no API token" in result.stderr and "PGY_TOKEN" in result.stderr


async def test_calls_cancelled_in_flight_count_as_billed_and_the_failure_is_the_error() -> None:
    """One of three calls answers 601 while the other two are in flight: those are cancelled,
    and since the server may have charged them the budget counts them; the 601 is the error."""
    import httpx
    from mcp.server.fastmcp.exceptions import ToolError

    failing = "5d21ab6b000000001201567f"
    never = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["userId"] == failing:
            body = {"code": 601, "message": "The balance is too low.", "requestId": "req-9"}
            return httpx.Response(200, json=body)
        await never.wait()
        raise AssertionError("not reached")

    budgets = SessionBudgets(10)
    tools = Tools(
        lambda: AsyncClient(
            token=TOKEN,
            base_url="http://127.0.0.1:9",
            transport=httpx.MockTransport(answer),
            max_retries=0,
        ),
        budgets,
        TOKEN,
    )
    budget = budgets.of(None)
    calls = [
        ("notes_rate", uid, {})
        for uid in ("5d21ab6b000000001201567d", failing, "5d21ab6b000000001201567e")
    ]
    with pytest.raises(
        ToolError, match=r"^code 601: The balance is too low\. \(request id req-9\)$"
    ):
        await tools.fetch("test", calls)
    assert (budget.used, budget.reserved, budget.remaining) == (2, 0, 8)
    await tools.aclose()


class Session:
    """Stands for the SDK's ``ServerSession``: an object with an identity, weakly referable."""


def test_each_session_has_its_own_budget_and_a_closed_one_is_released() -> None:
    import gc

    budgets = SessionBudgets(3)
    _, tools = build_server(
        lambda: AsyncClient(token=TOKEN, base_url="http://127.0.0.1:9"),
        token=TOKEN,
        budgets=budgets,
    )
    assert tools.budgets is budgets  # an empty map is falsy: kept all the same
    first, second = Session(), Session()
    budgets.of(first).reserve(3, "notes_rate")
    budgets.of(first).settle(3, 3)
    with pytest.raises(BudgetExceeded, match="notes_rate needs 1 billable call but"):
        budgets.of(first).reserve(1, "notes_rate")
    assert budgets.of(second).remaining == 3
    assert budgets.of(first).remaining == 0 and len(budgets) == 2
    del first
    gc.collect()
    assert len(budgets) == 1
    with pytest.raises(ValueError, match="max_billable_calls"):
        SessionBudgets(-1)


async def test_an_answer_the_server_says_was_free_gives_its_reservation_back() -> None:
    """X-Pgy-Charged: 0 is free, a price is billed, and without the header (the hosted API)
    every answer but a replay counts; each session spends its own budget."""
    import httpx
    from mcp.server.fastmcp.exceptions import ToolError

    from tests.unit.test_client import envelope

    free, paid, unsaid, replay = (f"5d21ab6b00000000120156{n:02x}" for n in range(4))
    headers = {
        free: {"X-Pgy-Charged": "0"},
        paid: {"X-Pgy-Charged": "2"},
        unsaid: {},
        replay: {"Idempotent-Replayed": "true"},
    }

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=envelope(0), headers=headers[request.url.params["userId"]]
        )

    first, second = Session(), Session()
    current = first
    budgets = SessionBudgets(3)
    tools = Tools(
        lambda: AsyncClient(
            token=TOKEN, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(answer)
        ),
        budgets,
        TOKEN,
        session=lambda: current,
    )

    def calls(*user_ids: str) -> list[tuple[str, str, dict[str, str]]]:
        return [("notes_rate", uid, {}) for uid in user_ids]

    fetched = await tools.fetch("test", calls(free, paid, unsaid))
    assert [result.charged for result in fetched.results] == [0, 2, None]
    billing = fetched.billing
    assert (billing.calls_needed, billing.billable_calls, billing.session_remaining) == (3, 2, 1)
    for user_id in (free, replay, free):  # free answers: the one call left is never spent
        billing = (await tools.fetch("test", calls(user_id))).billing
        assert (billing.billable_calls, billing.session_used, billing.session_remaining) == (
            0,
            2,
            1,
        )
    with pytest.raises(ToolError, match=r"test needs 2 billable calls .* has 1 left \(2 used\)"):
        await tools.fetch("test", calls(free, paid))  # reserved whole, before any call
    current = second  # another session: a budget of its own
    billing = (await tools.fetch("test", calls(paid, paid, paid))).billing
    assert (billing.session_used, billing.session_remaining) == (3, 0)
    assert budgets.of(first).used == 2 and len(budgets) == 2
    await tools.aclose()
