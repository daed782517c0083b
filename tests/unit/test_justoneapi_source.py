"""The ``justoneapi`` relay source against a real local HTTP fake of the hosted API.

Every answer of the hosted API is produced by ``tests.upstreams.fake_hosted_api`` over real HTTP on
a loopback port; stamina's testing mode removes the waits between retries (never the retries).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stamina
from pydantic import SecretStr

from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.sources.base import (
    CollectionError,
    MalformedPayload,
    Outcome,
    Source,
    SourceUnavailable,
    UpstreamUnavailable,
)
from pgy_metrics.sources.justoneapi import (
    DEFAULT_BASE_URL,
    JustOneApiConfig,
    JustOneApiSource,
    RelayRateLimited,
    _Failure,
    _RetryableAttempt,
)
from tests.upstreams.fake_hosted_api import FakeHostedApi
from tests.upstreams.loopback import serve_on_loopback

TOKEN = "jo-RELAY-TOKEN-must-never-leak-7f3a9c0e51"
USER = "5d21ab6b000000001201567d"
ATTEMPTS = 3


class RecordingSink:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def reasons(self) -> list[str | None]:
        return [outcome.reason for outcome in self.outcomes]


@pytest.fixture(autouse=True)
def no_backoff_waits() -> Iterator[None]:
    """No test sleeps: stamina keeps the configured attempts (cap) but waits 0 s between them."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(scope="module")
def hosted() -> Iterator[tuple[FakeHostedApi, str]]:
    fake = FakeHostedApi(token=TOKEN)
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def fake(hosted: tuple[FakeHostedApi, str]) -> FakeHostedApi:
    hosted[0].reset()
    return hosted[0]


@pytest.fixture
def base_url(hosted: tuple[FakeHostedApi, str]) -> str:
    return hosted[1]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def make_config(base_url: str, **overrides: Any) -> JustOneApiConfig:
    options: dict[str, Any] = {
        "token": SecretStr(TOKEN),
        "base_url": base_url,
        "timeout_seconds": 5.0,
        "attempts": ATTEMPTS,
        "wait_initial_seconds": 0.1,
        "wait_max_seconds": 2.0,
    }
    options.update(overrides)
    return JustOneApiConfig(**options)


@pytest.fixture
async def source(base_url: str, sink: RecordingSink) -> AsyncIterator[JustOneApiSource]:
    relay = JustOneApiSource(make_config(base_url), outcomes=sink)
    yield relay
    await relay.aclose()


@pytest.fixture
def fixture_data(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


def assert_token_free(error: BaseException) -> None:
    """Neither the error, its chain, its traceback text nor its repr holds the token."""
    text = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    assert TOKEN not in text
    assert "token=" not in text
    assert error.__cause__ is None
    assert error.__context__ is None


# --- success ----------------------------------------------------------------------------------


async def test_success_returns_the_hosted_data_exactly(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink, fixture_data: dict[str, Any]
) -> None:
    data = await source.fetch(notes_query(USER, Scope()))
    assert data == fixture_data
    assert list(data) == list(fixture_data)  # key order kept
    assert json.dumps(data, ensure_ascii=False) == json.dumps(fixture_data, ensure_ascii=False)
    assert isinstance(data["impMedianBeyondRate"], str)
    assert isinstance(data["pagePercentVo"]["impHomefeedPercent"], float)
    assert fake.calls == 1
    assert sink.outcomes[0].ok and sink.outcomes[0].reason is None
    assert sink.outcomes[0].source == "justoneapi" and sink.outcomes[0].account is None
    assert sink.outcomes[0].latency_seconds >= 0
    assert source.unavailable_reason() is None
    assert isinstance(source, Source)


async def test_every_request_sends_the_token_user_and_all_four_filters(
    source: JustOneApiSource, fake: FakeHostedApi
) -> None:
    scopes = list(Scope.all())
    for scope in scopes:
        await source.fetch(notes_query(USER, scope))
    received = fake.requests
    assert len(received) == 24
    for scope, request in zip(scopes, received, strict=True):
        assert request.path == NOTES_RATE_PATH
        assert request.token_ok and request.count("token") == 1
        assert request.get("userId") == USER
        for name, value in scope.api_params().items():
            assert request.count(name) == 1, name
            assert request.get(name) == value
        assert {key for key, _ in request.params} == {"token", "userId", *Scope.PARAMS}


async def test_the_default_scope_is_sent_explicitly(
    source: JustOneApiSource, fake: FakeHostedApi
) -> None:
    await source.fetch(notes_query(USER, Scope()))
    request = fake.requests[0]
    assert request.get("business") == Business.DAILY_NOTE.value
    assert request.get("noteType") == NoteType.PHOTO_TEXT_AND_VIDEO.value
    assert request.get("dateType") == DateType.DAY_30.value
    assert request.get("advertiseSwitch") == AdvertiseSwitch.ALL.value


# --- retried failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reason", "words"),
    [
        ("code_301", "code_301", "code 301"),
        ("code_500", "code_500", "code 500"),
        ("http_502", "http_502", "HTTP 502"),
        ("http_503", "http_503", "HTTP 503"),
        ("http_504", "http_504", "HTTP 504"),
    ],
)
async def test_retryable_answers_are_retried_within_bounds_then_unavailable(
    source: JustOneApiSource,
    fake: FakeHostedApi,
    sink: RecordingSink,
    mode: str,
    reason: str,
    words: str,
) -> None:
    fake.always(mode)
    with pytest.raises(UpstreamUnavailable) as caught:
        await source.fetch(notes_query(USER, Scope()))
    error = caught.value
    assert not isinstance(error, SourceUnavailable | MalformedPayload)
    assert fake.calls == ATTEMPTS
    assert sink.reasons == [reason] * ATTEMPTS
    assert not any(outcome.ok for outcome in sink.outcomes)
    assert words in error.message and f"{ATTEMPTS} attempts" in error.message
    assert error.source == "justoneapi"
    assert source.unavailable_reason() is None
    assert_token_free(error)


