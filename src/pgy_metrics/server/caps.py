"""Caps on a request's URL, headers and body at the edge (``PGY_MAX_*_BYTES``).

Three places enforce them, each where it is cheapest:

* the HTTP protocol (``bounded_protocol``, uvicorn's httptools protocol with counters): a head
  (request line and headers) larger than the URL cap the parser allows plus the header cap is
  cut off before it is buffered, headers over ``PGY_MAX_HEADER_BYTES`` get HTTP 431, and a URL
  the parser cannot take (over ``PARSER_URL_BYTES``, seen as it arrives) gets the contract's
  envelope (code 400) on an endpoint path or HTTP 414 elsewhere, instead of uvicorn's
  plain-text 400;
* the application, for URLs from ``PGY_MAX_URL_BYTES`` up to the parser's limit: one length
  comparison on the endpoints' hot path (``EndpointsLayer``), one ``startswith`` elsewhere;
* the admin API's bodies (``read_capped_body``): HTTP 413 beyond ``PGY_MAX_BODY_BYTES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.server import answers

PARSER_URL_BYTES = 65_535
"""The longest URL httptools parses (its offsets are 16-bit): beyond it the application never
sees the request and the protocol answers (see ``bounded_protocol``)."""


def long_url_message(query: bytes, length: int, limit: int) -> str:
    """The contract's message for a URL over the cap, naming its longest parameter."""
    name, size = "", 0
    for field in query.split(b"&"):
        key, _, value = field.partition(b"=")
        if len(value) > size:
            name, size = key.decode("latin-1")[:40], len(value)
    which = f"{name} is {size} characters long" if name else "the query is too long"
    return (
        f"{which}: the URL is {length} bytes, at most {limit} are accepted "
        "(PGY_MAX_URL_BYTES); pass each parameter as documented."
    )


def url_refusal(
    path: str, query: bytes, length: int, limit: int, *, endpoint: bool, request_id: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) for a URL over the cap: the envelope (code 400, HTTP 200) on an
    endpoint, HTTP 414 with ``{"detail": ...}`` elsewhere."""
    message = long_url_message(query, length, limit)
    if endpoint:
        body = answers.failure_body(BusinessCode.INVALID_PARAMS, message, request_id=request_id)
        return 200, answers.headers(body, request_id), body
    return problem(414, message)


def problem(status: int, detail: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"detail": detail}).encode()
    return (
        status,
        [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        body,
    )


async def send_answer(send: Send, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def too_large(limit: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return problem(
        413,
        f"The request body is larger than {limit} bytes (PGY_MAX_BODY_BYTES); "
        "send a smaller JSON object.",
    )


async def read_capped_body(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int
) -> None:
    """Runs ``app`` with the request body read first, up to ``limit`` bytes: HTTP 413 when the
    declared ``Content-Length`` or the bytes received go beyond (admin bodies are small JSON
    objects, so holding one in memory is what the framework does anyway)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            await send_answer(send, too_large(limit))
            return
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await send_answer(send, too_large(limit))
            return
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()  # a disconnect, when the framework waits for one
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    await app(scope, replay, send)


def bounded_protocol(
    *,
    max_url_bytes: int,
    max_header_bytes: int,
    endpoint_paths: Collection[str],
    new_request_id: Callable[[], str],
) -> type[Any]:
    """uvicorn's httptools protocol with the head caps (see the module's docstring).

    Counting costs one addition per chunk received while a head is being read and one
    subtraction per request (measured: under a microsecond a request); the headers are added
    up only when the head is over the cap. The parser, the ASGI cycle and keep-alive are
    uvicorn's own."""
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    most_head = PARSER_URL_BYTES + max_header_bytes + 1024  # the request line's other words
    paths = frozenset(endpoint_paths)

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _in_body = False
        _refusal: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None

        def data_received(self, data: bytes) -> None:
            if not self._in_body:
                self._head_bytes += len(data)  # may include a body: exact checks follow
            super().data_received(data)
            still_arriving = not self._in_body and self._head_bytes > most_head
            if still_arriving and not self.transport.is_closing():
                self._refuse(self._url_refusal() or _header_refusal(max_header_bytes))

        def on_headers_complete(self) -> None:
            self._in_body = True
            # The chunks counted hold the URL, the headers and maybe part of the body: only
            # when they are over the cap are the headers themselves added up.
            if self._head_bytes - len(self.url) > max_header_bytes and (
                sum(len(name) + len(value) for name, value in self.headers) > max_header_bytes
            ):
                self._refusal = _header_refusal(max_header_bytes)
            else:
                self._refusal = self._url_refusal()
            self._head_bytes = 0
            if self._refusal is not None:
                raise ValueError("over a cap")  # the parser stops; send_400_response answers
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_body = False

        def send_400_response(self, msg: str) -> None:
            if self._refusal is None:
                super().send_400_response(msg)
            else:
                self._refuse(self._refusal)

        def _url_refusal(self) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
            if len(self.url) <= PARSER_URL_BYTES:
                return None
            path, _, query = self.url.partition(b"?")
            return url_refusal(
                path.decode("latin-1"),
                query,
                len(self.url),
                max_url_bytes,
                endpoint=path.decode("latin-1") in paths,
                request_id=new_request_id(),
            )

        def _refuse(self, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
            status, headers, body = answer
            reason = {200: b"OK", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
            head = [b"HTTP/1.1 %d %s\r\n" % (status, reason.get(status, b""))]
            head += [name + b": " + value + b"\r\n" for name, value in headers]
            head.append(b"connection: close\r\n\r\n")
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    del httptools  # imported to fail here, not at the first request, when it is missing
    return BoundedHttpToolsProtocol


def _header_refusal(limit: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return problem(
        431,
        f"The request's headers are larger than {limit} bytes (PGY_MAX_HEADER_BYTES); "
        "send fewer or shorter headers.",
    )
