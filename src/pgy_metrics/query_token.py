"""The API token in the query string, added below httpx so nothing above the wire ever sees it.

The contract puts the token in the query (``?token=...``), and httpx puts the URL in its log lines
(``HTTP Request: GET <url>``), in ``Request``/``Response`` objects and in some exception texts. An
``httpx.Auth`` flow would run too early (httpx logs the request the flow returns), so the token is
added by a transport wrapped around the real one: every URL httpx logs, stores or quotes lacks it.
The client (sync and async) and the ``justoneapi`` relay source use these transports; ``scrub``
removes the token from any text they show (an exception, an answer quoted in an error).

A request whose extensions hold ``WITHOUT_TOKEN`` goes out as it is (the client's ``env="auto"``
probe, which must not hand a token to a server it has not chosen yet).
"""

from __future__ import annotations

import re

import httpx
from pydantic import SecretStr

__all__ = ["REDACTED", "WITHOUT_TOKEN", "AsyncQueryTokenTransport", "QueryTokenTransport", "scrub"]

REDACTED = "***"
"""What stands where a token was."""

WITHOUT_TOKEN = "pgy_without_token"  # noqa: S105 (the name of an extension, not a secret)
"""Request extension: send this request without the token."""

_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"'<>]*", re.IGNORECASE)


def scrub(text: str, token: str | SecretStr) -> str:
    """``text`` with ``token`` and any ``token=...`` value replaced by ``***``."""
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    if value:
        text = text.replace(value, REDACTED)
    return _TOKEN_IN_TEXT.sub(r"\1" + REDACTED, text)


def _with_token(request: httpx.Request, token: SecretStr) -> httpx.Request:
    """The request as it goes on the wire: ``token`` first in the query, unless it opts out."""
    if request.extensions.get(WITHOUT_TOKEN):
        return request
    params = [("token", token.get_secret_value()), *request.url.params.multi_items()]
    return httpx.Request(
        request.method,
        request.url.copy_with(params=params),
        headers=request.headers,
        stream=request.stream,
        extensions=request.extensions,
    )


def _secret(token: str | SecretStr) -> SecretStr:
    # A SecretStr inside, so neither repr() nor vars() of the transport shows the token.
    return token if isinstance(token, SecretStr) else SecretStr(token)


class QueryTokenTransport(httpx.BaseTransport):
    """Wraps a blocking transport (which it owns and closes) and adds ``token`` to each query."""

    def __init__(self, inner: httpx.BaseTransport, token: str | SecretStr) -> None:
        self._inner = inner
        self._token = _secret(token)

    def __repr__(self) -> str:
        return f"<QueryTokenTransport inner={type(self._inner).__name__} token={REDACTED}>"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(_with_token(request, self._token))

    def close(self) -> None:
        self._inner.close()


class AsyncQueryTokenTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of ``QueryTokenTransport``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, token: str | SecretStr) -> None:
        self._inner = inner
        self._token = _secret(token)

    def __repr__(self) -> str:
        return f"<AsyncQueryTokenTransport inner={type(self._inner).__name__} token={REDACTED}>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(_with_token(request, self._token))

    async def aclose(self) -> None:
        await self._inner.aclose()
