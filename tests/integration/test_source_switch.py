"""A store outlives a configuration: restarting ``pgy serve`` on another source never answers with
the snapshots (or idempotent answers) of the one before, on real processes over loopback.

- sandbox, then replay from an empty folder: code 301, never the sandbox's synthetic data, nothing
  charged (not even for a repeated Idempotency-Key);
- sandbox, then Pugongying (the loopback fake): the fake's real fixture data, ``X-Pgy-Source:
  pugongying``;
- replay, then sandbox: the sandbox collects anew, the recording is not served as its answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.integration.test_upstream_pugongying import cookie_header
from tests.upstreams.fake_pugongying import FakePugongying
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
NEVER_FETCHED = "5d21ab6b000000001201567e"
KEY = "switch-test-key-1"


def ask(server: ServerProcess, token: str, user_id: str = USER, **headers: str) -> httpx.Response:
    response = httpx.get(
        server.base_url + NOTES_RATE_PATH,
        params={"token": token, "userId": user_id},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200
    return response


@pytest.fixture
def paying(tmp_path: Path, database_url: str) -> tuple[dict[str, str], str]:
    """An isolated data dir + database and a token with a balance of 10."""
    env = pgy_env(tmp_path / "data", database_url)
    return env, asyncio.run(issue(env, "paying", BillingPlan(balance=10)))


def test_sandbox_then_an_empty_replay_folder_answers_301_and_charges_nothing(
    tmp_path: Path, paying: tuple[dict[str, str], str]
) -> None:
    env, token = paying
    with ServerProcess(env, tmp_path / "sandbox.log") as sandbox:
        first = ask(sandbox, token, **{"Idempotency-Key": KEY})
        assert first.json()["code"] == 0 and first.headers["X-Pgy-Source"] == "sandbox"
    assert asyncio.run(books(env, "paying")).balance == 9
    empty = tmp_path / "recordings"
    empty.mkdir()
    args = ("--source", "replay", "--replay-dir", str(empty))
    with ServerProcess(env, tmp_path / "replay.log", args=args) as replay:
        for user_id in (USER, NEVER_FETCHED):
            answer = ask(replay, token, user_id)
            body = answer.json()
            assert body["code"] == 301, body
            assert "No recording" in body["message"] and body["data"] is None
            assert "X-Pgy-Source" not in answer.headers
        repeated = ask(replay, token, **{"Idempotency-Key": KEY})  # a retry of the first call
        body = repeated.json()
        assert body["code"] == 400 and body["data"] is None, body
        assert "sandbox source" in body["message"] and "new Idempotency-Key" in body["message"]
        assert "Idempotent-Replayed" not in repeated.headers
    final = asyncio.run(books(env, "paying"))
    assert (final.balance, final.charge_rows, final.reservations) == (9, 1, 0)


@pytest.fixture
def upstream() -> Iterator[tuple[FakePugongying, str]]:
    fake = FakePugongying()
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


def test_sandbox_then_pugongying_answers_the_upstreams_data(
    tmp_path: Path,
    paying: tuple[dict[str, str], str],
    upstream: tuple[FakePugongying, str],
    fixture_bytes: bytes,
) -> None:
    env, token = paying
    fake, base_url = upstream
    with ServerProcess(env, tmp_path / "sandbox.log") as sandbox:
        synthetic = ask(sandbox, token).json()
        assert synthetic["code"] == 0
    (tmp_path / "alpha.cookies").write_text(cookie_header("alpha") + "\n", encoding="utf-8")
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = 100

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"
""",
        encoding="utf-8",
    )
    with ServerProcess(env, tmp_path / "real.log", args=("--config", str(config))) as real:
        answer = ask(real, token)
        body = answer.json()
        assert body["code"] == 0, body
        assert answer.headers["X-Pgy-Source"] == "pugongying"
        assert body["data"] == json.loads(fixture_bytes)["data"]
        assert body["data"] != synthetic["data"]
        assert [sent.params["userId"] for sent in fake.received] == [USER]
    assert asyncio.run(books(env, "paying")).charge_rows == 2


def test_replay_then_sandbox_collects_anew(
    tmp_path: Path, paying: tuple[dict[str, str], str], fixture_bytes: bytes
) -> None:
    env, token = paying
    recordings = tmp_path / "recordings"
    (recordings / USER).mkdir(parents=True)
    (recordings / USER / f"{Scope().key}.json").write_bytes(fixture_bytes)
    args = ("--source", "replay", "--replay-dir", str(recordings))
    with ServerProcess(env, tmp_path / "replay.log", args=args) as replay:
        recorded = ask(replay, token, **{"Idempotency-Key": KEY})
        assert recorded.headers["X-Pgy-Source"] == "replay"
        assert recorded.json()["data"] == json.loads(fixture_bytes)["data"]
    with ServerProcess(env, tmp_path / "sandbox.log") as sandbox:
        answer = ask(sandbox, token)
        assert answer.json()["code"] == 0
        assert answer.headers["X-Pgy-Source"] == "sandbox"
        assert answer.json()["data"] != json.loads(fixture_bytes)["data"]
        assert answer.json()["recordTime"] != recorded.json()["recordTime"]
        assert ask(sandbox, token, **{"Idempotency-Key": KEY}).json()["code"] == 400
    final = asyncio.run(books(env, "paying"))
    assert (final.balance, final.charge_rows) == (8, 2)
