"""The account webhook: once per incident (claims), its payload (no secret), delivery in the
background with retries, failures logged without the URL's secret part, and the Pugongying
source reporting lost sessions and risk control to it. A real loopback receiver; the
cluster-wide claim on Redis and real processes are in tests/integration/test_account_reload.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import stamina
from pydantic import SecretStr, ValidationError

from pgy_metrics.cli.main import settings_problem
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.params import Scope
from pgy_metrics.service.account_alerts import (
    AccountWebhook,
    LocalClaims,
    webhook_host,
    webhook_payload,
)
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import RiskControlled, SessionLost
from pgy_metrics.sources.incidents import AccountIncident
from pgy_metrics.sources.pugongying import PugongyingConfig, PugongyingSource
from tests.unit.test_pugongying import (
    MARK,
    FakeMonotonic,
    a1,
    account,
    assert_no_secret,
    base_url,
    fake,
    fake_server,
)
from tests.upstreams.fake_pugongying import FakePugongying
from tests.upstreams.loopback import serve_on_loopback
from tests.upstreams.webhook_receiver import WebhookReceiver

__all__ = ["base_url", "fake", "fake_server"]  # fixtures, imported to be used here

HOOK_SECRET = "hook-key-9d8c7b"
"""The webhook URL's own secret (as a Slack or Feishu URL has): never in a log."""


def incident(key: str = "session_lost:abc", **changes: Any) -> AccountIncident:
    fields: dict[str, Any] = {
        "source": "pugongying",
        "account": "alpha",
        "label": "session_lost",
        "reason": "session lost: HTTP 401; log in again and replace its cookies",
        "at": 1_764_000_000.0,
        "cooling_until": None,
        "key": key,
        "lasts_seconds": 3600.0,
    }
    fields.update(changes)
    return AccountIncident(**fields)


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.get_records("call"):
        assert_no_secret(record.getMessage())
        assert HOOK_SECRET not in record.getMessage()
        assert HOOK_SECRET not in repr(record.__dict__)


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    hook = WebhookReceiver()
    with serve_on_loopback(hook.app) as base:
        yield hook, f"{base}/hook/{HOOK_SECRET}"


def webhook(url: str, claims: LocalClaims | None = None) -> AccountWebhook:
    return AccountWebhook(SecretStr(url), claims=claims or LocalClaims(), timeout_seconds=2.0)


# -- the payload ---------------------------------------------------------------------------------


def test_the_payload_names_the_account_reason_and_times_in_utc() -> None:
    lost = webhook_payload(incident())
    assert lost == {
        "event": "account.session_lost",
        "source": "pugongying",
        "account": "alpha",
        "label": "session_lost",
        "reason": "session lost: HTTP 401; log in again and replace its cookies",
        "at": "2025-11-24T16:00:00Z",
        "cooling_until": None,
        "text": "pgy-metrics: pugongying account 'alpha' lost its session: log it in again and "
        "replace its cookies.",
    }
    rested = webhook_payload(
        incident("risk_control", label="risk_control", cooling_until=1_764_000_300.0)
    )
    assert rested["event"] == "account.risk_controlled"
    assert rested["cooling_until"] == "2025-11-24T16:05:00Z"
    assert "2025-11-24T16:05:00Z" in rested["text"]


def test_logs_and_status_show_the_webhooks_host_only() -> None:
    assert webhook_host(f"https://hooks.example.com/services/{HOOK_SECRET}?k=1") == (
        "https://hooks.example.com"
    )
    assert webhook_host(f"http://127.0.0.1:9/{HOOK_SECRET}") == "http://127.0.0.1:9"


@pytest.mark.parametrize("url", ["ftp://x/y", "hooks.example.com/y", "https:///nohost", "x y"])
def test_a_webhook_url_that_is_not_http_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(account_webhook_url=url)
    (problem,) = refused.value.errors()
    message = settings_problem(problem)  # what pgy serve prints
    assert message == "PGY_ACCOUNT_WEBHOOK_URL: must be an http:// or https:// URL with a host"
    assert repr(Settings(account_webhook_url=f"https://h/{HOOK_SECRET}")).count(HOOK_SECRET) == 0


# -- once per incident -------------------------------------------------------------------------


async def test_local_claims_give_one_incident_once_until_it_expires() -> None:
    clock = FakeMonotonic()
    claims = LocalClaims(clock)
    assert await claims.claim("pugongying", "alpha", "risk_control", 60)
    assert not await claims.claim("pugongying", "alpha", "risk_control", 60)
    assert await claims.claim("pugongying", "beta", "risk_control", 60)  # another account
    assert await claims.claim("pugongying", "alpha", "session_lost:d1", 60)  # another incident
    clock.advance(61)
    assert await claims.claim("pugongying", "alpha", "risk_control", 60)  # failed again after


