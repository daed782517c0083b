"""The client without a network: httpx.MockTransport answers, stamina's testing mode removes the
waits (never the retries). Every case runs against ``Client`` and ``AsyncClient`` alike."""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina

import pgy_metrics
from pgy_metrics.client import (
    CODE_TO_ERROR,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    Client,
    CollectionFailed,
    ConfigurationError,
    DailyQuotaExceeded,
    InsufficientBalance,
    InvalidParams,
    InvalidToken,
    NotesRateResult,
    PermissionDenied,
    PgyError,
    PlainHTTPWarning,
    ProtocolError,
    RateLimited,
    ServerError,
    UnknownCodeError,
)
from pgy_metrics.client import _constants as C
from pgy_metrics.client._base import BaseClient
from pgy_metrics.contract import NOTES_RATE_PATH, Business, DateType, NoteType, Scope
from tests.conftest import FIXTURE_3_NOTES

TOKEN = "pgy_" + "S3cr3tT0k3n-" * 3 + "abcdefg"  # a real token's shape: the log scan knows it
assert len(TOKEN) == 47
USER = "5d21ab6b000000001201567d"
BASE = "https://api.example.test"
OUR_REQUEST_ID = "0123456789abcdef0123456789abcdef"

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(code: int, message: str | None = None, *, request_id: str = OUR_REQUEST_ID) -> bytes:
    data = json.loads(FIXTURE_3_NOTES.read_bytes())["data"] if code == 0 else None
    body = {"code": code, "message": message, "data": data, "recordTime": None}
    body["requestId"] = request_id
    if code == 0:
        body["recordTime"] = "2026-01-02T03:04:05.000006"
    return json.dumps(body, ensure_ascii=False).encode()


