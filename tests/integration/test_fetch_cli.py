"""``pgy fetch`` against a real server: JSON, table, bad input, errors without the token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"


def test_fetch_json_table_and_errors(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "cli", env=env).stdout.strip()
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        answer = pgy(
            "fetch", USER, "--scope", "COOPERATE_NOTE.VIDEO.DAY_90.ALL", "--json", env=client_env
        )
        envelope = json.loads(answer.stdout)
        assert envelope["code"] == 0 and envelope["data"]["noteNumber"] >= 0
        table = pgy("fetch", USER, "--business", "DAILY_NOTE", env=client_env)
        assert "read_median" in table.stdout and "source sandbox" in table.stderr
        bad = pgy("fetch", USER, "--date-type", "DAY_7", env=client_env, check=False)
        assert bad.returncode == 2 and "DAY_30, DAY_90" in bad.stderr
        wrong = pgy("fetch", USER, env={**client_env, "PGY_TOKEN": "pgy_" + "x" * 43}, check=False)
        assert wrong.returncode == 1 and "code 100" in wrong.stderr
        for result in (answer, table, bad, wrong):
            assert token not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr
    assert token not in server.logs()
