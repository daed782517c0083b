"""Issue 12, item 7: "a cookie file replaced while the cluster runs: the next call on that
account uses the new cookies in every process; the webhook fired once for the lost session".

Two real ``pgy serve`` processes (one collecting inline, one queueing its collections) and a
``pgy worker`` share the machine's PostgreSQL (a throw-away database) and Redis (a key prefix of
their own), collecting with one Pugongying account from a loopback fake upstream in a process of
its own that records the time, account and cookies of every call. A loopback receiver stands for
the operator's webhook (its URL holds a secret of its own, as chat webhooks' do). The session of
the account is lost under calls from both collecting processes: the account is disabled in the
cluster and the webhook is told exactly once; then the cookie file is replaced with a new login
and the next call of each process uses it, without a restart: by the file's change, then by
``pgy accounts reload`` and ``POST /admin/accounts/reload`` for changes a file's stamp cannot
show. A new login that fails again is a new incident. No cookie in any log, answer or webhook
body. Also: the cluster-wide claim of one incident on Redis, by two pools as two processes have,
and ``pgy accounts reload`` without Redis."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.service.account_pool import RedisAccountPool
from pgy_metrics.store.tokens import BillingPlan
from tests.integration import servers, test_collection_queue
from tests.integration.servers import (
    ServerProcess,
    fake_pugongying_process,
    free_port,
    pgy,
    pgy_env,
)
from tests.integration.test_collection_queue import QUEUE, WorkerProcess
from tests.integration.test_money import issue
from tests.upstreams.loopback import serve_on_loopback
from tests.upstreams.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


LOGINS = ("login1", "login2", "login3", "login4")
"""Successive logins of account ``alpha``: cookies of the same length (a file rewritten in place
keeps its size), each value holding ``SECRET``."""
SECRET = "s3cr3t-c00kie"
HOOK_SECRET = "hook-key-5e6f7a"
LATENCY = "1.0"
"""The fake upstream's answer time: long enough for both servers' first calls to be in flight
together when the session is lost."""


def cookies(login: str) -> str:
    return "; ".join(
        (
            f"a1=a1-{login}-{SECRET}",
            f"webId=web-{login}-{SECRET}",
            f"access-token-pgy.xiaohongshu.com=at-{login}-{SECRET}",
            f"solar.beaker.session.id=sess-{login}-{SECRET}",
            f"customer-sso-sid=sso-{login}-{SECRET}",
        )
    )


def a1(login: str) -> str:
    return f"a1-{login}-{SECRET}"


def replace_file(path: Path, login: str) -> None:
    """An operator's new login: a new file moved over the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(cookies(login) + "\n", encoding="utf-8")
    os.replace(fresh, path)


