"""Plans end to end: the ``pgy`` CLI and the admin API against a real ``pgy serve`` process, on
SQLite and on the machine's PostgreSQL. No token may appear in a log line or in any message."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
DATABASE = "pgy-metrics.sqlite3"
"""The default SQLite file in ``PGY_DATA_DIR``."""
OTHERS = ["5d21ab6b000000001201567e", "5d21ab6b000000001201567f", "5d21ab6b0000000012015670"]


class Cli:
    """Runs ``pgy`` in one environment, keeping every output to check for leaked tokens."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.outputs: list[str] = []

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = pgy(*args, env=self.env, check=check)
        self.outputs.append(result.stderr)
        if args[:2] != ("token", "create"):
            self.outputs.append(result.stdout)
        assert "Traceback" not in result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args).stdout)

    def lines(self, *args: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self(*args).stdout.splitlines()]


def _call(server: ServerProcess, token: str, user_id: str = USER) -> int:
    response = httpx.get(
        server.base_url + NOTES_RATE_PATH, params={"token": token, "userId": user_id}, timeout=30
    )
    return int(response.json()["code"])


def test_plan_lifecycle_through_the_cli_against_a_real_server(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(pgy_env(tmp_path / "data", database_url))
    created = cli(
        "token",
        "create",
        "--name",
        "shop",
        "--rate",
        "50/second;1000/minute",
        "--daily-quota",
        "3",
        "--balance",
        "10",
        "--endpoints",
        "notes_rate",
        "--price",
        "3",
        "--cached-price",
        "1",
    )
    token = created.stdout.strip()
    assert created.stdout == token + "\n", "stdout holds only the token"
    admin = cli("token", "create", "--name", "ops", "--admin").stdout.strip()
    tokens = [token, admin]

    shown = cli.json("token", "show", "shop")
    assert shown["plan"] == {
        "rate_limit": "50/second;1000/minute",
        "daily_quota": 3,
        "balance": 10,
        "endpoints": ["notes_rate"],
        "price": 3,
        "cached_price": 1,
    }
    assert shown["name"] == "shop" and shown["active"] is True and shown["admin"] is False
    assert (shown["calls_today"], shown["credits_today"], shown["reserved"]) == (0, 0, 0)
    today = shown["day"]

    with ServerProcess(cli.env, tmp_path / "server.log") as server:
        assert _call(server, token) == 0  # fresh: 3 credits
        assert _call(server, token) == 0  # cached: 1 credit
        shown = cli.json("token", "show", "shop")
        assert shown["plan"]["balance"] == 6
        assert (shown["calls_today"], shown["credits_today"]) == (2, 4)
        assert (shown["remaining_today"], shown["reserved"]) == (1, 0)

        own = httpx.get(f"{server.base_url}/api/balance", params={"token": token}, timeout=30)
        assert own.status_code == 200
        assert own.json()["balance"] == 6 and own.json()["calls_today"] == 2
        assert own.json()["prices"]["notes_rate"] == {"price": 3, "cached_price": 1}

        topped = cli("token", "topup", "shop", "5")
        assert topped.stdout == "11\n" and "balance is 11" in topped.stderr
        assert _call(server, token, OTHERS[0]) == 0  # the third call of the day: 3 credits
        assert _call(server, token, OTHERS[1]) == 303, "the quota of 3 calls is used up"

        updated = json.loads(
            cli("token", "update", "shop", "--no-daily-quota", "--price", "2").stdout
        )
        assert updated["plan"]["daily_quota"] is None and updated["plan"]["price"] == 2
        assert updated["plan"]["balance"] == 8, "update leaves the balance alone"
        assert _call(server, token, OTHERS[1]) == 0, "the lifted quota holds at once"

        rows = cli.lines("usage")
        assert rows == [
            {
                "name": "shop",
                "day": today,
                "calls": 4,
                "credits": 9,
                "reserved": 0,
                "reserved_credits": 0,
            }
        ]
        assert cli.lines("usage", "--token", "shop", "--since", today, "--json") == rows
        assert cli.lines("usage", "--token", "ops") == []
        assert cli.lines("usage", "--since", "2999-01-01") == []

        # The admin API over HTTP answers what the CLI prints.
        bearer = {"Authorization": f"Bearer {admin}"}
        api = httpx.Client(base_url=server.base_url, headers=bearer, timeout=30)
        with api:
            assert api.get("/admin/tokens/shop").json() == cli.json("token", "show", "shop")
            assert api.get("/admin/usage", params={"since": today}).json() == rows
            plain = api.get("/admin/tokens", headers={"Authorization": f"Bearer {token}"})
            assert plain.status_code == 403 and token not in plain.text
            made = api.post("/admin/tokens", json={"name": "api-made", "balance": 2})
            assert made.status_code == 201
            tokens.append(made.json()["token"])
            assert _call(server, made.json()["token"]) == 0
            assert cli.json("token", "show", "api-made")["plan"]["balance"] == 1
            assert api.delete("/admin/tokens/shop").json()["active"] is False
        assert _call(server, token) == 100

    logs = server.logs()
    for secret in tokens:
        assert secret not in logs, "a token reached the server's log"
        assert all(secret not in output for output in cli.outputs), "a token was printed"
    assert "token=***" in logs, "access log lines are kept, with the token redacted"


@pytest.mark.parametrize(
    ("args", "status", "fragments"),
    [
        (
            ("token", "create", "--name", "x", "--rate", "lots"),
            2,
            ["--rate", "10/second;300/minute", "'lots'"],
        ),
        (("token", "create", "--name", "x", "--daily-quota", "-1"), 2, ["--daily-quota"]),
        (("token", "create", "--name", "x", "--balance", "many"), 2, ["--balance"]),
        (
            ("token", "create", "--name", "x", "--endpoints", "notes_rate,search"),
            2,
            ["--endpoints", "among notes_rate", "unknown: search"],
        ),
        (("token", "create", "--name", "x", "--price", "-3"), 2, ["--price"]),
        (("token", "create", "--name", "x y"), 1, ["name must be 1-100 characters"]),
        (("token", "show", "nobody"), 1, ["no token named 'nobody'"]),
        (("token", "topup", "nobody", "5"), 1, ["no token named 'nobody'"]),
        (("token", "topup", "shop", "0"), 2, ["credits"]),
        (("token", "topup", "shop", "lots"), 2, ["credits"]),
        (("token", "update", "nobody", "--no-rate"), 1, ["no token named 'nobody'"]),
        (("token", "update", "shop"), 2, ["nothing to change", "--rate/--no-rate"]),
        (("token", "update", "shop", "--rate", "1/second", "--no-rate"), 2, ["not both"]),
        (("token", "update", "shop", "--rate", "often"), 2, ["--rate", "10/second;300/minute"]),
        (("token", "update", "shop", "--balance", "100"), 2, ["--balance"]),
        (("usage", "--token", "nobody"), 1, ["no token named 'nobody'"]),
        (("usage", "--since", "2026-13-01"), 2, ["--since", "YYYY-MM-DD", "'2026-13-01'"]),
        (("usage", "--since", "last week"), 2, ["--since", "YYYY-MM-DD"]),
    ],
)
def test_bad_options_and_unknown_names_exit_non_zero_with_a_message(
    refusing: Cli, args: tuple[str, ...], status: int, fragments: list[str]
) -> None:
    before = _rows(refusing)
    result = refusing(*args, check=False)
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert _rows(refusing) == before, "a refused command changes nothing"


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One store with the token ``shop`` for every refusal (each case is one process)."""
    cli = Cli(pgy_env(tmp_path_factory.mktemp("refusals")))
    cli("token", "create", "--name", "shop", "--balance", "10")
    return cli


def _rows(cli: Cli) -> tuple[list[Any], ...]:
    """Everything a command could have changed: tokens, ledger and usage rows."""
    with contextlib.closing(sqlite3.connect(Path(cli.env["PGY_DATA_DIR"]) / DATABASE)) as db:
        return tuple(
            db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("tokens", "ledger", "usage_days")
        )
