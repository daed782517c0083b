"""Reading an upstream's answer defensively: a whole-attempt deadline, a size cap, our own
decompression with a cap, redirects described (never followed) and TLS failures named.

An upstream (or something pretending to be it) is untrusted input. httpx's timeouts are per
operation, so a body dripping one byte a second never trips them; its decoders inflate a gzip
chunk whole, so a small bomb becomes a large allocation; and ``response.content`` reads whatever
length is sent. ``read_capped`` is the one way the HTTP sources read an answer:

- the whole exchange (connect, send, wait, every read) runs under ``asyncio.timeout``;
- the body is streamed raw and decoded here (``identity``, ``gzip``, ``deflate`` only; we ask
  for nothing else), and reading stops as soon as the encoded or decoded size passes the cap;
- a redirect is returned as an answer, never followed (the clients are built with
  ``follow_redirects=False``): ``redirect_target`` tells the caller where it pointed, by host
  only, so no cookie or token goes anywhere else and no secret in the location is shown.

Every failure is an ``AnswerRefused`` with a short ``reason`` (health's label) and a ``detail``
in our words: no URL, no header, nothing the upstream sent, so no secret can ride along.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_BODY_BYTES_LIMIT",
    "MIN_BODY_BYTES_LIMIT",
    "AnswerRefused",
    "CappedAnswer",
    "read_capped",
    "redirect_target",
    "tls_problem",
]

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""8 MiB, decoded: a real answer of any endpoint is tens of kilobytes."""
MAX_BODY_BYTES_LIMIT: Final = 512 * 1024 * 1024
"""The largest cap a settings file may set (it is held in memory whole)."""
MIN_BODY_BYTES_LIMIT: Final = 1024
"""The smallest cap a settings file may set: below it no real answer fits."""
ACCEPT_ENCODING: Final = "gzip, deflate"
"""What we ask for: the encodings ``read_capped`` decodes with a cap."""

_CHUNK: Final = 64 * 1024


class AnswerRefused(Exception):
    """An answer we will not read to the end. ``reason`` is health's label (``timeout``,
    ``body_too_large``, ``bad_encoding``, ``tls``, ``network``); ``detail`` is safe to show."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CappedAnswer:
    """One answer, read whole (decoded) within the caps."""

    status_code: int
    headers: httpx.Headers
    body: bytes


def tls_problem(error: BaseException) -> str | None:
    """What went wrong with TLS, if ``error`` (or what it wraps) is a TLS failure, else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return "TLS failed: the server's certificate is not trusted"
        if isinstance(current, ssl.SSLError):
            return "TLS failed: the handshake did not complete (does the server speak https?)"
        current = current.__cause__ or current.__context__
    return None


def redirect_target(base_url: str, status: int, headers: httpx.Headers) -> str | None:
    """For a redirect answer, the host it points to (``"the same host"`` for a relative or
    same-host location); None when the answer is not a redirect. Only the host is ever shown: a
    location may carry a token in its query."""
    if not 300 <= status < 400:
        return None
    location = headers.get("location", "")
    try:
        target = httpx.URL(base_url).join(location)
    except Exception:
        return "an unreadable location"
    base = httpx.URL(base_url)
    if target.host == base.host and target.port == base.port and target.scheme == base.scheme:
        return "the same host"
    return target.host or "an unreadable location"


