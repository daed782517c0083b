"""The ``pugongying`` source against a real local HTTP fake of Pugongying on a loopback port.

Nothing sleeps: stamina runs in testing mode (no backoff, the configured attempts), cool-downs use
an injected monotonic clock, and only the timeout mode waits for the (0.2 s) client timeout.
Every test runs under a DEBUG log capture that must not contain any cookie value.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import httpx
import pytest
import stamina

from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope
from pgy_metrics.sources.base import (
    AccountState,
    CollectionError,
    MalformedPayload,
    Outcome,
    RiskControlled,
    SessionLost,
    Source,
    UpstreamUnavailable,
)
from pgy_metrics.sources.pugongying import (
    COOKIE_NAMES,
    DEFAULT_BASE_URL,
    PugongyingAccount,
    PugongyingConfig,
    PugongyingConfigError,
    PugongyingSource,
    VerdictKind,
    classify,
)
from pgy_metrics.sources.signing import SignerError
from tests.upstreams.fake_pugongying import FakePugongying, fixture_data
from tests.upstreams.loopback import aserve_on_loopback, serve_on_loopback

USER_ID = "5d21ab6b000000001201567d"
OTHER_USER_ID = "5a0b1c2d000000001f00abcd"
MARK = "s3cr3t"
"""Every cookie value and proxy password in these tests holds this mark; no log line may."""
COOLDOWN_BASE = 60.0
COOLDOWN_MAX = 240.0

SESSION_LOST_MODES = {
    "http_401": "HTTP 401",
    "code_-100": "code -100",
    "code_902": "code 902",
    "code_903": "code 903",
    "code_906": "code 906",
    "html_login": "HTML page",
    "redirect_login": "HTTP 302",
}
RISK_CONTROL_MODES = {
    "code_300013": "code 300013",
    "http_406": "HTTP 406",
    "http_461": "HTTP 461",
    "http_429": "HTTP 429",
}
TRANSIENT_MODES = {
    "timeout": "timeout",
    "http_500": "http_5xx",
    "http_502": "http_5xx",
    "malformed_json": "malformed",
}


Build = Callable[..., PugongyingSource]


def cookies_of(name: str) -> dict[str, str]:
    return {
        "access-token-pgy.xiaohongshu.com": f"customer.pgy.AT-{name}-{MARK}-68c5176a2e1f",
        "solar.beaker.session.id": f"1733{name}{MARK}0000beaker",
        "customer-sso-sid": f"68c517{name}-{MARK}-sso",
        "x-user-id-pgy.xiaohongshu.com": f"5f1e{name}{MARK}0011",
        "a1": f"18c0ffee{name}{MARK}a1",
        "webId": f"webid{name}{MARK}",
    }


def a1(name: str) -> str:
    return cookies_of(name)["a1"]


def account(name: str, **options: Any) -> PugongyingAccount:
    return PugongyingAccount(name=name, cookies=cookies_of(name), **options)


class RecordingSink:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def reasons(self, account: str | None = None) -> list[str | None]:
        return [o.reason for o in self.outcomes if account is None or o.account == account]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assert_no_secret(text: str) -> None:
    assert MARK not in text, f"a secret leaked: {text!r}"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[FakePugongying, str]]:
    fake = FakePugongying()
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def fake(fake_server: tuple[FakePugongying, str]) -> FakePugongying:
    fake_server[0].reset()
    return fake_server[0]


@pytest.fixture
def base_url(fake_server: tuple[FakePugongying, str]) -> str:
    return fake_server[1]


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    """stamina without backoff, keeping the configured number of attempts."""
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    # In teardown ``caplog.records`` holds the teardown phase only: read every phase.
    phases: tuple[Literal["setup", "call", "teardown"], ...] = ("setup", "call", "teardown")
    for phase in phases:
        for record in caplog.get_records(phase):
            assert_no_secret(record.getMessage())
            assert_no_secret(repr(record.__dict__))
            if record.exc_info:
                assert_no_secret("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
async def build(
    base_url: str, sink: RecordingSink, clock: FakeMonotonic
) -> AsyncIterator[Callable[..., PugongyingSource]]:
    """Build sources on the fake (closed after the test): ``build("alpha", "beta", **config)``."""
    built: list[PugongyingSource] = []

    def make(
        *names: str, accounts: list[PugongyingAccount] | None = None, **options: Any
    ) -> PugongyingSource:
        settings: dict[str, Any] = {
            "base_url": base_url,
            "requests_per_second": 1000.0,
            "timeout_seconds": 5.0,
            "retry_attempts": 2,
            "cooldown_base_seconds": COOLDOWN_BASE,
            "cooldown_max_seconds": COOLDOWN_MAX,
        }
        settings.update(options)
        if accounts is None:
            accounts = [account(name) for name in names or ("alpha",)]
        source = PugongyingSource(
            PugongyingConfig(accounts=accounts, **settings), outcomes=sink, monotonic=clock
        )
        built.append(source)
        return source

    yield make
    for source in built:
        await source.aclose()


def states(source: PugongyingSource) -> dict[str, AccountState]:
    return {status.account: status.state for status in source.accounts()}


async def expect(
    error: type[CollectionError], source: PugongyingSource, user_id: str = USER_ID
) -> CollectionError:
    with pytest.raises(error) as caught:
        await source.fetch(notes_query(user_id, Scope()))
    assert type(caught.value) is error
    assert caught.value.source == "pugongying"
    assert_no_secret(str(caught.value))
    assert_no_secret(repr(caught.value))
    assert_no_secret("".join(traceback.format_exception(caught.value)))
    return caught.value


# -- success ------------------------------------------------------------------------------------


async def test_success_returns_the_upstream_data_with_the_headers_real_clients_send(
    fake: FakePugongying, build: Build, sink: RecordingSink
) -> None:
    source = build("alpha")
    assert isinstance(source, Source)
    data = await source.fetch(notes_query(USER_ID, Scope()))
    assert data == fixture_data()

    (request,) = fake.received
    assert request.problems == []
    assert request.path == "/api/solar/kol/dataV3/notesRate"
    assert request.query_string == (
        f"userId={USER_ID}&business=0&noteType=3&dateType=1&advertiseSwitch=1"
    )
    headers = request.headers
    assert (
        headers["referer"]
        == f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER_ID}"
    )
    assert headers["user-agent"].startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert re.fullmatch(r"[0-9a-f]{16}", headers["x-b3-traceid"])
    assert headers["accept"].startswith("application/json")
    assert headers["accept-language"].startswith("zh-CN")
    assert request.cookies == cookies_of("alpha")
    assert set(request.cookies) == set(COOKIE_NAMES)
    assert "x-s" not in headers  # the default signer adds nothing

    (outcome,) = sink.outcomes
    assert (outcome.source, outcome.account, outcome.ok, outcome.reason) == (
        "pugongying",
        "alpha",
        True,
        None,
    )
    assert outcome.latency_seconds > 0
    assert states(source) == {"alpha": AccountState.ACTIVE}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(), {"business": "0", "noteType": "3", "dateType": "1", "advertiseSwitch": "1"}),
        (
            Scope(
                Business.COOPERATE_NOTE,
                NoteType.VIDEO,
                DateType.DAY_90,
                AdvertiseSwitch.ORGANIC_ONLY,
            ),
            {"business": "1", "noteType": "2", "dateType": "2", "advertiseSwitch": "0"},
        ),
        (
            Scope(note_type=NoteType.PHOTO_TEXT),
            {"business": "0", "noteType": "1", "dateType": "1", "advertiseSwitch": "1"},
        ),
    ],
)
async def test_scope_is_sent_as_pugongying_numbers(
    fake: FakePugongying, build: Build, scope: Scope, expected: dict[str, str]
) -> None:
    await build("alpha").fetch(notes_query(OTHER_USER_ID, scope))
    (request,) = fake.received
    assert request.params == {"userId": OTHER_USER_ID, **expected}
    assert request.headers["referer"].endswith(f"/blogger-detail/{OTHER_USER_ID}")


async def test_every_attempt_has_its_own_trace_id(fake: FakePugongying, build: Build) -> None:
    source = build("alpha")
    for _ in range(3):
        await source.fetch(notes_query(USER_ID, Scope()))
    trace_ids = {request.headers["x-b3-traceid"] for request in fake.received}
    assert len(trace_ids) == 3


async def test_user_agent_is_configurable(fake: FakePugongying, build: Build) -> None:
    agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15"
    await build("alpha", user_agent=agent).fetch(notes_query(USER_ID, Scope()))
    assert fake.received[0].headers["user-agent"] == agent


# -- session lost -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", SESSION_LOST_MODES)
async def test_session_lost_disables_the_account_and_the_next_one_answers(
    fake: FakePugongying, build: Build, sink: RecordingSink, mode: str
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), mode)
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()

    assert states(source) == {"alpha": AccountState.DISABLED, "beta": AccountState.ACTIVE}
    alpha = source.accounts()[0]
    assert alpha.reason is not None
    assert alpha.reason.startswith("session lost: ")
    assert SESSION_LOST_MODES[mode] in alpha.reason
    assert alpha.until is None
    assert_no_secret(repr(alpha))
    assert sink.reasons() == ["session_lost", None]
    assert len(fake.received_by(a1("alpha"))) == 1  # never retried

    # The disabled account is never used again; when the last one goes too, SessionLost.
    fake.set_mode(a1("beta"), mode)
    error = await expect(SessionLost, source)
    assert "2 logged out" in error.message
    assert len(fake.received_by(a1("alpha"))) == 1
    assert len(fake.received_by(a1("beta"))) == 2

    # Nothing left to try: the next fetch fails at once, without a request.
    await expect(SessionLost, source)
    assert len(fake.received) == 3


async def test_a_missing_login_cookie_is_a_lost_session(fake: FakePugongying, build: Build) -> None:
    cookies = {"a1": a1("alpha"), "customer-sso-sid": f"x{MARK}"}
    source = build(accounts=[PugongyingAccount(name="alpha", cookies=cookies)])
    fake.set_mode(a1("alpha"), "code_-100")
    await expect(SessionLost, source)
    assert states(source) == {"alpha": AccountState.DISABLED}


# -- risk control -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", RISK_CONTROL_MODES)
async def test_risk_control_cools_the_account_down_and_the_next_one_answers(
    fake: FakePugongying, build: Build, sink: RecordingSink, clock: FakeMonotonic, mode: str
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), mode)
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()

    alpha, beta = source.accounts()
    assert alpha.state is AccountState.COOLING_DOWN
    assert alpha.until == clock.now + COOLDOWN_BASE
    assert alpha.reason is not None
    assert RISK_CONTROL_MODES[mode] in alpha.reason
    assert beta.state is AccountState.ACTIVE
    assert sink.reasons() == ["risk_control", None]
    assert len(fake.received_by(a1("alpha"))) == 1

    fake.set_mode(a1("beta"), mode)
    error = await expect(RiskControlled, source)
    assert "2 cooling down" in error.message
    assert "usable again in 60 s" in error.message
    await expect(RiskControlled, source)  # both resting: no request at all
    assert len(fake.received) == 3


async def test_cool_down_ends_when_its_time_has_passed_and_doubles_per_strike(
    fake: FakePugongying, build: Build, clock: FakeMonotonic
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), "code_300013", times=1)
    await source.fetch(notes_query(USER_ID, Scope()))
    assert source.accounts()[0].until == clock.now + 60

    for _ in range(3):  # only beta while alpha rests
        await source.fetch(notes_query(USER_ID, Scope()))
    assert len(fake.received_by(a1("alpha"))) == 1

    clock.advance(59.9)
    assert states(source)["alpha"] is AccountState.COOLING_DOWN
    clock.advance(0.1)
    assert states(source)["alpha"] is AccountState.ACTIVE
    assert source.accounts()[0].until is None
    await source.fetch(notes_query(USER_ID, Scope()))
    await source.fetch(notes_query(USER_ID, Scope()))
    assert len(fake.received_by(a1("alpha"))) == 2  # back in the rotation

    # Strikes without a success in between double the rest, up to the cap (alpha's success
    # above reset its count, so this starts at the base again).
    rests = []
    for _ in range(4):
        fake.set_mode(a1("alpha"), "code_300013", times=1)
        fake.set_mode(a1("beta"), "code_300013", times=1)
        await expect(RiskControlled, source)
        alpha = source.accounts()[0]
        assert alpha.until is not None
        rests.append(alpha.until - clock.now)
        clock.advance(COOLDOWN_MAX)
    assert rests == [60, 120, 240, 240]

    # A success resets the strikes: the next rest is the base again.
    await source.fetch(notes_query(USER_ID, Scope()))
    await source.fetch(notes_query(USER_ID, Scope()))
    fake.set_mode(a1("alpha"), "code_300013", times=1)
    fake.set_mode(a1("beta"), "code_300013", times=1)
    await expect(RiskControlled, source)
    alpha = source.accounts()[0]
    assert alpha.until == clock.now + COOLDOWN_BASE


async def test_risk_controlled_when_the_others_are_logged_out(
    fake: FakePugongying, build: Build
) -> None:
    source = build("alpha", "beta", "gamma")
    fake.set_mode(a1("alpha"), "http_401")
    fake.set_mode(a1("beta"), "code_906")
    fake.set_mode(a1("gamma"), "http_461")
    error = await expect(RiskControlled, source)
    assert error.message.startswith(
        f"No Pugongying account could collect creator {USER_ID}: 2 logged out, "
        "1 cooling down after risk control (one is usable again in 60 s)."
    )


# -- transient failures -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TRANSIENT_MODES)
async def test_transient_failures_are_retried_with_bounds_then_the_next_account(
    fake: FakePugongying, build: Build, sink: RecordingSink, mode: str
) -> None:
    # timeout_seconds bounds a whole attempt (connect included): room for a busy machine.
    source = build("alpha", "beta", retry_attempts=3, timeout_seconds=0.6)
    fake.set_mode(a1("alpha"), mode)
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    assert len(fake.received_by(a1("alpha"))) == 3
    assert len(fake.received_by(a1("beta"))) == 1
    reason = TRANSIENT_MODES[mode]
    assert sink.reasons() == [reason, reason, reason, None]
    assert states(source) == {"alpha": AccountState.ACTIVE, "beta": AccountState.ACTIVE}


@pytest.mark.parametrize("mode", TRANSIENT_MODES)
async def test_transient_failures_on_every_account_give_upstream_unavailable(
    fake: FakePugongying, build: Build, mode: str
) -> None:
    source = build("alpha", "beta", timeout_seconds=0.6)
    fake.set_mode(a1("alpha"), mode)
    fake.set_mode(a1("beta"), mode)
    expected = MalformedPayload if mode == "malformed_json" else UpstreamUnavailable
    error = await expect(expected, source)
    assert f"2 failed ({TRANSIENT_MODES[mode]})" in error.message
    assert len(fake.received) == 4  # 2 attempts x 2 accounts, no more
    assert states(source) == {"alpha": AccountState.ACTIVE, "beta": AccountState.ACTIVE}


async def test_a_transient_failure_then_success_stays_on_the_account(
    fake: FakePugongying, build: Build, sink: RecordingSink
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), "http_502", times=1)
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    assert [r.account for r in fake.received] == [a1("alpha"), a1("alpha")]
    assert sink.reasons() == ["http_5xx", None]


async def test_mixed_failures_give_upstream_unavailable(fake: FakePugongying, build: Build) -> None:
    source = build("alpha", "beta", "gamma")
    fake.set_mode(a1("alpha"), "http_401")
    fake.set_mode(a1("beta"), "code_300013")
    fake.set_mode(a1("gamma"), "http_500")
    error = await expect(UpstreamUnavailable, source)
    assert "1 logged out" in error.message
    assert "1 cooling down" in error.message
    assert "1 failed (http_5xx)" in error.message


# -- other answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["data_null", "data_list", "data_without_note_number"])
async def test_a_success_without_usable_data_is_a_malformed_payload_at_once(
    fake: FakePugongying, build: Build, sink: RecordingSink, mode: str
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), mode)
    error = await expect(MalformedPayload, source)
    assert USER_ID in error.message
    assert len(fake.received) == 1  # neither retried nor passed to another account
    assert sink.reasons() == ["malformed"]
    assert states(source) == {"alpha": AccountState.ACTIVE, "beta": AccountState.ACTIVE}


@pytest.mark.parametrize(
    ("mode", "reason"), [("code_unknown", "upstream_code"), ("http_403", "http_4xx")]
)
async def test_an_unknown_refusal_moves_on_without_retry(
    fake: FakePugongying, build: Build, sink: RecordingSink, mode: str, reason: str
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), mode)
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    assert len(fake.received_by(a1("alpha"))) == 1
    assert sink.reasons() == [reason, None]
    assert states(source)["alpha"] is AccountState.ACTIVE

    fake.set_mode(a1("beta"), mode)
    error = await expect(UpstreamUnavailable, source)
    assert f"2 failed ({reason})" in error.message


@pytest.mark.parametrize(
    ("status", "content_type", "body", "kind", "reason"),
    [
        (502, "text/html", b"<html>502 Bad Gateway</html>", VerdictKind.TRANSIENT, "http_5xx"),
        (403, "text/html", b"<html>Forbidden</html>", VerdictKind.REJECTED, "http_4xx"),
        (
            200,
            "text/plain",
            b"<!DOCTYPE html><html></html>",
            VerdictKind.SESSION_LOST,
            "session_lost",
        ),
        (
            200,
            "application/json",
            b'{"code": "-100", "msg": "x"}',
            VerdictKind.SESSION_LOST,
            "session_lost",
        ),
        (
            200,
            "application/json",
            b'{"code": 0, "data": {"noteNumber": 0}}',
            VerdictKind.REJECTED,
            "upstream_code",
        ),
        (200, "application/json", b"[1, 2]", VerdictKind.TRANSIENT, "malformed"),
        (200, "application/json", b'{"success": true}', VerdictKind.TRANSIENT, "malformed"),
        (
            200,
            "application/json",
            b'{"code": 0, "success": true, "data": {"noteNumber": 0}}',
            VerdictKind.OK,
            None,
        ),
    ],
)
def test_classify_edge_cases(
    status: int, content_type: str, body: bytes, kind: VerdictKind, reason: str | None
) -> None:
    verdict = classify(status, content_type, body)
    assert (verdict.kind, verdict.reason) == (kind, reason)


# -- rotation and pacing ------------------------------------------------------------------------


async def test_rotation_is_round_robin_over_active_accounts(
    fake: FakePugongying, build: Build
) -> None:
    source = build("alpha", "beta", "gamma")
    for _ in range(6):
        await source.fetch(notes_query(USER_ID, Scope()))
    order = [r.account for r in fake.received]
    assert order == [a1(n) for n in ("alpha", "beta", "gamma")] * 2

    fake.set_mode(a1("beta"), "code_903")
    for _ in range(5):
        await source.fetch(notes_query(USER_ID, Scope()))
    used = [r.account for r in fake.received[6:]]
    # beta is lost on its turn, gamma answers that fetch, then beta is skipped for good.
    assert used == [a1(n) for n in ("alpha", "beta", "gamma", "alpha", "gamma", "alpha")]


async def test_pacing_prefers_an_account_with_room_and_otherwise_waits(
    fake: FakePugongying, build: Build
) -> None:
    source = build("alpha", "beta", requests_per_second=0.001)  # one per ~17 minutes
    await source.fetch(notes_query(USER_ID, Scope()))
    await source.fetch(notes_query(USER_ID, Scope()))
    assert [r.account for r in fake.received] == [a1("alpha"), a1("beta")]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(source.fetch(notes_query(USER_ID, Scope())), timeout=0.05)
    assert len(fake.received) == 2


async def test_pacing_per_account_override(fake: FakePugongying, build: Build) -> None:
    slow = account("alpha", requests_per_second=0.001)
    source = build(accounts=[slow], requests_per_second=1000.0)
    await source.fetch(notes_query(USER_ID, Scope()))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(source.fetch(notes_query(USER_ID, Scope())), timeout=0.05)
    assert len(fake.received) == 1


async def test_an_account_lost_while_a_fetch_waits_for_pacing_is_not_used(
    fake: FakePugongying, build: Build
) -> None:
    source = build("alpha", requests_per_second=10.0)  # the second fetch waits ~0.1 s
    fake.set_mode(a1("alpha"), "http_401")
    results = await asyncio.gather(
        source.fetch(notes_query(USER_ID, Scope())),
        source.fetch(notes_query(USER_ID, Scope())),
        return_exceptions=True,
    )
    assert [type(result) for result in results] == [SessionLost, SessionLost]
    assert len(fake.received) == 1


# -- the signer hook ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sign_request", "sign_request_async"])
async def test_a_signer_loaded_from_an_import_path_adds_its_headers(
    fake: FakePugongying, build: Build, name: str
) -> None:
    fake.require_signature = True
    source = build("alpha", signer=f"tests.upstreams.fake_pugongying:{name}")
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    (request,) = fake.received
    assert request.mode == "ok"
    assert request.headers["x-s"].startswith("XYW_")
    assert request.headers["x-t"].isdigit()


async def test_without_the_signer_a_signing_upstream_refuses(
    fake: FakePugongying, build: Build
) -> None:
    fake.require_signature = True
    source = build("alpha")
    await expect(RiskControlled, source)
    assert fake.received[0].mode == "http_406"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("tests.upstreams.no_such_module:sign", "cannot be imported"),
        ("tests.upstreams.fake_pugongying:no_such_signer", "has no attribute"),
        ("tests.upstreams.fake_pugongying:NOT_A_SIGNER", "not a callable"),
    ],
)
def test_a_bad_signer_path_is_a_clear_error_naming_it(path: str, says: str) -> None:
    config = PugongyingConfig(accounts=[account("alpha")], signer=path)
    with pytest.raises(SignerError) as caught:
        PugongyingSource(config)
    assert path in str(caught.value)
    assert says in str(caught.value)


def test_a_malformed_signer_path_is_a_config_problem() -> None:
    with pytest.raises(PugongyingConfigError) as caught:
        PugongyingConfig(accounts=[account("alpha")], signer="tests.upstreams.fake_pugongying")
    assert "package.module:callable" in str(caught.value)


async def test_a_failing_signer_fails_the_attempt_without_leaking_cookies(
    fake: FakePugongying, build: Build, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    source = build("alpha", signer="tests.upstreams.fake_pugongying:broken_signer")
    error = await expect(UpstreamUnavailable, source)
    assert "signer_error" in error.message
    assert fake.received == []
    assert sink.reasons() == ["signer_error"]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "RuntimeError: cannot sign with" in warning.getMessage()
    assert "***" in warning.getMessage()


# -- proxies ------------------------------------------------------------------------------------


async def test_a_proxy_carries_the_account_requests(
    fake: FakePugongying, build: Build, sink: RecordingSink, base_url: str
) -> None:
    """The fake stands in as an HTTP proxy: the base URL's host does not even resolve, so only a
    request sent through the proxy can succeed; an account whose proxy is down fails over."""
    proxied = account("alpha", proxy=base_url)
    dead = account("beta", proxy=f"http://user:{MARK}@127.0.0.1:9")
    source = build(accounts=[dead, proxied], base_url="http://pgy.invalid")
    assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    (request,) = fake.received
    assert request.host == "pgy.invalid"
    assert request.account == a1("alpha")
    assert sink.reasons() == ["network", "network", None]
    assert_no_secret(repr(source.config))


def test_proxies_are_accepted_and_shown_without_credentials() -> None:
    config = PugongyingConfig(
        accounts=[
            account("alpha", proxy=f"http://proxyuser:{MARK}@10.0.0.5:3128"),
            account("beta", proxy="https://10.0.0.6:8443"),
            account("gamma"),
            account("delta", proxy=f"http://proxyuser:{MARK}@10.0.0.5:3128"),
        ]
    )
    source = PugongyingSource(config)
    assert len(source._clients) == 3  # one client per distinct proxy, direct included
    text = repr(config.accounts[0])
    assert "http://10.0.0.5:3128" in text
    assert_no_secret(text)
    asyncio.run(source.aclose())
    assert all(client.is_closed for client in source._clients.values())


def test_a_bad_proxy_is_a_config_problem() -> None:
    with pytest.raises(PugongyingConfigError) as caught:
        PugongyingConfig(
            accounts=[
                account("alpha", proxy=f"ftp://u:{MARK}@10.0.0.5:21"),
                account("beta", proxy="socks5://10.0.0.5:1080"),
            ]
        )
    problems = caught.value.problems
    assert any("account 'alpha': proxy must be a URL" in p for p in problems)
    assert any("account 'beta'" in p and "socksio" in p for p in problems)
    assert_no_secret(str(caught.value))


# -- configuration and secrets ------------------------------------------------------------------


def test_defaults_are_conservative() -> None:
    config = PugongyingConfig(accounts=[account("alpha")])
    assert config.base_url == DEFAULT_BASE_URL == "https://pgy.xiaohongshu.com"
    assert config.requests_per_second == 0.5
    assert config.retry_attempts == 2
    assert config.signer is None


def test_every_config_problem_is_named_without_secrets() -> None:
    bad_cookie = PugongyingAccount(
        name="beta", cookies={"a1": f"x{MARK}; path=/", "customer-sso-sid": f"y{MARK}"}
    )
    no_login = PugongyingAccount(name="gamma", cookies={"a1": f"z{MARK}"})
    with pytest.raises(PugongyingConfigError) as caught:
        PugongyingConfig(
            accounts=[account("alpha"), account("alpha"), bad_cookie, no_login],
            base_url="ftp://example.com",
            requests_per_second=0,
            retry_attempts=0,
            cooldown_base_seconds=100,
            cooldown_max_seconds=10,
        )
    text = str(caught.value)
    for expected in (
        "names must be unique; repeated: alpha",
        "account 'beta': cookie 'a1' has a value with ';'",
        "account 'gamma' has none of the login cookies",
        "base_url must be an http(s) URL",
        "requests_per_second must be > 0",
        "retry_attempts must be >= 1",
        "cooldown_max_seconds must be >= cooldown_base_seconds",
    ):
        assert expected in text
    assert_no_secret(text)

    with pytest.raises(PugongyingConfigError, match="at least one logged-in account"):
        PugongyingConfig(accounts=[])


async def test_no_secret_in_reprs_statuses_or_outcomes(
    fake: FakePugongying, build: Build, sink: RecordingSink
) -> None:
    source = build("alpha", "beta")
    fake.set_mode(a1("alpha"), "http_401")
    fake.set_mode(a1("beta"), "code_300013")
    await expect(RiskControlled, source)
    for text in (
        repr(source),
        repr(source.config),
        repr(source.config.accounts[0]),
        str(source.config.accounts[0].cookies),
        repr(source.accounts()),
        repr(sink.outcomes),
    ):
        assert_no_secret(text)
    # The values are all still there for the request itself.
    assert source.config.accounts[0].cookie_values() == cookies_of("alpha")


async def test_the_async_loopback_helper_serves_too(build: Build) -> None:
    other = FakePugongying()
    async with aserve_on_loopback(other.app) as url:
        source = build("alpha", base_url=url)
        assert await source.fetch(notes_query(USER_ID, Scope())) == fixture_data()
    assert len(other.received) == 1


async def test_the_fake_is_controllable_over_http(fake: FakePugongying, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        answer = await client.post("/__fake__/mode", json={"account": "x", "mode": "http_500"})
        assert answer.json() == {"ok": True}
        answer = await client.post("/__fake__/mode", json={"account": "x", "mode": "nope"})
        assert answer.status_code == 400
        assert (await client.get("/__fake__/requests")).json() == []
