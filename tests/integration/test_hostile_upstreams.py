"""Both HTTP sources against a real hostile upstream on loopback (``tests/upstreams/hostile.py``):
a body dripping a byte a second, 50 MB bodies, a gzip bomb, invalid UTF-8, a redirect to another
host, TLS against a plain-HTTP and a self-signed server. Each is a collection failure with a clear
label; no cookie or token reaches the other host, an error text or a log record."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.contract.endpoints import Query, notes_query
from pgy_metrics.sources.base import CollectionError, Outcome, Source
from pgy_metrics.sources.justoneapi import JustOneApiConfig, JustOneApiSource
from pgy_metrics.sources.pugongying import PugongyingAccount, PugongyingConfig, PugongyingSource
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.upstreams.hostile import HostileUpstream, self_signed_certificate
from tests.upstreams.loopback import LoopbackServer, serve_on_loopback

pytestmark = pytest.mark.integration

COOKIE = "hostile-a1-secret-5d2c"
"""Carries ``-a1-secret-``: the suite's log scanner (tests/conftest.py) fails on any leak."""
RELAY_TOKEN = "relay-secret-token-hostile-77aa"
SECRETS = (COOKIE, RELAY_TOKEN)


class Outcomes:
    def __init__(self) -> None:
        self.reasons: list[str | None] = []

    def record(self, outcome: Outcome) -> None:
        self.reasons.append(outcome.reason)


SourceFactory = Callable[[str, Outcomes], Source]


def pugongying(base_url: str, outcomes: Outcomes) -> Source:
    account = PugongyingAccount(
        name="alpha", cookies={"a1": COOKIE, "customer-sso-sid": "sso-" + COOKIE}
    )
    config = PugongyingConfig(
        accounts=[account],
        base_url=base_url,
        requests_per_second=100,
        timeout_seconds=1.5,
        retry_attempts=1,
    )
    return PugongyingSource(config, outcomes=outcomes)


def justoneapi(base_url: str, outcomes: Outcomes) -> Source:
    config = JustOneApiConfig(
        token=SecretStr(RELAY_TOKEN), base_url=base_url, timeout_seconds=1.5, attempts=1
    )
    return JustOneApiSource(config, outcomes=outcomes)


SOURCES = {"pugongying": pugongying, "justoneapi": justoneapi}


def query() -> Query:
    return notes_query("5a1b2c3d4e5f60718293a4b5", Scope())


async def collect(factory: SourceFactory, base_url: str) -> tuple[CollectionError, Outcomes]:
    outcomes = Outcomes()
    source = factory(base_url, outcomes)
    try:
        with pytest.raises(CollectionError) as caught:
            await source.fetch(query())
    finally:
        await source.aclose()
    error = caught.value
    for secret in SECRETS:
        assert secret not in str(error) and secret not in repr(error)
    assert error.__cause__ is None
    return error, outcomes


