"""The one token-in-query transport (client sync, client async, relay source) and its scrubber."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import SecretStr

from pgy_metrics.query_token import (
    WITHOUT_TOKEN,
    AsyncQueryTokenTransport,
    QueryTokenTransport,
    scrub,
)

TOKEN = "pgy_QUERY-token-must-never-leak-4c1d"
URL = "http://api.test/v1/notesRate?userId=u1&dateType=DAY_30"


def _echo(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"echo": str(request.url)})

    return httpx.MockTransport(handler)


def _assert_token_only_on_the_wire(
    wire: httpx.Request, response: httpx.Response, transport: object, logs: str
) -> None:
    assert wire.url.params.multi_items()[0] == ("token", TOKEN)  # first, as the hosted API's
    assert wire.url.params["userId"] == "u1"
    assert wire.url.params["dateType"] == "DAY_30"
    # above the wire nothing holds it: the response's request, logs, repr, attributes
    assert "token" not in response.request.url.params
    for text in (str(response.request.url), logs, repr(transport), repr(vars(transport))):
        assert TOKEN not in text


@pytest.mark.parametrize("token", [TOKEN, SecretStr(TOKEN)])
def test_the_blocking_transport_adds_the_token_below_httpx(
    token: str | SecretStr, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Request] = []
    transport = QueryTokenTransport(_echo(seen), token)
    caplog.set_level(logging.DEBUG)
    with httpx.Client(transport=transport) as client:
        response = client.get(URL)
    _assert_token_only_on_the_wire(seen[0], response, transport, caplog.text)
    assert "HTTP Request: GET" in caplog.text  # httpx did log the URL, without the token


async def test_the_async_transport_adds_the_token_below_httpx(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []
    transport = AsyncQueryTokenTransport(_echo(seen), SecretStr(TOKEN))
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(URL)
    _assert_token_only_on_the_wire(seen[0], response, transport, caplog.text)


async def test_a_request_marked_without_token_goes_out_as_it_is() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=QueryTokenTransport(_echo(seen), TOKEN)) as client:
        client.get(URL, extensions={WITHOUT_TOKEN: True})
    async with httpx.AsyncClient(transport=AsyncQueryTokenTransport(_echo(seen), TOKEN)) as client:
        await client.get(URL, extensions={WITHOUT_TOKEN: True})
    assert [str(request.url) for request in seen] == [URL, URL]


def test_closing_the_transport_closes_the_one_it_wraps() -> None:
    closed: list[str] = []

    class Inner(httpx.BaseTransport):
        def close(self) -> None:
            closed.append("inner")

    QueryTokenTransport(Inner(), TOKEN).close()
    assert closed == ["inner"]


@pytest.mark.parametrize("token", [TOKEN, SecretStr(TOKEN)])
def test_scrub_removes_the_token_and_any_token_parameter(token: str | SecretStr) -> None:
    text = f"GET /v1?token={TOKEN}&userId=u1 failed; echo {TOKEN}; other TOKEN=abc&x=1"
    assert scrub(text, token) == "GET /v1?token=***&userId=u1 failed; echo ***; other TOKEN=***&x=1"
    assert scrub("nothing secret", token) == "nothing secret"
