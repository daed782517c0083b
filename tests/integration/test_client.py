"""The client over real HTTP: against a real ``pgy serve`` process and against the fake of the
hosted API served on loopback. Sync and async clients run the same cases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stamina

from pgy_metrics.client import (
    APIError,
    APITimeoutError,
    CollectionFailed,
    DailyQuotaExceeded,
    InsufficientBalance,
    InvalidParams,
    InvalidToken,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    ServerError,
    UnknownCodeError,
)
from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy_env
from tests.integration.test_money import books, issue
from tests.unit.test_client import Twin
from tests.upstreams.fake_hosted_api import FakeHostedApi
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration

USER = "5d21ab6b000000001201567d"
HOSTED_TOKEN = "hosted-token-for-client-tests"


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def clients() -> Iterator[list[Twin]]:
    made: list[Twin] = []
    yield made
    for client in made:
        client.close()


# --- our server -------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], process: ServerProcess) -> None:
        self.env = env
        self.process = process
        self.names = 0
        self.issued: list[str] = []

    @property
    def base_url(self) -> str:
        return self.process.base_url

    def token(self, plan: BillingPlan | None = None) -> tuple[str, str]:
        self.names += 1
        name = f"client-test-{self.names}"
        token = asyncio.run(issue(self.env, name, plan or BillingPlan()))
        self.issued.append(token)
        return name, token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("client-server")
    env = pgy_env(folder / "data")
    with ServerProcess(env, folder / "server.log") as process:
        server = Server(env, process)
        yield server
    logs = process.logs()
    assert not [token for token in server.issued if token in logs]


def ours(kind: str, server: Server, token: str, made: list[Twin], **options: Any) -> Twin:
    made.append(Twin(kind, None, token=token, base_url=server.base_url, **options))
    return made[-1]


def test_all_24_scopes_give_typed_results(kind: str, server: Server, clients: list[Twin]) -> None:
    _, token = server.token()
    client = ours(kind, server, token, clients)
    for scope in Scope.all():
        result = client.notes_rate(USER, scope=scope)
        assert result.scope == scope
        assert result.data.note_number == result.data.raw["noteNumber"]
        assert result.record_time and result.request_id
        assert result.source == "sandbox"
        assert result.retries_taken == 0 and not result.replayed
    assert client.client.honours_idempotency_keys


def test_our_refusals_raise_their_classes(kind: str, server: Server, clients: list[Twin]) -> None:
    _, broke = server.token(BillingPlan(balance=0))
    with pytest.raises(InsufficientBalance) as poor:
        ours(kind, server, broke, clients).notes_rate(USER)
    assert poor.value.request_id and poor.value.retries_taken == 0

    _, walled = server.token(BillingPlan(endpoints=()))
    with pytest.raises(PermissionDenied):
        ours(kind, server, walled, clients).notes_rate(USER)

    with pytest.raises(InvalidToken) as unknown:
        ours(kind, server, "pgy_not-a-real-token", clients).notes_rate(USER)
    assert "pgy_not-a-real-token" not in repr(unknown.value)

    _, daily = server.token(BillingPlan(daily_quota=1))
    quota_client = ours(kind, server, daily, clients)
    quota_client.notes_rate(USER)
    with pytest.raises(DailyQuotaExceeded):
        quota_client.notes_rate(USER)


def test_each_answer_says_what_it_was_charged(
    kind: str, server: Server, clients: list[Twin]
) -> None:
    """X-Pgy-Charged: the price for a first success, 0 for a replay of its Idempotency-Key and
    for a cached answer the plan prices at 0, 0 for a refusal; the ledger agrees."""
    name, token = server.token(BillingPlan(balance=100, price=3, cached_price=0))
    client = ours(kind, server, token, clients)
    user = "00000000000000000000c0de" if kind == "sync" else "00000000000000000000c0df"
    first = client.notes_rate(user, idempotency_key=f"charged-{kind}")
    assert first.charged == 3 and not first.replayed
    again = client.notes_rate(user, idempotency_key=f"charged-{kind}")
    assert again.replayed and again.charged == 0 and again.request_id == first.request_id
    cached = client.notes_rate(user)  # a new key: the snapshot in hand, priced 0 by the plan
    assert cached.charged == 0 and not cached.replayed
    money = asyncio.run(books(server.env, name))
    assert (money.charges, money.charge_rows, money.balance) == (3, 2, 97)

    refused = httpx.get(
        f"{server.base_url}{NOTES_RATE_PATH}", params={"token": token, "userId": "nope"}
    )
    assert refused.json()["code"] == 400 and refused.headers["X-Pgy-Charged"] == "0"
    _, default = server.token()  # the server's prices: 1 fresh, and 1 cached as well
    assert ours(kind, server, default, clients).notes_rate(user).charged == 1


def test_rate_limited_carries_retry_after(kind: str, server: Server, clients: list[Twin]) -> None:
    _, token = server.token(BillingPlan(rate_limit="1/minute"))
    client = ours(kind, server, token, clients, max_retries=0)
    client.notes_rate(USER)
    with pytest.raises(RateLimited) as caught:
        client.notes_rate(USER)
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


class _Loses:
    """Forwards to the real server, then drops the first answer of ``lose_user``'s call and
    raises a read timeout: the server ran (and billed) the call, the client saw nothing."""

    def __init__(self, lose_user: str) -> None:
        self.lose_user = lose_user
        self.lost = 0

    def lose(self, request: httpx.Request) -> bool:
        if request.url.params.get("userId") == self.lose_user and self.lost == 0:
            self.lost += 1
            return True
        return False


class LossyTransport(httpx.BaseTransport, _Loses):
    def __init__(self, lose_user: str) -> None:
        _Loses.__init__(self, lose_user)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose(request):
            response.read()
            response.close()
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncLossyTransport(httpx.AsyncBaseTransport, _Loses):
    def __init__(self, lose_user: str) -> None:
        _Loses.__init__(self, lose_user)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose(request):
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_lost_answer_retried_against_our_server_is_charged_once(
    kind: str, server: Server, clients: list[Twin]
) -> None:
    name, token = server.token(BillingPlan(balance=10))
    lost_user = "00000000000000000000beef"
    lossy = LossyTransport(lost_user) if kind == "sync" else AsyncLossyTransport(lost_user)
    client = ours(kind, server, token, clients, transport=lossy)
    client.notes_rate(USER)  # the first answer shows the server honours Idempotency-Key
    result = client.notes_rate(lost_user)
    assert lossy.lost == 1
    assert result.retries_taken == 1
    assert result.replayed  # the server answered the retry with the first (billed) answer
    money = asyncio.run(books(server.env, name))
    assert money.charge_rows == 2 and money.charges == 2
    assert money.balance == 8


def test_a_lost_answer_is_not_retried_before_the_server_is_known(
    kind: str, server: Server, clients: list[Twin]
) -> None:
    name, token = server.token(BillingPlan(balance=10))
    lossy = LossyTransport(USER) if kind == "sync" else AsyncLossyTransport(USER)
    client = ours(kind, server, token, clients, transport=lossy)
    with pytest.raises(APITimeoutError) as caught:
        client.notes_rate(USER)
    assert caught.value.retries_taken == 0
    assert asyncio.run(books(server.env, name)).charge_rows == 1  # billed, answer lost


# --- the hosted API (a fake on loopback) ------------------------------------------------------


@pytest.fixture(scope="module")
def hosted_api() -> Iterator[tuple[FakeHostedApi, str]]:
    fake = FakeHostedApi(token=HOSTED_TOKEN, hang_seconds=3.0)
    with serve_on_loopback(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def hosted(hosted_api: tuple[FakeHostedApi, str]) -> Iterator[tuple[FakeHostedApi, str]]:
    fake, base_url = hosted_api
    fake.reset()
    yield fake, base_url
    fake.reset()


def hosted_client(
    kind: str, hosted: tuple[FakeHostedApi, str], made: list[Twin], **options: Any
) -> Twin:
    options.setdefault("token", HOSTED_TOKEN)
    made.append(Twin(kind, None, base_url=hosted[1], **options))
    return made[-1]


def test_hosted_success(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin], fixture_bytes: bytes
) -> None:
    fake, _ = hosted
    result = hosted_client(kind, hosted, clients).notes_rate(USER, note_type="VIDEO")
    assert result.data.note_number == 3
    assert result.source is None and not result.replayed
    assert result.charged is None  # the hosted API does not say what it charged
    (request,) = fake.requests
    assert request.token_ok
    assert request.get("noteType") == "VIDEO"
    for name in ("business", "dateType", "advertiseSwitch"):
        assert request.count(name) == 1


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (100, InvalidToken),
        (301, CollectionFailed),
        (302, RateLimited),
        (303, DailyQuotaExceeded),
        (400, InvalidParams),
        (500, ServerError),
        (600, PermissionDenied),
        (601, InsufficientBalance),
        (602, UnknownCodeError),
    ],
)
def test_hosted_failure_codes(
    kind: str,
    hosted: tuple[FakeHostedApi, str],
    clients: list[Twin],
    code: int,
    error: type[APIError],
) -> None:
    fake, _ = hosted
    fake.always(f"code_{code}", retry_after="7" if code == 302 else None)
    with pytest.raises(error) as caught:
        hosted_client(kind, hosted, clients, max_retries=0).notes_rate(USER)
    assert caught.value.code == code and caught.value.request_id
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


def test_hosted_wrong_token_is_invalid_token(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin]
) -> None:
    with pytest.raises(InvalidToken):
        hosted_client(kind, hosted, clients, token="wrong").notes_rate(USER)


@pytest.mark.parametrize("mode", ["spring_400", "html", "empty", "invalid_json", "non_dict_data"])
def test_hosted_non_envelopes_are_protocol_errors(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin], mode: str
) -> None:
    fake, _ = hosted
    fake.fail(mode)
    with pytest.raises(ProtocolError) as caught:
        hosted_client(kind, hosted, clients).notes_rate(USER)
    if mode == "spring_400":
        assert caught.value.status_code == 400
    assert fake.calls == 1
    assert HOSTED_TOKEN not in repr(caught.value) + str(caught.value)


def test_hosted_301_then_success_is_recovered(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin]
) -> None:
    fake, _ = hosted
    fake.fail("code_301")
    result = hosted_client(kind, hosted, clients).notes_rate(USER)
    assert result.retries_taken == 1
    assert fake.calls == 2


def test_hosted_timeout_is_not_retried_by_default(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin]
) -> None:
    fake, _ = hosted
    fake.fail("timeout")
    with pytest.raises(APITimeoutError) as caught:
        hosted_client(kind, hosted, clients, timeout=0.3).notes_rate(USER)
    assert caught.value.retries_taken == 0
    assert fake.calls == 1
    assert not clients[-1].client.honours_idempotency_keys


def test_hosted_timeout_is_retried_when_opted_in(
    kind: str, hosted: tuple[FakeHostedApi, str], clients: list[Twin]
) -> None:
    fake, _ = hosted
    fake.fail("timeout")
    client = hosted_client(kind, hosted, clients, timeout=0.3, retry_timeouts=True)
    result = client.notes_rate(USER)
    assert result.retries_taken == 1
    assert fake.calls == 2
