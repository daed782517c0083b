"""``pgy batch`` against a real server: input problems reported, export written, a re-run paid
nothing, a budget never exceeded."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pgy_metrics.cli.batch import checkpoint_for
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy, pgy_env
from tests.integration.test_money import books, issue

pytestmark = pytest.mark.integration


def test_batch_export_rerun_and_budget(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = asyncio.run(issue(env, "analyst", BillingPlan(balance=1000)))
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
        # The checkpoint is in the user's state folder (XDG_STATE_HOME here), not beside out.csv.
        state = tmp_path / "data" / "state" / "pgy-metrics" / "checkpoints"
        assert [p.name for p in state.iterdir()] == [checkpoint_for(out, state).name]
        assert f"checkpoint: {checkpoint_for(out, state)}" in first.stderr
        assert not list(tmp_path.glob("out.csv?*"))

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


INTERRUPT_AFTER = 6
"""Pairs the first run has fetched (per its checkpoint) when it gets Ctrl-C."""


def _done(checkpoint: Path) -> int:
    if not checkpoint.exists():
        return 0
    try:
        with sqlite3.connect(checkpoint, timeout=5) as db:
            return int(
                db.execute("SELECT count(*) FROM batch_items WHERE state='done'").fetchone()[0]
            )
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def test_ctrl_c_then_rerun_loses_nothing_and_pays_nothing_twice(tmp_path: Path) -> None:
    """SIGINT (what Ctrl-C sends) to a real ``pgy batch`` mid-way: it says how to resume and
    exits 130 without a traceback; the same command then finishes, and the server's ledger holds
    exactly one charge per (creator, scope) with every pair in the export."""
    env = pgy_env(tmp_path / "data")
    token = asyncio.run(issue(env, "analyst", BillingPlan(balance=1000)))
    ids = [f"{index:024x}" for index in range(1, 11)]
    source = tmp_path / "creators.txt"
    source.write_text("\n".join(ids) + "\n", encoding="utf-8")
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "checkpoints"
    checkpoint = checkpoint_for(out, checkpoints)
    args = ["batch", str(source), "--scopes", "core", "--out", str(out)]
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {
            **env,
            "PGY_TOKEN": token,
            "PGY_BASE_URL": server.base_url,
            "PGY_CHECKPOINT_DIR": str(checkpoints),
        }
        first = subprocess.Popen(
            [sys.executable, "-m", "pgy_metrics", *args, "--rate", "8", "--concurrency", "2"],
            env=client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while _done(checkpoint) < INTERRUPT_AFTER and first.poll() is None:
                assert time.monotonic() < deadline, "the batch made no progress"
                time.sleep(0.05)
            first.send_signal(signal.SIGINT)
            _, first_err = first.communicate(timeout=60)
        finally:
            first.kill()
        assert first.returncode == 130, first_err
        assert "interrupted" in first_err and "run the same command again" in first_err
        assert "Traceback" not in first_err
        fetched_before = _done(checkpoint)
        assert INTERRUPT_AFTER <= fetched_before < 80

        again = pgy(*args, env=client_env)
        assert "ok 80" in again.stderr and f"from the checkpoint {fetched_before}" in again.stderr
        assert f"billable calls {80 - fetched_before}" in again.stderr
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        pairs = {
            (line["user_id"], line["business"], line["date_type"], line["advertise_switch"])
            for line in lines
        }
        assert len(lines) == len(pairs) == 80
        ledger = asyncio.run(books(env, "analyst"))
        assert ledger.charge_rows == ledger.charges == 80
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == [
            "out.jsonl"
        ]  # the checkpoint is in its folder, not beside the export
        for text in (first_err, again.stderr):
            assert token not in text
