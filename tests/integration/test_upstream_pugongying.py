"""``pgy serve --config`` collecting from a real local HTTP fake of Pugongying with two accounts:
rotation, a lost session disabling one account, risk control cooling the other, code 301 with
nothing charged when none is left, account states on /status, and no cookie in any log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.upstreams.fake_pugongying import FakePugongying
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration
SECRETS = {name: f"{name}-a1-secret-7f3e9c1d" for name in ("alpha", "beta")}


def cookie_header(name: str) -> str:
    return "; ".join(
        (
            f"a1={SECRETS[name]}",
            f"webId={name}-web-secret-55aa",
            f"access-token-pgy.xiaohongshu.com={name}-access-secret-99ff",
            f"solar.beaker.session.id={name}-session-secret-1234",
            f"customer-sso-sid={name}-sso-secret-abcd",
            f"x-user-id-pgy.xiaohongshu.com={name}-uid",
        )
    )


@pytest.fixture
def upstream() -> Iterator[tuple[FakePugongying, str]]:
    fake = FakePugongying(hang_seconds=2)
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


def test_rotation_session_lost_risk_control_and_secrets(
    tmp_path: Path, upstream: tuple[FakePugongying, str]
) -> None:
    fake, base_url = upstream
    for name in SECRETS:
        (tmp_path / f"{name}.cookies").write_text(cookie_header(name) + "\n", encoding="utf-8")
    config = tmp_path / "pgy.toml"
    config.write_text(
        f"""
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = 100
timeout_seconds = 1
retry_attempts = 1

[[sources.accounts]]
name = "alpha"
cookies_file = "{tmp_path / "alpha.cookies"}"

[[sources.accounts]]
name = "beta"
cookies_file = "{tmp_path / "beta.cookies"}"
""",
        encoding="utf-8",
    )
    env = pgy_env(tmp_path / "data", PGY_HEALTH_FLUSH_SECONDS="0.2", PGY_LOG_LEVEL="debug")

    token = asyncio.run(issue(env, "paying", BillingPlan(balance=50)))
    with ServerProcess(env, tmp_path / "server.log", args=("--config", str(config))) as server:

        def ask(index: int) -> httpx.Response:
            return httpx.get(
                server.base_url + NOTES_RATE_PATH,
                params={"token": token, "userId": f"{index:024x}", "business": "COOPERATE_NOTE"},
                timeout=30,
            )

        first = ask(1)
        assert first.json()["code"] == 0 and first.headers["X-Pgy-Source"] == "pugongying"
        sent = fake.received[-1]
        assert sent.params["business"] == "1"

        fake.set_mode(SECRETS["alpha"], "http_401")
        answers = [ask(index).json()["code"] for index in range(2, 6)]
        assert answers == [0, 0, 0, 0]  # beta takes over from the logged-out alpha

        fake.set_mode(SECRETS["beta"], "code_300013")
        refused = ask(6).json()
        assert refused["code"] == 301
        assert "secret" not in refused["message"]

        status = httpx.get(server.base_url + "/status", timeout=10).json()
        states = {a["account"]: a["state"] for a in status["accounts"]}
        assert states == {"alpha": "disabled", "beta": "cooling_down"}
        final = asyncio.run(books(env, "paying"))
        assert (final.charge_rows, final.balance, final.reservations) == (5, 45, 0)

        deadline = time.monotonic() + 10
        alpha: dict[str, int] = {}
        # Outcomes reach /status by periodic flushes: wait until both kinds have arrived.
        while time.monotonic() < deadline and not (alpha.get("failed") and alpha.get("ok")):
            subjects = {
                s["subject"]: s
                for s in httpx.get(server.base_url + "/status", timeout=10).json()["subjects"]
            }
            alpha = subjects.get("notes_rate/pugongying/alpha", {})
            time.sleep(0.2)
        assert alpha["failed"] >= 1 and alpha["ok"] >= 1
        page = httpx.get(server.base_url + "/status.html", timeout=10).text
        assert "disabled" in page and "cooling_down" in page
        metrics = httpx.get(server.base_url + "/metrics", timeout=10).text
        assert (
            'pgy_upstream_account_state{account="alpha",source="pugongying",state="disabled"} 1.0'
            in metrics
        )
        for text in (page, metrics, str(status)):
            assert not any(secret in text for secret in SECRETS.values())
    logs = server.logs()
    assert "secret" not in logs, "no cookie value may reach the server's log (at DEBUG)"
    assert token not in logs