def rewrite_unseen(path: Path, login: str) -> None:
    """A change a file's stamp cannot show: in place, the same size, its time kept (cp -p)."""
    before = os.stat(path)
    text = cookies(login) + "\n"
    assert len(text) == before.st_size
    with path.open("r+", encoding="utf-8") as rewritten:
        rewritten.write(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """The fake Pugongying in a process of its own; its base URL."""
    with fake_pugongying_process(tmp_path, LATENCY) as base_url:
        yield base_url


def write_config(tmp_path: Path, base_url: str) -> Path:
    replace_file(tmp_path / "alpha.cookies", LOGINS[0])
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = 50
timeout_seconds = 10
retry_attempts = 1

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"
""",
        encoding="utf-8",
    )
    return config


class Cluster:
    def __init__(self, servers: list[ServerProcess], token: str, upstream: str) -> None:
        self.servers = servers
        self.token = token
        self.upstream = upstream
        self.asked = 0

    def ask_each(
        self, per_server: int = 1, servers: list[ServerProcess] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """``per_server`` asks for creators never asked before on every server (or those
        given), all at once; (creator, answer) in server order."""
        plan: list[tuple[ServerProcess, str]] = []
        for server in servers or self.servers:
            for _ in range(per_server):
                self.asked += 1
                plan.append((server, f"{self.asked:024x}"))

        async def run() -> list[tuple[str, dict[str, Any]]]:
            async with httpx.AsyncClient(timeout=60) as client:

                async def one(server: ServerProcess, user: str) -> tuple[str, dict[str, Any]]:
                    response = await client.get(
                        server.base_url + NOTES_RATE_PATH,
                        params={"token": self.token, "userId": user},
                    )
                    return user, response.json()

                return await asyncio.gather(*(one(server, user) for server, user in plan))

        return asyncio.run(run())

    def calls(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = httpx.get(
            self.upstream + "/__fake__/requests", timeout=10
        ).json()
        return received

    def account_used_for(self, user: str) -> str:
        (call,) = [c for c in self.calls() if c["params"]["userId"] == user]
        account: str = call["account"]
        return account

    def statuses(self) -> list[dict[str, Any]]:
        return [httpx.get(s.base_url + "/status", timeout=10).json() for s in self.servers]


def wait_for(condition: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.postgres
def test_a_lost_session_tells_the_webhook_once_and_a_new_login_reaches_every_process(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    upstream: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two servers start one after the other on a shared, busy machine: give each more time.
    monkeypatch.setattr(servers, "STARTUP_SECONDS", 120.0)
    monkeypatch.setattr(test_collection_queue, "STARTUP_SECONDS", 120.0)
    config = write_config(tmp_path, upstream)
    hook = WebhookReceiver()
    with serve_on_loopback(hook.app) as hook_base:
        hook_url = f"{hook_base}/hooks/{HOOK_SECRET}"
        env = pgy_env(
            tmp_path / "data",
            postgres_url,
            PGY_REDIS_URL=redis_url,
            PGY_REDIS_KEY_PREFIX=f"pgy-test-{uuid.uuid4().hex[:12]}",
            PGY_LOG_LEVEL="debug",
            PGY_ACCOUNT_WEBHOOK_URL=hook_url,
        )
        token = asyncio.run(issue(env, "caller", BillingPlan()))
        admin = asyncio.run(issue_admin(env))
        args = ("--config", str(config))
        outputs: list[str] = []
        with (
            ServerProcess(env, tmp_path / "first.log", args=args) as first,
            ServerProcess(env, tmp_path / "second.log", args=(*args, *QUEUE)) as second,
            WorkerProcess(env, tmp_path / "worker.log", args=args) as worker,
        ):
            # The first server collects its asks itself; the worker collects the second's.
            cluster = Cluster([first, second], token, upstream)
            set_mode(upstream, a1(LOGINS[0]), "http_401")

            # 1. The session is lost under calls from both collecting processes at once.
            answers = cluster.ask_each(per_server=3)
            assert {answer["code"] for _, answer in answers} == {301}
            lost = [c for c in cluster.calls() if c["account"] == a1(LOGINS[0])]
            assert len(lost) >= 2
            for process in (first, worker):  # each saw the lost session itself
                assert "pugongying account 'alpha' disabled: session lost: HTTP 401" in (
                    process.logs()
                )
            wait_for(lambda: len(hook.received) >= 1, "the webhook")
            time.sleep(1.0)  # a second delivery, if any, would have come by now
            assert len(hook.received) == 1  # once for the cluster
            told = hook.received[0].json
            assert (told["event"], told["account"], told["label"]) == (
                "account.session_lost",
                "alpha",
                "session_lost",
            )
            assert told["reason"].startswith("session lost: HTTP 401")
            assert told["at"].endswith("Z")
            for status in cluster.statuses():  # disabled in the cluster, shown everywhere
                (alpha,) = status["accounts"]
                assert (alpha["state"], alpha["last_failure"]) == ("disabled", "session_lost")
                webhook = status["account_webhook"]
                assert webhook["host"] == hook_base
                assert webhook["last"]["delivered"] is True
                assert webhook["last"]["account"] == "alpha"
                outputs.append(str(status))

            # 2. A new login replaces the file: each server's next call uses it, no restart.
            replace_file(tmp_path / "alpha.cookies", LOGINS[1])
            time.sleep(1.2)  # each process looks at its cookie files once a second at most
            answers = cluster.ask_each()
            assert [answer["code"] for _, answer in answers] == [0, 0]
            for user, _ in answers:
                assert cluster.account_used_for(user) == a1(LOGINS[1])
            for status in cluster.statuses():
                assert status["accounts"][0]["state"] == "active"

            # 3. A change the stamp cannot show is not seen... until pgy accounts reload.
            rewrite_unseen(tmp_path / "alpha.cookies", LOGINS[2])
            time.sleep(1.2)
            ((user, answer),) = cluster.ask_each(servers=[first])
            assert answer["code"] == 0
            assert cluster.account_used_for(user) == a1(LOGINS[1])
            reloaded = pgy("accounts", "reload", "--config", str(config), env=env)
            outputs += [reloaded.stdout, reloaded.stderr]
            assert "Reload generation 1 set in Redis" in reloaded.stdout
            assert f"account 'alpha': {tmp_path / 'alpha.cookies'} holds valid cookies" in (
                reloaded.stderr
            )
            answers = cluster.ask_each()  # at once: the generation is read before every use
            assert [answer["code"] for _, answer in answers] == [0, 0]
            for user, _ in answers:
                assert cluster.account_used_for(user) == a1(LOGINS[2])

            # 4. The same through the admin API of one server: the other follows.
            rewrite_unseen(tmp_path / "alpha.cookies", LOGINS[3])
            response = httpx.post(
                second.base_url + "/admin/accounts/reload",
                headers={"Authorization": f"Bearer {admin}"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            outputs.append(response.text)
            assert response.json() == {
                "generation": 2,
                "signal": "redis",
                "accounts": [
                    {
                        "source": "pugongying",
                        "account": "alpha",
                        "outcome": "new_login",
                        "problem": None,
                    }
                ],
            }
            answers = cluster.ask_each()
            for user, _ in answers:
                assert cluster.account_used_for(user) == a1(LOGINS[3])

            # 5. The new login fails again: a new incident, told again (once).
            set_mode(upstream, a1(LOGINS[3]), "http_401")
            answers = cluster.ask_each(per_server=2)
            assert {answer["code"] for _, answer in answers} == {301}
            outputs += [str(answer) for _, answer in answers]
            wait_for(lambda: len(hook.received) >= 2, "the second incident's webhook")
            time.sleep(1.0)
            assert len(hook.received) == 2
            assert [d.json["label"] for d in hook.received] == ["session_lost"] * 2
            outputs += [str(s) for s in cluster.statuses()]

        logs = first.logs() + second.logs() + worker.logs()
        assert "account webhook " + hook_base + " told of pugongying account 'alpha'" in logs
        for text in [logs, *outputs, *(d.body.decode() for d in hook.received)]:
            assert SECRET not in text  # no cookie of any login, anywhere
            assert HOOK_SECRET not in text  # nor the webhook URL's own secret


def test_one_incident_is_claimed_once_on_redis_whichever_process_claims(redis_url: str) -> None:
    """Two pools on one Redis prefix, as two processes have: the first claim wins, the second
    of the same incident loses, another incident (a new login's) wins again, and the claim
    expires with the incident."""

    async def run() -> None:
        prefix = f"pgy-test-{uuid.uuid4().hex[:12]}"
        first = RedisAccountPool(redis_url, prefix=prefix)
        second = RedisAccountPool(redis_url, prefix=prefix)
        claims = await asyncio.gather(
            *(
                pool.claim("pugongying", "alpha", "session_lost:d1", 60)
                for pool in (first, second) * 5
            )
        )
        assert sorted(claims) == [False] * 9 + [True]
        assert await second.claim("pugongying", "alpha", "session_lost:d2", 60)
        assert await first.claim("pugongying", "alpha", "risk_control", 0.2)
        assert not await second.claim("pugongying", "alpha", "risk_control", 0.2)
        await asyncio.sleep(0.4)  # the rest is over: failing again is a new incident
        assert await second.claim("pugongying", "alpha", "risk_control", 0.2)
        assert await first.generation() == 0
        assert await second.bump_generation() == 1
        assert await first.generation() == 1
        await first.remember_alert({"account": "alpha", "delivered": True})
        assert await second.last_alert() == {"account": "alpha", "delivered": True}

    asyncio.run(run())


def set_mode(upstream: str, account: str, mode: str) -> None:
    httpx.post(
        upstream + "/__fake__/mode", json={"account": account, "mode": mode}, timeout=10
    ).raise_for_status()


async def issue_admin(env: dict[str, str]) -> str:
    from pgy_metrics.cli.common import load_settings, open_issuer

    settings = load_settings(
        data_dir=Path(env["PGY_DATA_DIR"]), database_url=env.get("PGY_DATABASE_URL")
    )
    async with open_issuer(settings) as issuer:
        return (await issuer.create("operator", is_admin=True)).token


def test_pgy_accounts_reload_without_redis_and_its_refusals(tmp_path: Path) -> None:
    """Without Redis the generation lives in the data directory (what the processes of this
    machine read); a cookie file the command cannot use is named (exit 2, nothing raised);
    Redis unreachable is exit 1, nothing raised."""
    from pgy_metrics.service.account_reload import FileReloadSignal

    env = pgy_env(tmp_path / "data")
    done = pgy("accounts", "reload", env=env)
    assert "Reload generation 1 set in the data directory" in done.stdout
    assert asyncio.run(FileReloadSignal(tmp_path / "data").generation()) == 1

    (tmp_path / "alpha.cookies").write_text(f"webId=only-{SECRET}\n", encoding="utf-8")
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"
""",
        encoding="utf-8",
    )
    refused = pgy("accounts", "reload", "--config", str(config), env=env, check=False)
    assert refused.returncode == 2
    assert "account 'alpha' has none of the login cookies" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr
    assert asyncio.run(FileReloadSignal(tmp_path / "data").generation()) == 1

    down = {**env, "PGY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    unreachable = pgy("accounts", "reload", env=down, check=False)
    assert unreachable.returncode == 1
    assert "cannot reach Redis (PGY_REDIS_URL)" in unreachable.stderr
    assert "nothing was reloaded" in unreachable.stderr