@pytest.fixture
def hostile() -> Iterator[tuple[HostileUpstream, str]]:
    fake = HostileUpstream()
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("mode", "label", "said"),
    [
        ("drip", "timeout", "1.5 s"),
        ("huge", "body_too_large", "larger than the 8388608 bytes allowed"),
        ("huge_announced", "body_too_large", "over the 8388608 allowed"),
        ("gzip_bomb", "body_too_large", "larger than the 8388608 bytes allowed"),
        ("bad_utf8", "malformed", "not valid UTF-8"),
    ],
)
async def test_a_hostile_body_is_a_labelled_collection_failure(
    source: str,
    mode: str,
    label: str,
    said: str,
    hostile: tuple[HostileUpstream, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, base_url = hostile
    fake.mode = mode
    caplog.set_level(logging.DEBUG)
    error, outcomes = await collect(SOURCES[source], base_url)
    assert outcomes.reasons == [label]
    shown = str(error)
    if source == "pugongying" and label in ("timeout", "malformed"):
        # A transient failure: the account is tried again later; the message counts it.
        assert f"1 failed ({label})" in shown
        assert said in " ".join(caplog.messages)
    else:
        assert said in shown
    assert len(fake.requests) == 1
    assert not any(secret in caplog.text for secret in SECRETS)


@pytest.mark.parametrize("source", SOURCES)
async def test_a_redirect_to_another_host_is_never_followed(
    source: str, hostile: tuple[HostileUpstream, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, base_url = hostile
    thief = HostileUpstream(mode="ok")
    with serve_on_loopback(thief.app) as thief_url:
        fake.mode = "redirect"
        fake.redirect_to = thief_url.replace("127.0.0.1", "localhost")
        caplog.set_level(logging.DEBUG)
        error, outcomes = await collect(SOURCES[source], base_url)
    assert outcomes.reasons == ["redirect"]
    assert "redirect" in str(error) and "to another host, localhost" in str(error)
    assert "never followed" in str(error)
    assert thief.requests == []
    url, headers = fake.requests[0]
    asked = url + " " + " ".join(headers.values())
    assert any(secret in asked for secret in SECRETS)  # what a followed redirect would carry
    assert not any(secret in caplog.text for secret in SECRETS)


@pytest.mark.parametrize("source", SOURCES)
async def test_https_against_plain_http_is_a_tls_failure(
    source: str, hostile: tuple[HostileUpstream, str]
) -> None:
    fake, base_url = hostile
    error, outcomes = await collect(SOURCES[source], base_url.replace("http://", "https://"))
    assert outcomes.reasons == ["tls"]
    assert "TLS failed: the handshake did not complete" in str(error)
    assert fake.requests == []


@pytest.mark.parametrize("source", SOURCES)
async def test_https_against_a_self_signed_certificate_is_a_tls_failure(
    source: str, tmp_path: Path
) -> None:
    pytest.importorskip("cryptography")
    key, certificate = self_signed_certificate(tmp_path)
    fake = HostileUpstream(mode="ok")
    server = LoopbackServer(fake.app, ssl_keyfile=str(key), ssl_certfile=str(certificate))
    server.start()
    try:
        error, outcomes = await collect(SOURCES[source], f"https://127.0.0.1:{server.port}")
    finally:
        server.stop()
    assert outcomes.reasons == ["tls"]
    assert "TLS failed: the server's certificate is not trusted" in str(error)
    assert fake.requests == []


SERVED_SOURCES = {
    "justoneapi": """
[[sources]]
type = "justoneapi"
base_url = "{base_url}"
token_env = "RELAY_TOKEN"
timeout_seconds = 1.5
attempts = 1
max_body_bytes = 1048576
""",
    "pugongying": """
[[sources]]
type = "pugongying"
base_url = "{base_url}"
requests_per_second = 100
timeout_seconds = 1.5
retry_attempts = 1
max_body_bytes = 1048576

[[sources.accounts]]
name = "alpha"
cookies_env = "ALPHA_COOKIES"
""",
}


@pytest.mark.parametrize("source", SERVED_SOURCES)
async def test_pgy_serve_answers_301_charges_nothing_and_logs_no_secret(
    source: str, tmp_path: Path, hostile: tuple[HostileUpstream, str]
) -> None:
    """Through a real ``pgy serve`` collecting from the hostile upstream: a 50 MB body, a gzip
    bomb, a redirect elsewhere and a drip each answer code 301, nothing is charged, and neither
    our token nor the relay token nor the cookie is in the server's log."""
    fake, base_url = hostile
    thief = HostileUpstream(mode="ok")
    config = tmp_path / "pgy.toml"
    config.write_text(SERVED_SOURCES[source].format(base_url=base_url), encoding="utf-8")
    env = pgy_env(
        tmp_path / "data",
        RELAY_TOKEN=RELAY_TOKEN,
        ALPHA_COOKIES=f"a1={COOKIE}; customer-sso-sid=sso-{COOKIE}",
        PGY_LOG_LEVEL="debug",
    )
    token = await issue(env, "paying", BillingPlan(balance=10))
    args = ("--config", str(config))
    with serve_on_loopback(thief.app) as thief_url:
        fake.redirect_to = thief_url.replace("127.0.0.1", "localhost")
        with ServerProcess(env, tmp_path / "server.log", args=args) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                for index, mode in enumerate(("huge", "gzip_bomb", "redirect", "drip")):
                    fake.mode = mode
                    answer = await client.get(
                        NOTES_RATE_PATH, params={"token": token, "userId": f"{index:024x}"}
                    )
                    body = answer.json()
                    assert body["code"] == 301, (mode, body)
                    assert not any(secret in body["message"] for secret in SECRETS)
    assert thief.requests == []
    final = await books(env, "paying")
    assert (final.charge_rows, final.balance, final.reservations) == (0, 10, 0)
    logs = server.logs()
    assert "body_too_large" in logs and "redirect" in logs
    assert not any(secret in logs for secret in SECRETS) and token not in logs
