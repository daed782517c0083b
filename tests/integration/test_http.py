"""The server over real HTTP: ``pgy serve`` under uvicorn on a loopback port, on SQLite and on
the machine's PostgreSQL, called with httpx, curl and the official ``justoneapi`` SDK."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from justoneapi import JustOneAPIClient

from pgy_metrics.contract import NOTES_RATE_PATH, Envelope, NotesRateData, Scope
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
CURL_LINE = re.compile(r"curl '([^']+)'")


def _get(base_url: str, **params: str) -> httpx.Response:
    return httpx.get(base_url + NOTES_RATE_PATH, params=params, timeout=30)


def test_first_start_prints_an_admin_token_once_and_the_curl_line_works(
    tmp_path: Path, database_url: str
) -> None:
    env = pgy_env(tmp_path / "data", database_url)
    with ServerProcess(env, tmp_path / "first.log") as server:
        banner = server.logs()
        match = CURL_LINE.search(banner)
        assert match, banner
        url = match.group(1).replace(":8000", f":{server.port}")
        assert "shown only this once" in banner
        if shutil.which("curl"):
            body = subprocess.run(
                ["curl", "-sS", "-D", str(tmp_path / "headers"), url],
                capture_output=True,
                check=True,
                timeout=30,
            ).stdout
            headers = (tmp_path / "headers").read_text().lower()
            assert "x-pgy-source: sandbox" in headers
        else:
            body = httpx.get(url, timeout=30).content
        envelope = Envelope.from_json(body)
        assert envelope.code == 0, envelope.message
        data = envelope.typed_data()
        assert data is not None
        assert envelope.record_time is not None and envelope.request_id
    with ServerProcess(env, tmp_path / "second.log", port=server.port) as again:
        assert "admin token" not in again.logs()
        assert httpx.get(url, timeout=30).json()["code"] == 0


def test_token_cli_create_list_revoke(tmp_path: Path, database_url: str) -> None:
    env = pgy_env(tmp_path / "data", database_url)
    created = pgy("token", "create", "--name", "alice", env=env)
    token = created.stdout.strip()
    assert created.stdout == token + "\n", "stdout holds only the token"
    assert re.fullmatch(r"pgy_[A-Za-z0-9_-]{43}", token)
    assert token not in created.stderr
    duplicate = pgy("token", "create", "--name", "alice", env=env, check=False)
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr
    assert duplicate.stdout == ""

    with ServerProcess(env, tmp_path / "server.log") as server:
        assert _get(server.base_url, token=token, userId=USER).json()["code"] == 0
        listed = [json.loads(line) for line in pgy("token", "list", env=env).stdout.splitlines()]
        alice = next(row for row in listed if row["name"] == "alice")
        assert alice["active"] is True and alice["admin"] is False
        assert token not in json.dumps(listed)
        pgy("token", "revoke", "alice", env=env)
        revoked = _get(server.base_url, token=token, userId=USER).json()
        assert revoked["code"] == 100
        listed = [
            json.loads(line) for line in pgy("token", "list", "--json", env=env).stdout.splitlines()
        ]
        assert next(r for r in listed if r["name"] == "alice")["active"] is False
        assert token not in server.logs(), "the token must never reach a log"
        assert "token=***" in server.logs(), "access log lines are kept, with the token redacted"
    missing = pgy("token", "revoke", "nobody", env=env, check=False)
    assert missing.returncode == 1 and "no active token named 'nobody'" in missing.stderr


def test_official_sdk_gets_code_0_and_contract_valid_data(
    tmp_path: Path, database_url: str
) -> None:
    env = pgy_env(tmp_path / "data", database_url)
    token = pgy("token", "create", "--name", "sdk", env=env).stdout.strip()
    with (
        ServerProcess(env, tmp_path / "server.log") as server,
        JustOneAPIClient(token=token, base_url=server.base_url) as client,
    ):
        for scope in Scope.all():
            response = client.xiaohongshu_pgy.api_solar_kol_data_v3_notes_rate_v1(
                user_id=USER,
                business=scope.business.value,
                note_type=scope.note_type.value,
                date_type=scope.date_type.value,
                advertise_switch=scope.advertise_switch.value,
            )
            assert response.success, response.message
            assert response.code == 0
            NotesRateData.from_raw(response.data)
            assert response.raw_json["recordTime"]
        bad = client.xiaohongshu_pgy.api_solar_kol_data_v3_notes_rate_v1(
            user_id=USER, business="NOPE"
        )
        assert bad.code == 400 and "business" in bad.message
    assert token not in server.logs()


def test_every_bad_input_over_http(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "t", env=env).stdout.strip()
    cases = [
        ({"token": token}, 400, "userId is required"),
        ({"token": token, "userId": "123"}, 400, "24 lowercase hex"),
        ({"token": token, "userId": USER, "noteType": "X"}, 400, "PHOTO_TEXT_AND_VIDEO"),
        ({"userId": USER}, 100, "token is required"),
        ({"token": "nope", "userId": USER}, 100, "unknown, revoked or expired"),
    ]
    with ServerProcess(env, tmp_path / "server.log") as server:
        for params, code, fragment in cases:
            response = _get(server.base_url, **params)
            assert response.status_code == 200
            body = response.json()
            assert body["code"] == code, (params, body)
            assert fragment in body["message"]
            assert body["data"] is None


def test_replay_source_serves_recordings_and_301s_the_rest(
    tmp_path: Path, fixture_bytes: bytes
) -> None:
    recordings = tmp_path / "recordings"
    (recordings / USER).mkdir(parents=True)
    (recordings / USER / f"{Scope().key}.json").write_bytes(fixture_bytes)
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "t", env=env).stdout.strip()
    args = ("--source", "replay", "--replay-dir", str(recordings))
    with ServerProcess(env, tmp_path / "server.log", args=args) as server:
        response = _get(server.base_url, token=token, userId=USER)
        assert response.headers["X-Pgy-Source"] == "replay"
        assert response.json()["data"] == json.loads(fixture_bytes)["data"]
        missing = _get(server.base_url, token=token, userId=USER, dateType="DAY_90").json()
        assert missing["code"] == 301
        assert "No recording" in missing["message"] and "DAY_90" in missing["message"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--source", "replay"), "replay_dir"),
        (("--source", "nowhere"), "source"),
        (("--source", "replay", "--replay-dir", "/does/not/exist"), "not a directory"),
    ],
)
def test_bad_serve_options_fail_with_a_message_not_a_traceback(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = pgy("serve", *args, env=pgy_env(tmp_path / "data"), check=False)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
