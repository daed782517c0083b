"""``pgy backup`` under paid load from a real ``pgy serve``, then ``pgy restore``: the copy is one
consistent moment (every balance plus what it holds reserved equals its ledger's top-ups minus
charges, every counted call has its charge row), a restore is refused while the server runs, and
the restored store serves again."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.backup import describe_copy
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy, pgy_env
from tests.integration.test_money import issue

pytestmark = pytest.mark.integration

STORE = "pgy-metrics.sqlite3"


def money_problems(path: Path) -> list[str]:
    """Every token whose money does not add up in the store at ``path``, and calls without a
    charge row: empty for a consistent store."""
    problems: list[str] = []
    with closing(sqlite3.connect(path)) as db:
        tokens = db.execute("SELECT id, name, balance FROM tokens").fetchall()
        assert tokens, "a store with no token proves nothing"
        for token_id, name, balance in tokens:

            def total(sql: str, token_id: int = token_id) -> int:
                return int(db.execute(sql, (token_id,)).fetchone()[0] or 0)

            topups = total("SELECT sum(amount) FROM ledger WHERE token_id=? AND kind='topup'")
            charges = total("SELECT sum(amount) FROM ledger WHERE token_id=? AND kind='charge'")
            held = total("SELECT sum(amount) FROM reservations WHERE token_id=?")
            if balance + held != topups - charges:
                problems.append(f"{name}: {balance} + {held} held != {topups} - {charges}")
            calls = total("SELECT sum(calls) FROM usage_days WHERE token_id=?")
            rows = total("SELECT count(*) FROM ledger WHERE token_id=? AND kind='charge'")
            if calls != rows:
                problems.append(f"{name}: {calls} calls counted, {rows} charge rows")
    return problems


def ledger_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM ledger").fetchone()[0])


async def test_backup_under_paid_load_then_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = pgy_env(data)
    tokens = [await issue(env, name, BillingPlan(balance=100_000)) for name in ("shop", "agency")]
    copy_path = tmp_path / "backups" / "pgy.sqlite3"
    copy_path.parent.mkdir()
    answered = 0
    stop = asyncio.Event()

    with ServerProcess(env, tmp_path / "server.log") as server:

        async def load(worker: int) -> None:
            nonlocal answered
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                index = 0
                while not stop.is_set():
                    index += 1
                    response = await client.get(
                        NOTES_RATE_PATH,
                        params={
                            "token": tokens[worker % 2],
                            "userId": f"{worker:04x}{index:020x}",  # a new creator each time
                        },
                    )
                    assert response.json()["code"] == 0, response.text
                    answered += 1

        workers = [asyncio.create_task(load(worker)) for worker in range(4)]
        try:
            while answered < 40:
                await asyncio.sleep(0.05)
            backup = await asyncio.to_thread(pgy, "backup", str(copy_path), env=env)
            after_backup = answered
            while answered < after_backup + 40:  # the server goes on writing after the copy
                await asyncio.sleep(0.05)
            in_use = await asyncio.to_thread(pgy, "restore", str(copy_path), env=env, check=False)
        finally:
            stop.set()
            await asyncio.gather(*workers)

        assert "Backed up" in backup.stderr and str(copy_path) in backup.stderr
        assert in_use.returncode == 1
        assert "in use" in in_use.stderr and "stop it" in in_use.stderr
        assert "Traceback" not in in_use.stderr

    live = data / STORE
    live_rows = ledger_rows(live)
    assert money_problems(live) == []
    copied = describe_copy(copy_path)
    assert f"{copied.ledger_rows} ledger rows" in backup.stderr
    # Taken in the middle of the load: paid requests before it, and after it.
    assert 2 < copied.ledger_rows < live_rows
    assert money_problems(copy_path) == []
    assert not Path(f"{copy_path}-wal").exists()  # one self-contained file

    again = pgy("backup", str(copy_path), env=env, check=False)
    assert again.returncode == 1 and "--force" in again.stderr

    restored = pgy("restore", str(copy_path), env=env)
    assert "Restored" in restored.stderr and "before-restore-" in restored.stderr
    (kept,) = data.glob(f"{STORE}.before-restore-*")
    assert ledger_rows(kept) == live_rows  # the replaced store, whole (its WAL folded in)
    assert ledger_rows(live) == copied.ledger_rows
    assert money_problems(live) == []

    with ServerProcess(env, tmp_path / "server-again.log") as server:
        response = httpx.get(
            server.base_url + NOTES_RATE_PATH,
            params={"token": tokens[0], "userId": "f" * 24},
            timeout=60,
        )
        assert response.json()["code"] == 0
    assert ledger_rows(live) == copied.ledger_rows + 1


def test_restore_refuses_what_is_not_a_good_pgy_backup(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    (tmp_path / "data").mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100, encoding="utf-8")
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
        db.commit()
    for path, said in (
        (text, "not a readable SQLite database"),
        (other, "not a pgy-metrics store"),
        (tmp_path / "missing.sqlite3", "no such file"),
    ):
        result = pgy("restore", str(path), env=env, check=False)
        assert result.returncode == 1, result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / STORE).exists()


def test_postgres_stores_get_the_pg_dump_commands(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data", "postgresql+psycopg://pgy:hunter2-secret@db.internal:5433/pgy")
    result = pgy("backup", str(tmp_path / "pgy.dump"), env=env, check=False)
    assert result.returncode == 1
    assert "pg_dump --host=db.internal --port=5433 --username=pgy" in result.stderr
    assert "pg_restore" in result.stderr
    assert "hunter2" not in result.stderr


async def test_restore_onto_a_new_machine_warns_about_the_pepper(tmp_path: Path) -> None:
    old = pgy_env(tmp_path / "old")
    await issue(old, "shop", BillingPlan(balance=5))
    copy = tmp_path / "pgy.sqlite3"
    pgy("backup", str(copy), env=old)
    new = pgy_env(tmp_path / "new" / "data")  # the folder does not exist yet
    restored = pgy("restore", str(copy), env=new)
    assert "Restored" in restored.stderr and "before-restore" not in restored.stderr
    assert "no token pepper here" in restored.stderr
    assert money_problems(tmp_path / "new" / "data" / STORE) == []
    pepper = (tmp_path / "old" / "token-pepper").read_bytes()
    (tmp_path / "new" / "data" / "token-pepper").write_bytes(pepper)
    again = pgy("restore", str(copy), env=new)
    assert "before-restore" in again.stderr and "pepper" not in again.stderr
