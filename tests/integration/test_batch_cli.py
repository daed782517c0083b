"""``pgy batch`` against a real server: input problems reported, export written, a re-run paid
nothing, a budget never exceeded."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from pgy_metrics.store.tokens import Plan
from tests.integration.servers import ServerProcess, pgy, pgy_env
from tests.integration.test_money import books, issue

pytestmark = pytest.mark.integration


def test_batch_export_rerun_and_budget(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = asyncio.run(issue(env, "analyst", Plan(balance=1000)))
    ids = [f"{index:024x}" for index in range(1, 6)]
    source = tmp_path / "creators.csv"
    source.write_text(
        "name,userId\n"
        f"a,{ids[0]}\n"
        f"b,https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{ids[1]}?track_id=x\n"
        "c,not-an-id\n"
        f"d,{ids[2]}\ne,{ids[3]}\nf,{ids[4]}\ng,{ids[0]}\n",
        encoding="utf-8",
    )
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        out = tmp_path / "out.csv"
        first = pgy("batch", str(source), "--scopes", "core", "--out", str(out), env=client_env)
        assert first.stdout.strip() == str(out)
        assert "creators.csv:4" in first.stderr and "not-an-id" in first.stderr
        assert "ok 40" in first.stderr and "billable calls 40" in first.stderr
        with out.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 40 and {r["user_id"] for r in rows} == set(ids)
        assert (asyncio.run(books(env, "analyst"))).charge_rows == 40

        again = pgy("batch", str(source), "--scopes", "core", "--out", str(out), env=client_env)
        assert "billable calls 0" in again.stderr and "from the checkpoint 40" in again.stderr
        with out.open(encoding="utf-8-sig") as handle:  # rewritten whole from the checkpoint
            assert len(list(csv.DictReader(handle))) == 40
        assert (asyncio.run(books(env, "analyst"))).charge_rows == 40

        limited = pgy(
            "batch",
            str(source),
            "--scopes",
            "all",
            "--budget",
            "7",
            "--out",
            str(tmp_path / "budget.jsonl"),
            env=client_env,
            check=False,
        )
        assert limited.returncode == 1 and "budget reached" in limited.stderr
        assert (asyncio.run(books(env, "analyst"))).charge_rows <= 40 + 7
        bad = pgy("batch", str(source), "--scopes", "weekly", env=client_env, check=False)
        assert bad.returncode == 2 and "--scopes must be one of" in bad.stderr
        for result in (first, again, limited, bad):
            assert token not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr
    assert token not in server.logs()