def ours(code: int = 0, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    """An answer as our server gives it: X-Request-Id equal to the body's requestId."""
    extra = {"X-Request-Id": OUR_REQUEST_ID, **(headers or {})}
    if code == 0:
        extra.setdefault("X-Pgy-Source", "sandbox")
    return httpx.Response(200, content=envelope(code, **kw), headers=extra)


def hosted(code: int = 0, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    """An answer as the hosted API gives it: no header of ours."""
    return httpx.Response(200, content=envelope(code, **kw), headers=headers)


class Script:
    """A handler answering from a list (the last answer repeats), recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


class Twin:
    """One of the two clients behind one blocking surface, so every test runs on both."""

    def __init__(self, kind: str, handler: Handler | None, **options: Any) -> None:
        """``handler`` None: the real network (``transport=`` may still wrap it)."""
        self.kind = kind
        options.setdefault("token", TOKEN)
        if "env" not in options:
            options.setdefault("base_url", BASE)
        if handler is not None:
            options["transport"] = httpx.MockTransport(handler)
        self.runner = asyncio.Runner() if kind == "async" else None
        if kind == "sync":
            self.client: Client | AsyncClient = Client(**options)
        else:
            self.client = AsyncClient(**options)

    def notes_rate(self, *args: Any, **kwargs: Any) -> NotesRateResult:
        if isinstance(self.client, Client):
            return self.client.notes_rate(*args, **kwargs)
        assert self.runner is not None
        return self.runner.run(self.client.notes_rate(*args, **kwargs))

    def close(self) -> None:
        if isinstance(self.client, Client):
            self.client.close()
        else:
            assert self.runner is not None
            self.runner.run(self.client.aclose())
            self.runner.close()


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PGY_TOKEN", raising=False)
    monkeypatch.delenv("PGY_BASE_URL", raising=False)
    BaseClient.forget_auto_choices()
    yield
    BaseClient.forget_auto_choices()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def twin(kind: str) -> Iterator[Callable[..., Twin]]:
    made: list[Twin] = []

    def make(handler: Handler, **options: Any) -> Twin:
        made.append(Twin(kind, handler, **options))
        return made[-1]

    yield make
    for one in made:
        one.close()


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error), *(str(a) for a in error.args)):
        assert TOKEN not in text
        assert not re.search(r"token=(?!\*\*\*)", text)


# --- success ----------------------------------------------------------------------------------


def test_success_gives_a_typed_result_with_raw_json(twin: Callable[..., Twin]) -> None:
    script = Script(ours(0))
    result = twin(script).notes_rate(USER)
    assert result.data.note_number == 3
    assert result.data.raw == json.loads(FIXTURE_3_NOTES.read_bytes())["data"]
    assert result.record_time == "2026-01-02T03:04:05.000006"
    assert result.request_id == OUR_REQUEST_ID
    assert result.source == "sandbox"
    assert result.scope == Scope()
    assert result.retries_taken == 0
    assert result.replayed is False
    assert result.envelope["code"] == 0


def test_every_request_sends_token_user_and_all_four_filters(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(0))
    twin(script).notes_rate(
        USER, business="COOPERATE_NOTE", note_type=NoteType.VIDEO, date_type="DAY_90"
    )
    (request,) = script.requests
    assert request.url.path == NOTES_RATE_PATH
    assert dict(request.url.params) == {
        "token": TOKEN,
        "userId": USER,
        "business": "COOPERATE_NOTE",
        "noteType": "VIDEO",
        "dateType": "DAY_90",
        "advertiseSwitch": "ALL",
    }
    assert request.headers["Idempotency-Key"]


def test_scope_may_be_passed_whole(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(0))
    scope = Scope(business=Business.COOPERATE_NOTE, date_type=DateType.DAY_90)
    result = twin(script).notes_rate(USER, scope=scope)
    assert result.scope == scope
    assert script.requests[0].url.params["business"] == "COOPERATE_NOTE"


def test_replayed_answer_is_flagged(twin: Callable[..., Twin]) -> None:
    result = twin(Script(ours(0, headers={"Idempotent-Replayed": "true"}))).notes_rate(USER)
    assert result.replayed is True


@pytest.mark.parametrize(
    ("header", "charged"),
    [("3", 3), ("0", 0), (" 12 ", 12), (None, None), ("-1", None), ("1.5", None), ("", None)],
)
def test_charged_is_what_the_server_says_and_none_when_it_does_not(
    twin: Callable[..., Twin], header: str | None, charged: int | None
) -> None:
    headers = {} if header is None else {C.CHARGED_HEADER: header}
    assert twin(Script(ours(0, headers=headers))).notes_rate(USER).charged == charged


# --- validation before any request ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "param", "names"),
    [
        (("not-an-id",), {}, "user_id", ["24 lowercase hex"]),
        (("5D21AB6B000000001201567D",), {}, "user_id", ["24 lowercase hex"]),
        (("",), {}, "user_id", ["required"]),
        ((12345,), {}, "user_id", ["24 lowercase hex"]),
        ((USER,), {"business": "DAILY"}, "business", ["DAILY_NOTE", "COOPERATE_NOTE"]),
        ((USER,), {"note_type": 3}, "note_type", ["PHOTO_TEXT_AND_VIDEO", "PHOTO_TEXT", "VIDEO"]),
        ((USER,), {"date_type": "DAY_7"}, "date_type", ["DAY_30", "DAY_90"]),
        ((USER,), {"advertise_switch": "NONE"}, "advertise_switch", ["ALL", "ORGANIC_ONLY"]),
        ((USER,), {"scope": Scope(), "business": "DAILY_NOTE"}, "scope", ["either"]),
        ((USER,), {"idempotency_key": ""}, "idempotency_key", ["1 to 200"]),
    ],
)
def test_bad_parameters_raise_before_anything_is_sent(
    twin: Callable[..., Twin],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    param: str,
    names: list[str],
) -> None:
    script = Script(hosted(0))
    with pytest.raises(InvalidParams) as caught:
        twin(script).notes_rate(*args, **kwargs)
    assert script.requests == []
    assert caught.value.param == param
    assert isinstance(caught.value, ValueError)
    for name in names:
        assert name in str(caught.value)


def test_enum_members_and_their_names_are_both_accepted(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(0))
    client = twin(script)
    client.notes_rate(USER, business=Business.COOPERATE_NOTE, advertise_switch="ORGANIC_ONLY")
    assert script.requests[0].url.params["advertiseSwitch"] == "ORGANIC_ONLY"


# --- codes -> exceptions ----------------------------------------------------------------------

EXPECTED = {
    100: InvalidToken,
    301: CollectionFailed,
    302: RateLimited,
    303: DailyQuotaExceeded,
    400: InvalidParams,
    500: ServerError,
    600: PermissionDenied,
    601: InsufficientBalance,
}


def test_the_code_table_is_complete() -> None:
    assert CODE_TO_ERROR == EXPECTED
    for code, cls in EXPECTED.items():
        assert issubclass(cls, APIError) and cls.code == code


@pytest.mark.parametrize("code", [*EXPECTED, 602, 777])
def test_every_code_raises_its_class_with_fields(twin: Callable[..., Twin], code: int) -> None:
    message = f"it says {code} (token={TOKEN})"
    client = twin(Script(hosted(code, message=message)), max_retries=0)
    with pytest.raises(APIError) as caught:
        client.notes_rate(USER)
    error = caught.value
    assert type(error) is EXPECTED.get(code, UnknownCodeError)
    assert isinstance(error, PgyError)
    assert error.code == code
    assert error.request_id == OUR_REQUEST_ID
    assert f"it says {code}" in error.message
    assert_no_secret(error)


SPRING_400 = json.dumps(
    {
        "timestamp": "2026-01-01T00:00:00.000+08:00",
        "status": 400,
        "error": "Bad Request",
        "path": NOTES_RATE_PATH,
    }
).encode()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "what"),
    [
        (400, SPRING_400, "application/json", "not an envelope"),
        (200, b"<html><body>login</body></html>", "text/html", "HTML"),
        (200, b"", "application/json", "empty"),
        (200, b'{"code": 0, "data": {"noteNumber": 3,', "application/json", "invalid JSON"),
        (200, b'{"code":0,"data":[{"noteNumber":3}]}', "application/json", "not an object"),
        (200, b'{"code":0,"data":{"noteNumber":3}}', "application/json", "does not match"),
        (200, b'{"code":"0","data":null}', "application/json", "non-integer"),
        (200, b"[1, 2]", "application/json", "not an envelope"),
    ],
)
def test_non_envelope_answers_raise_protocol_error(
    twin: Callable[..., Twin], status: int, body: bytes, content_type: str, what: str
) -> None:
    script = Script(httpx.Response(status, content=body, headers={"content-type": content_type}))
    with pytest.raises(ProtocolError) as caught:
        twin(script).notes_rate(USER)
    assert what in str(caught.value)
    assert caught.value.status_code == status
    assert len(script.requests) == 1  # never retried
    assert_no_secret(caught.value)


def test_a_body_echoing_the_token_is_scrubbed(twin: Callable[..., Twin]) -> None:
    page = f"<html>GET {NOTES_RATE_PATH}?token={TOKEN}&userId={USER}</html>".encode()
    with pytest.raises(ProtocolError) as caught:
        twin(Script(httpx.Response(200, content=page))).notes_rate(USER)
    assert_no_secret(caught.value)


# --- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 500])
def test_301_and_500_are_retried_with_one_key(twin: Callable[..., Twin], code: int) -> None:
    script = Script(hosted(code), hosted(code), hosted(0))
    result = twin(script).notes_rate(USER)
    assert result.retries_taken == 2
    assert len(script.requests) == 3
    assert len(set(script.keys)) == 1 and script.keys[0]


@pytest.mark.parametrize("code", [100, 303, 400, 600, 601, 602])
def test_final_codes_are_never_retried(twin: Callable[..., Twin], code: int) -> None:
    script = Script(hosted(code), hosted(0))
    with pytest.raises(APIError) as caught:
        twin(script).notes_rate(USER)
    assert len(script.requests) == 1
    assert caught.value.retries_taken == 0


def test_retries_stop_after_max_retries(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(301))
    with pytest.raises(CollectionFailed) as caught:
        twin(script, max_retries=2).notes_rate(USER)
    assert len(script.requests) == 3
    assert caught.value.retries_taken == 2


def test_302_is_retried_after_retry_after(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(302, headers={"Retry-After": "2"}), hosted(0))
    result = twin(script).notes_rate(USER)
    assert result.retries_taken == 1
    assert len(set(script.keys)) == 1


def test_302_retry_after_is_reported_and_bounded(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(302, headers={"Retry-After": "3600"}), hosted(0))
    with pytest.raises(RateLimited) as caught:
        twin(script).notes_rate(USER)
    assert caught.value.retry_after == 3600
    assert len(script.requests) == 1  # longer than MAX_RETRY_AFTER: raised, not slept on


def test_the_backoff_hook_waits_what_retry_after_says() -> None:
    client = Client(token=TOKEN, base_url=BASE)
    try:
        assert client.should_retry(RateLimited(retry_after=2.5)) == 2.5
        assert client.should_retry(RateLimited()) == C.DEFAULT_RETRY_AFTER
        assert client.should_retry(RateLimited(retry_after=C.MAX_RETRY_AFTER + 1)) is False
        assert client.should_retry(CollectionFailed()) is True
        assert client.should_retry(InvalidToken()) is False
        assert client.should_retry(ValueError()) is False
    finally:
        client.close()


@pytest.mark.parametrize("header", ["inf", "nan", "-5", "1e9"])
def test_an_unusable_retry_after_means_the_default_wait(
    twin: Callable[..., Twin], header: str
) -> None:
    # The client's own parser once took "inf" for a wait (and raised at once): it shares
    # contract.http.parse_retry_after with the relay source now (tests/unit/test_contract_http.py).
    script = Script(hosted(302, headers={"Retry-After": header}), hosted(0))
    result = twin(script).notes_rate(USER)
    assert result.retries_taken == 1


def test_timeout_is_not_retried_against_an_unknown_server(twin: Callable[..., Twin]) -> None:
    script = Script(httpx.ReadTimeout("timed out"), hosted(0))
    with pytest.raises(APITimeoutError) as caught:
        twin(script).notes_rate(USER)
    assert len(script.requests) == 1
    assert caught.value.request_sent is True
    assert caught.value.retries_taken == 0
    assert_no_secret(caught.value)


def test_timeout_is_retried_against_an_unknown_server_when_opted_in(
    twin: Callable[..., Twin],
) -> None:
    script = Script(httpx.ReadTimeout("timed out"), hosted(0))
    result = twin(script, retry_timeouts=True).notes_rate(USER)
    assert result.retries_taken == 1
    assert len(set(script.keys)) == 1


def test_timeout_is_retried_against_our_server_with_the_same_key(
    twin: Callable[..., Twin],
) -> None:
    script = Script(ours(0), httpx.ReadTimeout("timed out"), ours(0))
    client = twin(script)
    first = client.notes_rate(USER)
    assert first.retries_taken == 0
    assert client.client.honours_idempotency_keys
    second = client.notes_rate(USER)
    assert second.retries_taken == 1
    assert script.keys[1] == script.keys[2] != script.keys[0]


def test_an_error_answer_of_ours_also_shows_it_honours_keys(twin: Callable[..., Twin]) -> None:
    script = Script(ours(601), httpx.ReadTimeout("timed out"), ours(0))
    client = twin(script)
    with pytest.raises(InsufficientBalance):
        client.notes_rate(USER)
    assert client.notes_rate(USER).retries_taken == 1


def test_timeouts_never_retried_when_opted_out(twin: Callable[..., Twin]) -> None:
    script = Script(ours(0), httpx.ReadTimeout("timed out"), ours(0))
    client = twin(script, retry_timeouts=False)
    client.notes_rate(USER)
    with pytest.raises(APITimeoutError):
        client.notes_rate(USER)


def test_a_connection_never_made_is_always_retried(twin: Callable[..., Twin]) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), hosted(0))
    assert twin(script).notes_rate(USER).retries_taken == 2


def test_a_broken_connection_is_a_connection_error(twin: Callable[..., Twin]) -> None:
    script = Script(httpx.RemoteProtocolError("peer closed"), hosted(0))
    with pytest.raises(APIConnectionError) as caught:
        twin(script).notes_rate(USER)
    assert not isinstance(caught.value, APITimeoutError)
    assert len(script.requests) == 1


def test_gateway_pages_follow_the_timeout_rule(twin: Callable[..., Twin]) -> None:
    gateway = httpx.Response(
        502, content=b"<html>502</html>", headers={"content-type": "text/html"}
    )
    with pytest.raises(ProtocolError) as caught:
        twin(Script(gateway, hosted(0))).notes_rate(USER)
    assert caught.value.status_code == 502
    assert twin(Script(gateway, hosted(0)), retry_timeouts=True).notes_rate(USER).retries_taken == 1


def test_each_call_has_its_own_key_and_a_given_key_is_used(twin: Callable[..., Twin]) -> None:
    script = Script(hosted(0))
    client = twin(script)
    client.notes_rate(USER)
    client.notes_rate(USER)
    client.notes_rate(USER, idempotency_key="batch-42")
    assert len(set(script.keys)) == 3
    assert script.keys[2] == "batch-42"


# --- settings ---------------------------------------------------------------------------------


def test_token_comes_from_the_environment(
    twin: Callable[..., Twin], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGY_TOKEN", TOKEN)
    script = Script(hosted(0))
    twin(script, token=None).notes_rate(USER)
    assert script.requests[0].url.params["token"] == TOKEN


def test_no_token_is_a_clear_error(kind: str) -> None:
    with pytest.raises(ConfigurationError, match="PGY_TOKEN"):
        Twin(kind, Script(hosted(0)), token=None)


@pytest.mark.parametrize(
    "base_url", ["ftp://x.test", "https://x.test/?token=abc", "https://u:p@x.test", "nothing"]
)
def test_bad_base_urls_are_refused_without_echoing_secrets(kind: str, base_url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Twin(kind, Script(hosted(0)), base_url=base_url)
    assert "abc" not in str(caught.value) and "u:p" not in str(caught.value)


def test_client_repr_holds_no_token(twin: Callable[..., Twin]) -> None:
    client = twin(Script(hosted(0)))
    assert TOKEN not in repr(client.client)
    assert TOKEN not in repr(client.client._http._transport)


# --- environments -----------------------------------------------------------------------------


def test_env_picks_the_hosted_base_urls(kind: str) -> None:
    assert Twin(kind, Script(hosted(0)), env="global").client.base_url == C.GLOBAL_BASE_URL
    with pytest.warns(PlainHTTPWarning, match="plain HTTP"):
        cn = Twin(kind, Script(hosted(0)), env="cn")
    assert cn.client.base_url == C.CN_BASE_URL


def test_base_url_overrides_env_and_env_var(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGY_BASE_URL", "https://from-env.test/")
    assert Twin(kind, Script(hosted(0)), env=None).client.base_url == "https://from-env.test"
    assert Twin(kind, Script(hosted(0)), base_url=BASE).client.base_url == BASE
    with pytest.raises(ConfigurationError, match="global, cn, auto"):
        Twin(kind, Script(hosted(0)), env="mars")


def test_plain_http_warns_except_on_loopback(kind: str) -> None:
    with pytest.warns(PlainHTTPWarning):
        Twin(kind, Script(hosted(0)), base_url="http://api.example.test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Twin(kind, Script(hosted(0)), base_url="http://127.0.0.1:8000")
        Twin(kind, Script(hosted(0)), base_url="https://api.example.test")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FAST = "https://fast.example.test"
SLOW = "https://slow.example.test"


def timed(clock: FakeClock, latency: dict[str, float], script: Script) -> Handler:
    """Each host takes its latency on the fake clock; probes are recorded apart."""

    def handle(request: httpx.Request) -> httpx.Response:
        host = f"{request.url.scheme}://{request.url.host}"
        clock.now += latency[host]
        if "token" not in request.url.params:  # a probe: no token, no parameters
            assert request.url.params == httpx.QueryParams()
            return httpx.Response(200, content=envelope(400, "userId is required"))
        return script(request)

    return handle


def test_auto_probes_without_token_and_picks_the_fastest(kind: str) -> None:
    clock = FakeClock()
    script = Script(hosted(0))
    client = Twin(
        kind,
        timed(clock, {SLOW: 0.9, FAST: 0.1}, script),
        env="auto",
        auto_candidates=(SLOW, FAST),
        clock=clock,
    )
    assert client.client.base_url is None
    client.notes_rate(USER)
    assert client.client.base_url == FAST
    assert [r.url.host for r in script.requests] == ["fast.example.test"]
    client.close()


def test_auto_choice_is_cached_until_it_expires(kind: str) -> None:
    clock = FakeClock()
    latency = {SLOW: 0.9, FAST: 0.1}
    probes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "token" not in request.url.params:
            probes.append(str(request.url.host))
        return timed(clock, latency, Script(hosted(0)))(request)

    options: dict[str, Any] = {
        "env": "auto",
        "auto_candidates": (SLOW, FAST),
        "clock": clock,
        "auto_cache_seconds": 60,
    }
    first = Twin(kind, handler, **options)
    first.notes_rate(USER)
    assert len(probes) == 2
    second = Twin(kind, handler, **options)  # another client: the class-level cache answers
    second.notes_rate(USER)
    assert len(probes) == 2 and second.client.base_url == FAST
    clock.now += 61
    latency.update({SLOW: 0.05, FAST: 0.5})
    third = Twin(kind, handler, **options)
    third.notes_rate(USER)
    assert len(probes) == 4 and third.client.base_url == SLOW
    for one in (first, second, third):
        one.close()


def test_auto_skips_candidates_that_do_not_answer(kind: str) -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "slow.example.test":
            raise httpx.ConnectError("unreachable")
        return timed(clock, {FAST: 0.3}, Script(hosted(0)))(request)

    client = Twin(kind, handler, env="auto", auto_candidates=(SLOW, FAST), clock=clock)
    client.notes_rate(USER)
    assert client.client.base_url == FAST
    client.close()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("unreachable")

    nowhere = Twin(kind, down, env="auto", auto_candidates=("https://down.test",), clock=clock)
    with pytest.raises(APIConnectionError, match="no candidate"):
        nowhere.notes_rate(USER)
    nowhere.close()


def test_auto_warns_when_it_picks_plain_http(kind: str) -> None:
    clock = FakeClock()
    plain = "http://plain.example.test"
    client = Twin(
        kind,
        timed(clock, {plain: 0.1, FAST: 0.2}, Script(hosted(0))),
        env="auto",
        auto_candidates=(FAST, plain),
        clock=clock,
    )
    with pytest.warns(PlainHTTPWarning):
        client.notes_rate(USER)
    client.close()


def test_auto_learns_from_a_probe_that_the_server_honours_keys(kind: str) -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        clock.now += 0.1
        if "token" not in request.url.params:
            return ours(400, message="userId is required")
        return ours(0)

    client = Twin(kind, handler, env="auto", auto_candidates=(FAST,), clock=clock)
    client.notes_rate(USER)
    assert client.client.honours_idempotency_keys
    client.close()


# --- the package ------------------------------------------------------------------------------


def test_public_names_are_exported_lazily() -> None:
    for name in ("Client", "AsyncClient", "PgyError", "RateLimited", "ProtocolError"):
        assert name in pgy_metrics.__all__
        assert getattr(pgy_metrics, name) is getattr(pgy_metrics.client, name)
    with pytest.raises(AttributeError):
        pgy_metrics.NoSuchThing  # noqa: B018


def test_importing_the_package_pulls_in_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pgy_metrics; from pgy_metrics import Client, AsyncClient; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'starlette') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