async def test_many_reports_of_one_incident_deliver_once_and_a_new_incident_again(
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hook, url = receiver
    sink = webhook(url)
    for _ in range(5):
        sink.report(incident())
    await sink.wait()
    assert len(hook.received) == 1
    (delivered,) = hook.received
    assert delivered.path == f"/hook/{HOOK_SECRET}"
    assert delivered.content_type == "application/json"
    assert delivered.json["account"] == "alpha"
    sink.report(incident("session_lost:a-new-login"))
    await sink.wait()
    assert len(hook.received) == 2
    last = await sink.last()
    assert last is not None
    assert (last["account"], last["label"], last["delivered"], last["attempts"]) == (
        "alpha",
        "session_lost",
        True,
        1,
    )


async def test_a_failing_webhook_is_retried_then_logged_by_host_never_blocking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = WebhookReceiver(statuses=[503, 502])
    with serve_on_loopback(hook.app) as base:
        sink = webhook(f"{base}/hook/{HOOK_SECRET}")
        sink.report(incident())  # returns at once: the delivery runs in the background
        await sink.wait()
        assert len(hook.received) == 3  # two 5xx, then delivered
        assert (await sink.last() or {})["attempts"] == 3

        failing = WebhookReceiver(statuses=[500, 500, 500])
        with serve_on_loopback(failing.app) as other:
            sink = webhook(f"{other}/hook/{HOOK_SECRET}")
            sink.report(incident())
            await sink.wait()
        assert len(failing.received) == 3
        last = await sink.last()
        assert last is not None
        assert (last["delivered"], last["attempts"], last["error"]) == (False, 3, "HTTP 500")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"account webhook {other} was not told of pugongying account 'alpha' session_lost "
        "after 3 attempt(s): HTTP 500" in line
        for line in warnings
    ), warnings


async def test_an_unreachable_webhook_fails_with_the_kind_of_error_only() -> None:
    sink = webhook(f"http://127.0.0.1:9/hook/{HOOK_SECRET}")  # discard port: refused
    sink.report(incident())
    await sink.wait()
    last = await sink.last()
    assert last is not None
    assert last["delivered"] is False
    assert last["error"] == "ConnectError"


# -- the source reports its incidents ---------------------------------------------------------


async def test_calls_in_flight_that_see_one_lost_session_tell_the_webhook_once(
    fake: FakePugongying, base_url: str, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    clock = FakeMonotonic()
    sink = webhook(url, LocalClaims(clock))
    source = PugongyingSource(
        PugongyingConfig(
            accounts=[account("alpha")],
            base_url=base_url,
            requests_per_second=1000.0,
            retry_attempts=1,
            cooldown_base_seconds=60.0,
        ),
        monotonic=clock,
        incidents=sink,
    )
    try:
        fake.set_mode(a1("alpha"), "http_401")
        asked = [notes_query(f"{index:024x}", Scope()) for index in range(4)]
        results = await asyncio.gather(*(source.fetch(q) for q in asked), return_exceptions=True)
        assert all(isinstance(result, SessionLost) for result in results)
        assert len(fake.received_by(a1("alpha"))) >= 2  # several calls saw it
        await sink.wait()
        assert len(hook.received) == 1
        body = hook.received[0].body.decode()
        assert_no_secret(body)
        assert hook.received[0].json["label"] == "session_lost"

        # Risk control: once per rest; failing again after the rest is a new incident.
        risky = PugongyingSource(
            PugongyingConfig(
                accounts=[account("beta")],
                base_url=base_url,
                requests_per_second=1000.0,
                retry_attempts=1,
                cooldown_base_seconds=60.0,
            ),
            monotonic=clock,
            incidents=sink,
        )
        fake.set_mode(a1("beta"), "code_300013")
        for index in range(2):
            with pytest.raises(RiskControlled):
                await risky.fetch(notes_query(f"{index:024x}", Scope()))
        await sink.wait()
        assert [d.json["label"] for d in hook.received] == ["session_lost", "risk_control"]
        assert hook.received[1].json["cooling_until"] is not None
        clock.advance(61)  # the rest is over: the account is used again and fails again
        with pytest.raises(RiskControlled):
            await risky.fetch(notes_query(f"{9:024x}", Scope()))
        await sink.wait()
        assert [d.json["account"] for d in hook.received] == ["alpha", "beta", "beta"]
        for delivered in hook.received:
            assert MARK not in delivered.body.decode()
        await risky.aclose()
    finally:
        await source.aclose()


def test_a_report_outside_an_event_loop_is_dropped_with_a_warning_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook(f"http://127.0.0.1:9/hook/{HOOK_SECRET}").report(incident())
    assert "account webhook: pugongying account 'alpha' session_lost not delivered" in caplog.text
    assert "session_lost:abc" not in caplog.text  # the key (a digest) is not logged
