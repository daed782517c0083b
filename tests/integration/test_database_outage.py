"""PostgreSQL stopped and started under a running server (issue 17 item 2).

The cluster is the test's own (``initdb`` + ``pg_ctl`` on a free port, run as the ``postgres``
user; never the machine's). While it is down every answer is the contract's code 500 with a
generic message, quickly, cached or not: a cached answer is charged (a ledger row), and a charge
needs the database, so nothing is answered that could not be charged. When it is back the same
server answers code 0 again without a restart, and the books hold exactly one charge per code-0
answer and none for the 500s, with no reservation left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.conftest import unavailable
from tests.integration.servers import ServerProcess, free_port, pgy_env
from tests.integration.test_money import books, issue

pytestmark = pytest.mark.integration
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PRICE = 2
BALANCE = 1_000
RECOVERY_SECONDS = 30.0


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, in a folder the ``postgres`` user owns."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
            unavailable(f"PostgreSQL server binaries are not in {PG_BIN}")
        self.folder = Path(tempfile.mkdtemp(prefix="pgy-outage-"))
        os.chmod(self.folder, 0o755)
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_postgres(
            PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: object) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, argv)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            self.folder / "log",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


async def test_an_outage_answers_500_then_recovers_with_exact_books(
    tmp_path: Path, postgres: PrivatePostgres
) -> None:
    env = pgy_env(tmp_path / "data", postgres.url)
    token = await issue(
        env, "paying", BillingPlan(balance=BALANCE, price=PRICE, cached_price=PRICE)
    )
    with ServerProcess(env, tmp_path / "server.log") as server:

        def ask(user: int) -> dict[str, Any]:
            answer = httpx.get(
                server.base_url + NOTES_RATE_PATH,
                params={"token": token, "userId": f"{user:024x}"},
                timeout=30,
            )
            assert answer.status_code == 200
            body: dict[str, Any] = answer.json()
            assert answer.headers["X-Pgy-Charged"] == (str(PRICE) if body["code"] == 0 else "0")
            return body

        answers = [ask(1), ask(2), ask(1)]  # two collections and a cached hit
        assert [a["code"] for a in answers] == [0, 0, 0]

        postgres.stop()
        during = [ask(1), ask(3), ask(2)]  # cached, new, cached
        assert [a["code"] for a in during] == [500, 500, 500]
        assert all("retry" in a["message"] and "psycopg" not in a["message"] for a in during)
        answers += during

        postgres.start()
        deadline = time.monotonic() + RECOVERY_SECONDS
        recovered = ask(3)
        answers.append(recovered)
        while recovered["code"] != 0:
            assert recovered["code"] == 500, recovered
            assert time.monotonic() < deadline, "the server did not recover without a restart"
            time.sleep(0.5)
            recovered = ask(3)
            answers.append(recovered)
        answers += [ask(1), ask(4)]
        assert [a["code"] for a in answers[-2:]] == [0, 0]

    succeeded = [a for a in answers if a["code"] == 0]
    money = await books(env, "paying")
    assert money.charge_rows == len(succeeded) and money.charges == len(succeeded) * PRICE
    assert money.balance == BALANCE - len(succeeded) * PRICE
    assert money.reservations == 0 and money.reserved == 0 and money.calls == len(succeeded)
    assert token not in server.logs()


def _immutable(paths: list[Path], on: bool) -> None:
    """``chattr +i``/``-i``: read-only even for root (who ignores file modes)."""
    flag = "+i" if on else "-i"
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@pytest.fixture
def chattr_works(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.write_text("x")
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) is not installed: cannot make a file read-only for root")
    try:
        _immutable([probe], True)
    except subprocess.CalledProcessError:
        pytest.skip("this file system or user cannot set the immutable flag (chattr +i)")
    _immutable([probe], False)


def test_a_read_only_sqlite_store_is_one_line_at_start_and_500_at_run_time(
    tmp_path: Path, chattr_works: None
) -> None:
    data = tmp_path / "data"
    env = pgy_env(data)
    token = pgy_token(env)
    database = data / "pgy-metrics.sqlite3"

    _immutable([database], True)
    try:
        started = subprocess.run(
            [sys.executable, "-m", "pgy_metrics", "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        _immutable([database], False)
    assert started.returncode == 1
    assert "readonly database" in started.stderr and "Traceback" not in started.stderr
    assert "PGY_DATA_DIR" in started.stderr

    with ServerProcess(env, tmp_path / "server.log") as server:

        def ask(user: int) -> dict[str, Any]:
            answer = httpx.get(
                server.base_url + NOTES_RATE_PATH,
                params={"token": token, "userId": f"{user:024x}"},
                timeout=30,
            )
            assert answer.status_code == 200
            body: dict[str, Any] = answer.json()
            return body

        assert ask(1)["code"] == 0
        files = [database, database.with_name(database.name + "-wal")]
        _immutable(files, True)  # the disk turned read-only under the running server
        try:
            during = [ask(1), ask(2)]
        finally:
            _immutable(files, False)
        assert [a["code"] for a in during] == [500, 500]
        assert all("retry" in a["message"] for a in during)
        assert ask(1)["code"] == 0  # writable again: served without a restart
    assert token not in server.logs()


def pgy_token(env: dict[str, str]) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "pgy_metrics", "token", "create", "--name", "reader"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return created.stdout.strip()
