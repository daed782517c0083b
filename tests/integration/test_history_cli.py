"""``pgy history`` against a real server: two collections (the second asked for with
``Cache-Control: no-cache`` over real HTTP), as a table, CSV and JSON; bad input exits 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"


def test_history_table_csv_json_and_errors(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "cli", env=env).stdout.strip()
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        url = server.base_url + NOTES_RATE_PATH
        params = {"token": token, "userId": USER}
        first = httpx.get(url, params=params, timeout=30).json()
        cached = httpx.get(url, params=params, timeout=30).json()
        fresh = httpx.get(url, params=params, headers={"Cache-Control": "no-cache"}, timeout=30)
        assert cached["recordTime"] == first["recordTime"]
        assert fresh.json()["recordTime"] > first["recordTime"]

        answer = pgy("history", USER, "--json", env=client_env)
        envelope = json.loads(answer.stdout)
        times = [point["recordTime"] for point in envelope["data"]["points"]]
        assert times == [first["recordTime"], fresh.json()["recordTime"]]

        table = pgy("history", USER, "--business", "DAILY_NOTE", env=client_env)
        assert "read" in table.stdout and "2 collections" in table.stderr
        assert first["recordTime"][:16] in table.stdout

        rows = list(
            csv.DictReader(io.StringIO(pgy("history", USER, "--csv", env=client_env).stdout))
        )
        assert [row["record_time"] for row in rows] == times
        assert {"source", "note_number", "read_median"} <= set(rows[0])
        picked = pgy("history", USER, "--csv", "--fields", "noteNumber", env=client_env)
        assert picked.stdout.splitlines()[0] == "record_time,source,noteNumber"

        other = pgy("history", USER, "--scope", "COOPERATE_NOTE.VIDEO.DAY_90.ALL", env=client_env)
        assert "0 collections" in other.stderr

        bad = pgy("history", USER, "--since", "soon", env=client_env, check=False)
        assert bad.returncode == 2 and "--since must be a day" in bad.stderr
        wrong = pgy(
            "history", USER, env={**client_env, "PGY_TOKEN": "pgy_" + "x" * 43}, check=False
        )
        assert wrong.returncode == 1 and "code 100" in wrong.stderr
        for result in (answer, table, bad, wrong):
            assert token not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr
    assert token not in server.logs()