async def test_code_302_is_retried_then_rate_limited(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.always("code_302")
    with pytest.raises(RelayRateLimited) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert isinstance(caught.value, UpstreamUnavailable)
    assert caught.value.retry_after is None
    assert fake.calls == ATTEMPTS
    assert sink.reasons == ["code_302"] * ATTEMPTS
    assert_token_free(caught.value)


async def test_retry_after_within_the_bounds_is_honoured_and_retried(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.always("code_302", retry_after="1")
    with pytest.raises(RelayRateLimited) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == ATTEMPTS
    assert caught.value.retry_after == 1.0
    assert "retry after 1 s" in caught.value.message


async def test_retry_after_beyond_the_bounds_stops_retrying_at_once(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.always("code_302", retry_after="120")  # wait_max_seconds is 2
    with pytest.raises(RelayRateLimited) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == 1
    assert sink.reasons == ["code_302"]
    assert caught.value.retry_after == 120.0


@pytest.mark.parametrize("header", ["-4", "nan", "inf"])
async def test_an_unusable_retry_after_falls_back_to_the_backoff(
    source: JustOneApiSource, fake: FakeHostedApi, header: str
) -> None:
    # contract.http.parse_retry_after, shared with the client, refuses it (unit-tested there)
    fake.always("code_302", retry_after=header)
    with pytest.raises(RelayRateLimited) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == ATTEMPTS
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("mode", "error_class"), [("http_429", RelayRateLimited), ("http_503", UpstreamUnavailable)]
)
async def test_retry_after_on_http_statuses_is_honoured_too(
    source: JustOneApiSource,
    fake: FakeHostedApi,
    sink: RecordingSink,
    mode: str,
    error_class: type[UpstreamUnavailable],
) -> None:
    fake.fail(mode, retry_after="1")
    await source.fetch(
        notes_query(USER, Scope())
    )  # one retry after the (test-mode) wait, then the data
    assert sink.reasons == [mode, None]
    fake.always(mode, retry_after="600")
    with pytest.raises(error_class) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert sink.reasons == [mode, None, mode]  # beyond wait_max_seconds: no second attempt
    assert "retry after 600 s" in caught.value.message


async def test_the_backoff_hook_uses_retry_after_within_the_bounds(
    source: JustOneApiSource,
) -> None:
    def retryable(retry_after: float | None) -> _RetryableAttempt:
        failure = _Failure(
            UpstreamUnavailable, "code_302", "rate limited", retryable=True, retry_after=retry_after
        )
        return _RetryableAttempt(failure)

    assert source._backoff(retryable(None)) is True  # exponential backoff
    assert source._backoff(retryable(1.5)) == 1.5
    assert source._backoff(retryable(0.0)) == 0.1  # never below wait_initial_seconds
    assert source._backoff(retryable(2.0)) == 2.0
    assert source._backoff(retryable(2.5)) is False  # beyond wait_max_seconds: give up
    assert source._backoff(ValueError("not ours")) is False


async def test_timeouts_are_retried_then_unavailable(
    base_url: str, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    relay = JustOneApiSource(make_config(base_url, timeout_seconds=0.2, attempts=2), outcomes=sink)
    fake.always("timeout")
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await relay.fetch(notes_query(USER, Scope()))
    finally:
        await relay.aclose()
    assert not isinstance(caught.value, SourceUnavailable)
    assert fake.calls == 2
    assert sink.reasons == ["timeout", "timeout"]
    assert "did not answer within 0.2 s" in caught.value.message
    assert_token_free(caught.value)


async def test_a_refused_connection_is_retried_then_unavailable(sink: RecordingSink) -> None:
    with serve_on_loopback(FakeHostedApi(token=TOKEN).app) as gone:
        pass  # the port is free again: nothing listens there now
    relay = JustOneApiSource(make_config(gone), outcomes=sink)
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await relay.fetch(notes_query(USER, Scope()))
    finally:
        await relay.aclose()
    assert sink.reasons == ["connection_error"] * ATTEMPTS
    assert "ConnectError" in caught.value.message
    assert_token_free(caught.value)


@pytest.mark.parametrize("mode", ["code_301", "code_302", "code_500", "http_502", "timeout"])
async def test_failing_fewer_times_than_the_attempts_recovers(
    base_url: str, fake: FakeHostedApi, sink: RecordingSink, fixture_data: dict[str, Any], mode: str
) -> None:
    timeout = 0.25 if mode == "timeout" else 5.0  # the fake hangs until the client gives up
    relay = JustOneApiSource(make_config(base_url, timeout_seconds=timeout), outcomes=sink)
    fake.fail(mode, times=ATTEMPTS - 1)
    try:
        assert await relay.fetch(notes_query(USER, Scope())) == fixture_data
    finally:
        await relay.aclose()
    assert fake.calls == ATTEMPTS
    assert [o.ok for o in sink.outcomes] == [False] * (ATTEMPTS - 1) + [True]
    assert sink.reasons[-1] is None


async def test_mixed_transient_failures_then_success(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.fail("http_502")
    fake.fail("code_301")
    await source.fetch(notes_query(USER, Scope()))
    assert sink.reasons == ["http_502", "code_301", None]


async def test_retries_are_bounded_per_fetch_and_the_next_fetch_starts_afresh(
    source: JustOneApiSource, fake: FakeHostedApi, fixture_data: dict[str, Any]
) -> None:
    fake.fail("code_500", times=ATTEMPTS)
    with pytest.raises(UpstreamUnavailable):
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == ATTEMPTS
    assert await source.fetch(notes_query(USER, Scope())) == fixture_data
    assert fake.calls == ATTEMPTS + 1


# --- the source is unavailable until an operator acts -----------------------------------------


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("code_100", "relay token rejected (code 100)"),
        ("code_303", "relay daily quota exhausted (303)"),
        ("code_600", "relay permission denied (600)"),
        ("code_601", "relay balance exhausted (601)"),
    ],
)
async def test_operator_codes_make_the_source_unavailable_until_a_success(
    source: JustOneApiSource,
    fake: FakeHostedApi,
    sink: RecordingSink,
    fixture_data: dict[str, Any],
    mode: str,
    reason: str,
) -> None:
    fake.fail(mode)
    with pytest.raises(SourceUnavailable) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == 1  # never retried: it will not fix itself in a second
    assert sink.reasons == [mode]
    assert source.unavailable_reason() == reason
    assert reason in caught.value.message
    assert_token_free(caught.value)

    assert await source.fetch(notes_query(USER, Scope())) == fixture_data
    assert source.unavailable_reason() is None


async def test_code_602_quotes_the_relay_message_scrubbed_of_the_token(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.fail("code_602", message=f"account of token {TOKEN} is frozen,\n contact support")
    with pytest.raises(SourceUnavailable) as caught:
        await source.fetch(notes_query(USER, Scope()))
    reason = source.unavailable_reason()
    assert reason is not None
    assert reason.startswith("relay refused the token's account (602)")
    assert "account of token *** is frozen, contact support" in reason
    assert TOKEN not in reason
    assert "frozen" not in caught.value.message  # the relay's text stays out of our callers' view
    assert sink.reasons == ["code_602"]
    assert fake.calls == 1
    assert_token_free(caught.value)


async def test_a_wrong_token_is_code_100_and_the_fake_saw_it_as_invalid(
    base_url: str, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    config = make_config(base_url, token=SecretStr("not-the-relay-token"))
    relay = JustOneApiSource(config, outcomes=sink)
    try:
        with pytest.raises(SourceUnavailable):
            await relay.fetch(notes_query(USER, Scope()))
    finally:
        await relay.aclose()
    assert relay.unavailable_reason() == "relay token rejected (code 100)"
    assert [r.answered for r in fake.requests] == ["bad_token"]
    assert fake.requests[0].get("token") == "<invalid>"


async def test_an_unknown_code_is_unavailable_naming_the_code(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.always("code_777")
    with pytest.raises(UpstreamUnavailable) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert not isinstance(caught.value, SourceUnavailable | MalformedPayload)
    assert "777" in caught.value.message
    assert fake.calls == 1
    assert sink.reasons == ["code_777"]
    assert source.unavailable_reason() is None
    assert_token_free(caught.value)


async def test_a_relay_code_400_is_not_retried(
    source: JustOneApiSource, fake: FakeHostedApi, sink: RecordingSink
) -> None:
    fake.always("code_400")
    with pytest.raises(UpstreamUnavailable):
        await source.fetch(notes_query(USER, Scope()))
    assert fake.calls == 1
    assert sink.reasons == ["code_400"]


# --- malformed answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reason", "words"),
    [
        ("spring_400", "http_400", "HTTP 400 (Bad Request) instead of an envelope"),
        ("http_404", "http_404", "HTTP 404 instead of an envelope"),
        ("html", "malformed", "an HTML page"),
        ("empty", "malformed", "an empty body"),
        ("invalid_json", "malformed", "not JSON"),
        ("non_dict_data", "malformed", "without a data object (data is list)"),
    ],
)
async def test_malformed_answers(
    source: JustOneApiSource,
    fake: FakeHostedApi,
    sink: RecordingSink,
    mode: str,
    reason: str,
    words: str,
) -> None:
    fake.always(mode)
    with pytest.raises(MalformedPayload) as caught:
        await source.fetch(notes_query(USER, Scope()))
    assert words in caught.value.message
    assert fake.calls == 1
    assert sink.reasons == [reason]
    assert source.unavailable_reason() is None
    assert_token_free(caught.value)


async def test_the_mock_transport_sees_the_token_only_on_the_wire(sink: RecordingSink) -> None:
    """The token is added below the client: what httpx logs and keeps has no token."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"code": 0, "message": None, "data": {"noteNumber": 0}})

    relay = JustOneApiSource(
        make_config("https://relay.example.test/prefix/"),
        outcomes=sink,
        transport=httpx.MockTransport(handler),
    )
    try:
        assert await relay.fetch(notes_query(USER, Scope())) == {"noteNumber": 0}
    finally:
        await relay.aclose()
    (url,) = seen
    assert url.path == "/prefix" + NOTES_RATE_PATH
    assert url.params.get_list("token") == [TOKEN]
    assert url.params["userId"] == USER


# --- outcomes, lifecycle, the HTTP control API ------------------------------------------------


async def test_a_failing_outcome_sink_never_fails_a_fetch(
    base_url: str, fake: FakeHostedApi, fixture_data: dict[str, Any]
) -> None:
    class BrokenSink:
        def record(self, outcome: Outcome) -> None:
            raise RuntimeError("health store down")

    relay = JustOneApiSource(make_config(base_url), outcomes=BrokenSink())
    try:
        assert await relay.fetch(notes_query(USER, Scope())) == fixture_data
    finally:
        await relay.aclose()


async def test_without_a_sink_nothing_is_recorded_and_fetch_works(
    base_url: str, fake: FakeHostedApi, fixture_data: dict[str, Any]
) -> None:
    relay = JustOneApiSource(make_config(base_url))
    fake.fail("code_301")
    try:
        assert await relay.fetch(notes_query(USER, Scope())) == fixture_data
    finally:
        await relay.aclose()


async def test_aclose_closes_the_client_and_its_transport() -> None:
    closed: list[bool] = []

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise AssertionError("not called")

        async def aclose(self) -> None:
            closed.append(True)

    relay = JustOneApiSource(make_config(DEFAULT_BASE_URL), transport=Transport())
    await relay.aclose()
    assert closed == [True]


async def test_the_fake_can_be_driven_over_http(
    source: JustOneApiSource, fake: FakeHostedApi, base_url: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as control:
        answer = await control.post("/_fake/fail", json={"mode": "code_601", "times": 1})
        assert answer.status_code == 200
        bad = await control.post("/_fake/fail", json={"mode": "teapot"})
        assert bad.status_code == 400
        with pytest.raises(SourceUnavailable):
            await source.fetch(notes_query(USER, Scope()))
        received = (await control.get("/_fake/requests")).json()
        assert [r["answered"] for r in received] == ["code_601"]
        assert TOKEN not in json.dumps(received)
        await control.post("/_fake/reset")
    assert fake.calls == 0


# --- configuration ----------------------------------------------------------------------------


def test_config_defaults_and_secret_wrapping() -> None:
    config = JustOneApiConfig(token=TOKEN)  # type: ignore[arg-type]  # a plain str is wrapped
    assert isinstance(config.token, SecretStr)
    assert config.base_url == DEFAULT_BASE_URL == "https://api.justoneapi.com"
    assert config.endpoint_url == DEFAULT_BASE_URL + NOTES_RATE_PATH
    assert config.token.get_secret_value() == TOKEN
    for text in (repr(config), str(config), repr(JustOneApiSource(config))):
        assert TOKEN not in text
    assert JustOneApiConfig(SecretStr(TOKEN), base_url="http://127.0.0.1:9/").base_url == (
        "http://127.0.0.1:9"
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"token": ""}, "token is empty"),
        ({"token": TOKEN + "\n"}, "whitespace"),
        ({"base_url": "ftp://relay.example"}, "http:// or https://"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": f"https://relay.example/?token={TOKEN}"}, "no query"),
        ({"base_url": f"https://user:{TOKEN}@relay.example"}, "user:password"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"attempts": 0}, "attempts"),
        ({"wait_initial_seconds": 3.0, "wait_max_seconds": 1.0}, "wait_initial_seconds"),
        ({"wait_jitter_seconds": -1}, "wait_jitter_seconds"),
    ],
)
def test_config_refuses_bad_values_without_echoing_the_token(
    options: dict[str, Any], words: str
) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        JustOneApiConfig(**{"token": TOKEN, **options})
    assert TOKEN not in str(caught.value)


# --- no secret anywhere -----------------------------------------------------------------------


async def test_the_token_never_reaches_a_log_record_an_error_or_a_repr(
    base_url: str, fake: FakeHostedApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "stamina", "pgy_metrics", "uvicorn", "starlette"):
        caplog.set_level(logging.DEBUG, logger=name)
    sink = RecordingSink()
    relay = JustOneApiSource(make_config(base_url, timeout_seconds=0.25), outcomes=sink)
    modes = [
        "success",
        "code_100",
        "code_301",
        "code_302",
        "code_303",
        "code_500",
        "code_600",
        "code_601",
        "code_602",
        "code_777",
        "spring_400",
        "http_502",
        "html",
        "empty",
        "invalid_json",
        "non_dict_data",
        "timeout",
    ]
    errors: list[CollectionError] = []
    try:
        for mode in modes:
            fake.reset()
            fake.always(mode, retry_after="1" if mode == "code_302" else None, message=TOKEN)
            try:
                await relay.fetch(notes_query(USER, Scope()))
            except CollectionError as error:
                errors.append(error)
            reason = relay.unavailable_reason()
            assert reason is None or TOKEN not in reason
    finally:
        await relay.aclose()

    assert len(errors) == len(modes) - 1
    for collected in errors:
        assert_token_free(collected)
    for outcome in sink.outcomes:
        assert TOKEN not in repr(outcome)
    assert repr(relay).count(TOKEN) == 0

    assert any(r.name == "httpx" and "HTTP Request" in r.getMessage() for r in caplog.records), (
        "httpx's request log must be captured for this test to mean anything"
    )
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert any(r.name == "stamina" for r in caplog.records)
    for record in caplog.records:
        if record.name == "uvicorn.access":
            # The fake relay's own access log: the far end receives the token by design. (pytest
            # attaches its capture handler to non-propagating loggers, which turns uvicorn's
            # access log back on even with access_log=False.)
            continue
        rendered = record.getMessage() + repr(record.__dict__)
        if record.exc_info:
            rendered += "".join(traceback.format_exception(*record.exc_info))
        assert TOKEN not in rendered, f"token leaked in a {record.name} log record"