class _Decoder:
    """Decodes ``Content-Encoding`` with a cap on the decoded size (zlib's ``max_length``): a
    bomb is refused after at most ``cap + 1`` bytes were inflated, whatever its ratio."""

    def __init__(self, encoding: str, cap: int) -> None:
        self._cap = cap
        self._size = 0
        self._zlib: zlib._Decompress | None = None
        self._parts: list[bytes] = []
        self._raw_deflate_possible = False
        """``deflate`` is zlib-wrapped by the RFC, but some servers send it raw (as browsers
        and httpx accept): tried once, if the first bytes are not a zlib header."""
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            return
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._raw_deflate_possible = True
        else:
            raise AnswerRefused(
                "bad_encoding", f"a body in an encoding we did not ask for ({encoding[:20]!r})"
            )

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._keep(chunk)
            return
        data = chunk
        if self._raw_deflate_possible:
            self._raw_deflate_possible = False
            if len(data) >= 2 and int.from_bytes(data[:2], "big") % 31 != 0:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            while data:
                room = self._cap - self._size + 1
                out = self._zlib.decompress(data, room)
                self._keep(out)
                data = self._zlib.unconsumed_tail
        except zlib.error:
            raise AnswerRefused(
                "bad_encoding", "a compressed body that does not decompress"
            ) from None

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise AnswerRefused(
                "body_too_large", f"a body larger than the {self._cap} bytes allowed"
            )
        self._parts.append(data)

    def body(self) -> bytes:
        if self._zlib is not None:
            try:
                self._keep(self._zlib.flush())
            except zlib.error:
                raise AnswerRefused(
                    "bad_encoding", "a compressed body that does not decompress"
                ) from None
        return b"".join(self._parts)


async def read_capped(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
    max_body_bytes: int,
    deadline_seconds: float,
    on_sent: Callable[[], None] | None = None,
) -> CappedAnswer:
    """``GET url`` and read its whole answer within ``deadline_seconds`` and ``max_body_bytes``
    (decoded, and the encoded size too), or raise ``AnswerRefused``. httpx errors never escape
    and are never chained: their text may hold the URL. ``on_sent`` is called when the request's
    headers are written to the socket (httpcore's trace; a cluster's pacing records the real
    departure with it)."""
    refused: AnswerRefused | None = None
    answer: CappedAnswer | None = None
    sent = dict(headers or {})
    sent["Accept-Encoding"] = ACCEPT_ENCODING
    try:
        async with asyncio.timeout(deadline_seconds):
            answer = await _exchange(client, url, params, sent, max_body_bytes, on_sent)
    except AnswerRefused as error:
        refused = error
    except (TimeoutError, httpx.TimeoutException):
        refused = AnswerRefused("timeout", f"no whole answer within {deadline_seconds:g} s")
    except httpx.TransportError as error:
        problem = tls_problem(error)
        if problem is not None:
            refused = AnswerRefused("tls", problem)
        else:
            refused = AnswerRefused("network", f"the connection failed ({type(error).__name__})")
    except httpx.HTTPError as error:
        refused = AnswerRefused("network", f"the request failed ({type(error).__name__})")
    if refused is not None:  # raised here, outside ``except``: nothing chained
        raise refused
    assert answer is not None
    return answer


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    cap: int,
    on_sent: Callable[[], None] | None = None,
) -> CappedAnswer:
    extensions: dict[str, Any] = {}
    if on_sent is not None:

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith("send_request_headers.complete"):
                on_sent()

        extensions["trace"] = trace
    async with client.stream(
        "GET", url, params=params, headers=headers, extensions=extensions
    ) as response:
        announced = response.headers.get("content-length", "")
        if announced.strip().isdigit() and int(announced) > cap:
            raise AnswerRefused(
                "body_too_large", f"a body of {int(announced)} bytes, over the {cap} allowed"
            )
        try:
            # A transport that hands over a body already read (``httpx.MockTransport``, in
            # tests) has had it decoded by httpx: only the cap applies.
            preread: bytes | None = response.content
        except httpx.ResponseNotRead:
            preread = None
        encoding = "" if preread is not None else response.headers.get("content-encoding", "")
        decoder = _Decoder(encoding, cap)
        chunks = _once(preread) if preread is not None else response.aiter_raw(_CHUNK)
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > cap:
                raise AnswerRefused("body_too_large", f"a body larger than the {cap} bytes allowed")
            decoder.feed(chunk)
        body = decoder.body()
        plain = httpx.Headers(
            [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        )
        return CappedAnswer(response.status_code, plain, body)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
