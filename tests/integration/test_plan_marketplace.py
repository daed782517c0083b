"""``pgy plan --fetch`` as a brand runs it: a real ``pgy serve`` on the sandbox, a file of creator
ids (one with a negotiated price), a budget and an audience target; the plan fetches everything
else through the API. The exclusions are checked against the profiles fetched independently
over HTTP, the audience target against the plan's own rows."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from pgy_metrics.contract.endpoints import ENDPOINTS
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration

CREATORS = 14
BUDGET = 40_000.0
NEGOTIATED = 999.0
RULES = """
max_creator_budget_share = 0.6

[audience]
gender = "female"
gender_min = 0.55
ages = ["18-24", "25-34"]
ages_min = 0.5
"""


def creator_ids() -> list[str]:
    return [hashlib.sha256(f"i14-plan-{n}".encode()).hexdigest()[:24] for n in range(CREATORS)]


def profile(server: ServerProcess, token: str, user_id: str) -> dict[str, object]:
    spec = ENDPOINTS["blogger_profile"]
    answer = httpx.get(
        server.base_url + spec.path, params={"token": token, "userId": user_id}, timeout=30
    ).json()
    assert answer["code"] == 0
    data: dict[str, object] = answer["data"]
    return data


def test_a_plan_from_ids_a_budget_and_an_audience_target(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "brand", env=env).stdout.strip()
    ids = creator_ids()
    with ServerProcess(env, tmp_path / "serve.log", ("--source", "sandbox")) as server:
        profiles = {user_id: profile(server, token, user_id) for user_id in ids}
        enrolled = [u for u in ids if profiles[u]["picturePrice"] or profiles[u]["videoPrice"]]
        unlisted = sorted(set(ids) - set(enrolled))
        assert enrolled and unlisted, "the sandbox pool should mix both kinds"
        negotiated = enrolled[0]
        candidates = tmp_path / "ids.csv"
        rows = ["user_id,price_photo"] + [
            f"{u},{NEGOTIATED:g}" if u == negotiated else f"{u}," for u in ids
        ]
        candidates.write_text("\n".join(rows) + "\n", encoding="utf-8")
        rules = tmp_path / "rules.toml"
        rules.write_text(RULES, encoding="utf-8")
        result = pgy(
            "plan",
            str(candidates),
            "--budget",
            f"{BUDGET:g}",
            "--rules",
            str(rules),
            "--fetch",
            "--base-url",
            server.base_url,
            "--out",
            str(tmp_path / "out"),
            env={**env, "PGY_TOKEN": token},
        )
        # pgy report: the same pool from the plan's export, the creators file's price first
        report = pgy(
            "report",
            "--from",
            str(tmp_path / "out" / "creators.jsonl"),
            "--creators",
            str(candidates),
            "--fetch",
            "--base-url",
            server.base_url,
            "--out",
            str(tmp_path / "report"),
            env={**env, "PGY_TOKEN": token},
        )
    assert "Traceback" not in result.stderr + report.stderr
    assert "1 from the candidates file" in report.stderr
    listed = load_workbook(tmp_path / "report" / "report.xlsx", read_only=True)
    rows = list(listed["达人 Creators"].iter_rows(min_row=3, values_only=True))
    listed.close()
    columns = list(rows[0])
    sources = {row[0]: row[columns.index("price_photo_source")] for row in rows[1:]}
    assert set(sources) == set(ids)  # every creator, bookable or not
    assert sources[negotiated] == "file"
    assert all(sources[u] is None for u in unlisted)
    assert any(sources[u] == "profile" for u in enrolled)
    output = result.stdout + result.stderr
    assert token not in output
    assert "from the creator profile endpoint" in output
    assert "synthetic" in output

    # every creator not on the marketplace is excluded, with its reason
    book = load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    excluded = [r for r in book["排除 Excluded"].iter_rows(min_row=4, values_only=True) if r[0]]
    whole = {r[0]: r[2] for r in excluded if r[1] is None}
    assert set(unlisted) <= set(whole)
    for user_id in unlisted:
        assert "not on the marketplace" in whole[user_id]
        assert user_id in output  # printed too
    assert negotiated not in whole

    # the report says where each price came from: the file for the negotiated one
    sheet = list(book["达人 Creators"].iter_rows(min_row=3, values_only=True))
    header = list(sheet[0])
    by_id = {row[0]: row for row in sheet[1:]}
    source = header.index("price_photo_source")
    assert by_id[negotiated][source] == "file"
    assert by_id[negotiated][header.index("price_photo")] == NEGOTIATED
    assert {by_id[u][source] for u in enrolled if u != negotiated} <= {"profile", None}
    book.close()

    # the plan: within budget, each booking's price source named, the audience target met
    with (tmp_path / "out" / "plan.csv").open(encoding="utf-8") as handle:
        plan = list(csv.DictReader(handle))
    assert plan, "a plan was built"
    assert sum(float(row["price"]) for row in plan) <= BUDGET
    assert all(row["price_source"] in ("file", "profile") for row in plan)
    assert not set(unlisted) & {row["user_id"] for row in plan}
    total = sum(float(row["value"]) for row in plan)
    for column, minimum in (("audience_gender", 0.55), ("audience_ages", 0.5)):
        share = sum(float(row["value"]) * float(row[column]) for row in plan) / total
        assert share >= minimum - 1e-9, column
    for row in plan:  # costs beside the platform's estimates
        assert float(row["cost_per_read"]) > 0
        assert row["estimate_gap_flag"] in ("true", "false", "")


def test_fetch_and_audience_refusals_name_the_option_or_key(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    candidates = tmp_path / "ids.csv"
    candidates.write_text(f"user_id\n{creator_ids()[0]}\n", encoding="utf-8")
    no_token = pgy("plan", str(candidates), "--budget", "1000", "--fetch", env=env, check=False)
    assert no_token.returncode == 2 and "--token" in no_token.stderr
    assert "Traceback" not in no_token.stderr
    rules = tmp_path / "rules.toml"
    rules.write_text('[audience]\ngender = "women"\ngender_min = 0.7\n', encoding="utf-8")
    bad = pgy(
        "plan", str(candidates), "--budget", "1000", "--rules", str(rules), "--fetch",
        env=env, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "audience.gender" in bad.stderr and "female or male" in bad.stderr
    assert "Traceback" not in bad.stderr
    without_prices = pgy("plan", str(candidates), "--budget", "1000", env=env, check=False)
    assert without_prices.returncode == 2  # without --fetch the file must carry prices
    assert "price_photo and/or price_video" in without_prices.stderr
