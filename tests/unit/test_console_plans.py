"""The console's plan page in process (ASGI transport, real SQLite, the sandbox source): the form
refuses what ``load_rules`` refuses with the same words, the plan uses only data the holder paid
for (creators without it are listed, nothing is fetched or charged), an infeasible rule shows the
planner's diagnosis and a feasible plan its table, frontier, gain over greedy and a workbook only
its holder can download.

The same flow in a real browser: tests/integration/test_console_plans_browser.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openpyxl
import pytest

from pgy_metrics.analytics.candidates import RulesError, load_rules
from pgy_metrics.analytics.reports import SHEETS
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.server.console import plan_form, plans
from pgy_metrics.service.pools import pools_of
from pgy_metrics.store.paid import paid_snapshots
from pgy_metrics.store.tokens import BillingPlan
from tests.unit.test_console import FIELD, Console, _console, csrf_of, sign_in

A = "5d21ab6b000000001201567d"
B = "5a0b1c2d3e4f5a6b7c8d9e01"
C = "5a0b1c2d3e4f5a6b7c8d9e02"
NOT_LOOKED_UP = "5a0b1c2d3e4f5a6b7c8d9e03"
NO_FILE = {"candidates": ("", b"")}  # the form's empty file input, as a browser sends it
DOWNLOAD = re.compile(r'id="download" href="([^"]+)"')


@dataclass
class Harness:
    console: Console
    carol: str
    dave: str


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async for console in _console(tmp_path):
        issuer = console.app.state.runtime.issuer
        carol = (await issuer.create("carol", plan=BillingPlan(balance=100_000))).token
        dave = (await issuer.create("dave", plan=BillingPlan(balance=100_000))).token
        yield Harness(console, carol, dave)


async def look_up(http: httpx.AsyncClient, user_id: str) -> None:
    """Pay for a creator's data through the creator page (quote, then confirm)."""
    quote = await http.get("/console/creator", params={"ref": user_id})
    fetched = await http.post("/console/creator", data=dict(FIELD.findall(quote.text)))
    assert fetched.status_code == 200
    assert "Charged" in fetched.text


async def balance(harness: Harness, name: str) -> int | None:
    record = await harness.console.app.state.runtime.store.tokens.by_name(name)
    return record.plan.balance  # type: ignore[no-any-return]


def plan_ids(workbook: bytes) -> list[str]:
    """The creator ids of the plan sheet of a report workbook (below its header row)."""
    book = openpyxl.load_workbook(io.BytesIO(workbook), read_only=True)
    rows = list(book[SHEETS["plan"]].iter_rows(values_only=True))
    top = next(i for i, row in enumerate(rows) if any("user_id" in str(c) for c in row))
    column = next(i for i, cell in enumerate(rows[top]) if "user_id" in str(cell))
    return sorted(str(row[column]) for row in rows[top + 1 :] if row[column])


# -- the form ----------------------------------------------------------------------------------

BAD_RULES = [
    'min_video_share = "abc"',
    "min_video_share = 1.5",
    "max_per_any_tag = -1",
    "colour = 3",
    "[tier_spend_share]\nmacro = [0.9, 0.1]",
    "[audience]\ngender = 'female'",
    "must_include = ['nope']",
    "max_per_any_tag = ",
]


@pytest.mark.parametrize("toml", BAD_RULES)
def test_the_rules_field_is_refused_with_load_rules_own_message(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(RulesError) as raised:
        load_rules(path)
    from_file = str(raised.value).replace(str(path), "rules")
    asked = plan_form.parse({"creators": [A], "budget": ["1000"], "rules": [toml]})
    assert asked.errors == {"rules": from_file}
    assert asked.rules is None


@pytest.mark.parametrize(
    ("field", "typed", "toml"),
    [
        ("min_video_share", "abc", 'min_video_share = "abc"'),
        ("min_video_share", "2", "min_video_share = 2"),
        ("max_per_any_tag", "1.5", "max_per_any_tag = 1.5"),
        ("max_creator_budget_share", "0", "max_creator_budget_share = 0"),
    ],
)
def test_a_structured_field_is_refused_as_the_same_key_in_a_rules_file(
    tmp_path: Path, field: str, typed: str, toml: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(RulesError) as raised:
        load_rules(path)
    asked = plan_form.parse({"creators": [A], "budget": ["1000"], field: [typed]})
    assert asked.errors == {field: str(raised.value).replace(str(path), "rules")}
    assert field in asked.errors[field]  # the message names the key


def test_structured_fields_and_toml_make_one_set_of_rules() -> None:
    asked = plan_form.parse(
        {
            "creators": [f"{A}\nhttps://www.xiaohongshu.com/user/profile/{B}\n\n{A}"],
            "budget": ["12,000"],
            "objective": ["interactions"],
            "tier": ["macro"],
            "tier_min": ["0.2"],
            "min_video_share": ["0.4"],
            "exclude_flags": ["paid_boost_heavy", "thin_sample"],
            "audience_gender": ["female"],
            "audience_gender_min": ["0.6"],
            "rules": ["max_per_any_tag = 3\n[max_per_tag]\nbeauty = 2"],
        }
    )
    assert asked.errors == {}
    assert asked.user_ids == [A, B]
    assert asked.budget == 12_000
    assert asked.objective.value == "interactions"
    rules = asked.rules
    assert rules is not None
    assert rules.tier_spend_share == {"macro": (0.2, 1.0)}
    assert rules.min_video_share == 0.4
    assert rules.exclude_flags == frozenset({"paid_boost_heavy", "thin_sample"})
    assert rules.audience is not None and rules.audience.gender_min == 0.6
    assert rules.max_per_any_tag == 3
    assert rules.max_per_tag == {"beauty": 2}


def test_other_fields_are_refused_by_name() -> None:
    asked = plan_form.parse(
        {
            "creators": [f"{A}\nhttps://example.com/x"],
            "budget": ["-5"],
            "objective": ["likes"],
            "tier_min": ["0.5"],
            "min_video_share": ["0.5"],
            "rules": ["min_video_share = 0.2"],
        }
    )
    assert asked.errors["creators"].startswith("creators line 2: ")
    assert asked.errors["budget"] == "budget must be a positive number; got '-5'"
    assert asked.errors["objective"].startswith("objective must be one of reads, interactions")
    assert asked.errors["tier"] == "tier_spend_share: choose the tier the shares apply to"
    assert "min_video_share set both" in asked.errors["rules"]
    many = "\n".join(f"{index:024x}" for index in range(plan_form.MAX_CREATORS + 1))
    capped = plan_form.parse({"creators": [many], "budget": ["1"]})
    assert capped.errors["creators"].startswith(f"creators: at most {plan_form.MAX_CREATORS}")


def test_an_uploaded_file_is_read_as_pgy_plan_reads_it_and_named_as_uploaded() -> None:
    content = f"user_id,price_photo\n{A},1200\nnot-an-id,5\n{B},\n".encode()
    asked = plan_form.parse({"creators": [C], "budget": ["1"]}, ("my list.csv", content))
    assert asked.errors == {}
    assert asked.user_ids == [A, B, C]  # the file's rows, then the listed ids
    assert [problem.line for problem in asked.problems] == [3]
    assert asked.candidates is not None
    assert asked.candidates.get_column("price_photo").to_list() == [1200.0, None, None]
    wrong = plan_form.parse({"budget": ["1"]}, ("list.csv", b"name,price\nx,1\n"))
    assert wrong.errors["candidates"].startswith("list.csv: no user_id column")
    assert "pgy-console-plan" not in wrong.errors["candidates"]  # never the temporary path
    assert "candidates" in plan_form.parse({"budget": ["1"]}, ("a.txt", b"x")).errors


async def test_a_pool_fills_the_creators_for_its_holder_only(harness: Harness) -> None:
    """``/console/plans?pool=ID`` takes the creators of the holder's pool (``pool_members``);
    another holder's pool, or none, is a 404 page."""
    runtime = harness.console.app.state.runtime
    carol = await runtime.store.tokens.by_name("carol")
    pool_id = await pools_of(runtime).create(
        token_id=carol.id, name="spring", user_ids=[A, B], problems="", now=runtime.clock.now()
    )
    async with harness.console.client() as http:
        await sign_in(http, harness.carol)
        answer = await http.get("/console/plans", params={"pool": str(pool_id)})
        assert answer.status_code == 200
        assert f"{A}\n{B}" in answer.text
        missing = await http.get("/console/plans", params={"pool": str(pool_id + 1)})
        assert missing.status_code == 404 and "There is no such pool." in missing.text
    async with harness.console.client() as http:
        await sign_in(http, harness.dave)
        theirs = await http.get("/console/plans", params={"pool": str(pool_id)})
        assert theirs.status_code == 404 and A not in theirs.text


# -- data and plans ----------------------------------------------------------------------------


async def test_a_plan_uses_only_data_the_holder_paid_for(harness: Harness) -> None:
    runtime = harness.console.app.state.runtime
    async with harness.console.client() as carol_http:
        await sign_in(carol_http, harness.carol)
        await look_up(carol_http, A)
    async with harness.console.client() as dave_http:
        await sign_in(dave_http, harness.dave)
        await look_up(dave_http, B)
    tokens = runtime.store.tokens
    carol = await tokens.by_name("carol")
    dave = await tokens.by_name("dave")
    root = await tokens.by_name("root")
    database = runtime.store.database
    mine = await paid_snapshots(database, token_id=carol.id, endpoint=NOTES_RATE, user_ids=[A, B])
    assert {snapshot.user_id for snapshot in mine} == {A}
    every = await paid_snapshots(database, token_id=None, endpoint=NOTES_RATE, user_ids=[A, B])
    assert {snapshot.user_id for snapshot in every} == {A, B}

    ids = [A, B, NOT_LOOKED_UP]
    for holder, missing in ((carol, {B, NOT_LOOKED_UP}), (dave, {A, NOT_LOOKED_UP})):
        found = await plans.plan_data(runtime, holder, ids, set())
        assert {user_id for user_id, _ in found.missing} == missing
        assert {s.user_id for s in found.notes} == set(ids) - missing
        assert set(found.siblings["blogger_profile"]) <= set(ids) - missing
    admin = await plans.plan_data(runtime, root, ids, set())
    assert [user_id for user_id, _ in admin.missing] == [NOT_LOOKED_UP]


async def test_infeasible_then_feasible_then_the_workbook_to_its_holder_only(
    harness: Harness,
) -> None:
    async with harness.console.client() as http:
        await sign_in(http, harness.carol)
        for user_id in (A, B, C):
            await look_up(http, user_id)
        spent = await balance(harness, "carol")
        form = await http.get("/console/plans")
        csrf = csrf_of(form)
        fields = {"csrf": csrf, "creators": f"{A}\n{B}\n{C}\n{NOT_LOOKED_UP}", "budget": "60000"}

        refused = await http.post("/console/plans", data={**fields, "csrf": "x"}, files=NO_FILE)
        assert refused.status_code == 403
        bad = await http.post(
            "/console/plans", data={**fields, "rules": "max_per_any_tag = -1"}, files=NO_FILE
        )
        assert bad.status_code == 400
        assert 'id="rules-error"' in bad.text
        assert "max_per_any_tag: Input should be greater than or equal to 0" in bad.text

        infeasible = await http.post(
            "/console/plans", data={**fields, "max_per_any_tag": "0"}, files=NO_FILE
        )
        assert infeasible.status_code == 200
        assert 'id="infeasible-message"' in infeasible.text
        assert "relax max_per_any_tag" in infeasible.text
        assert 'id="download"' not in infeasible.text

        planned = await http.post("/console/plans", data=fields, files=NO_FILE)
        assert planned.status_code == 200
        text = planned.text
        assert 'id="plan-table"' in text
        assert '<svg data-chart="frontier"' in text
        assert 'id="gain"' in text and "greedy by value per price" in text
        assert f'href="/console/creator?ref={NOT_LOOKED_UP}"' in text  # fetch first
        assert await balance(harness, "carol") == spent  # planning charged nothing
        chosen = re.findall(r'<th scope="row"><code>([0-9a-f]{24})</code>', text)
        assert chosen
        link = DOWNLOAD.search(text)
        assert link is not None
        workbook = await http.get(link.group(1))
        assert workbook.status_code == 200
        assert workbook.headers["content-disposition"].startswith("attachment; filename=")
        assert plan_ids(workbook.content) == sorted(chosen)
    for token in (harness.dave, harness.console.admin):
        async with harness.console.client() as other:
            await sign_in(other, token)
            assert (await other.get(link.group(1))).status_code == 404
    async with harness.console.client() as anonymous:
        assert (await anonymous.get(link.group(1))).status_code == 303  # to sign-in


async def test_prices_from_the_uploaded_file_win_over_the_profile(harness: Harness) -> None:
    async with harness.console.client() as http:
        await sign_in(http, harness.carol)
        await look_up(http, A)
        csrf = csrf_of(await http.get("/console/plans"))
        upload = f"user_id,price_photo,price_video\n{A},1234,2345\nnope,1,1\n".encode()
        planned = await http.post(
            "/console/plans",
            data={"csrf": csrf, "budget": "100000"},
            files={"candidates": ("mine.csv", upload, "text/csv")},
        )
        assert planned.status_code == 200, planned.text[-2000:]
        row = re.search(rf"<code>{A}</code></th><td>(photo|video)</td>.*?</tr>", planned.text, re.S)
        assert row is not None
        assert ("1,234.00" if row.group(1) == "photo" else "2,345.00") in row.group(0)
        assert 'id="problems"' in planned.text  # the bad row, by its line number
        assert "line 3: " in planned.text


async def test_without_the_analytics_extra_the_page_says_so(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness.console.client() as http:
        await sign_in(http, harness.carol)
        csrf = csrf_of(await http.get("/console/plans"))
        monkeypatch.setattr(plans, "_analytics_missing", lambda: True)
        answer = await http.get("/console/plans")
        assert answer.status_code == 503
        assert "pgy-metrics[analytics]" in answer.text
        posted = await http.post(
            "/console/plans", data={"csrf": csrf, "creators": A, "budget": "1"}, files=NO_FILE
        )
        assert posted.status_code == 503


async def test_a_form_over_the_cap_is_refused_unread(harness: Harness) -> None:
    async with harness.console.client() as http:
        await sign_in(http, harness.carol)
        csrf = csrf_of(await http.get("/console/plans"))
        big = ("big.csv", b"user_id\n" + b"x" * (plans.MAX_BODY_BYTES + 1), "text/csv")
        answer = await http.post(
            "/console/plans", data={"csrf": csrf, "budget": "1"}, files={"candidates": big}
        )
        assert answer.status_code == 413


def test_an_audience_target_without_any_fans_profile_is_a_rules_error() -> None:
    from pgy_metrics.analytics.campaign import (
        AUDIENCE_NEEDS_PROFILES,
        candidates_of,
        plan_from_answers,
        tables_of_snapshots,
    )
    from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA, rules_from_text

    candidates = candidates_of([A, B])
    assert candidates.columns == list(CANDIDATE_SCHEMA)
    assert candidates.get_column("line").to_list() == [1, 2]
    rules = rules_from_text("[audience]\ngender = 'female'\ngender_min = 0.5")
    with pytest.raises(RulesError, match="audience") as raised:
        plan_from_answers(
            tables_of_snapshots([]), candidates, {}, budget=1000, objective="reads", rules=rules
        )
    assert str(raised.value) == AUDIENCE_NEEDS_PROFILES
