"""Envelope answers as raw ASGI messages: always HTTP 200, the business code in the body.

The notes-rate endpoint is the hot path, so answers are sent as two ASGI messages built from bytes
(no framework response objects); a cached hit reuses the bytes of its snapshot's ``data``.
"""

from __future__ import annotations

import itertools
import os

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.envelope import encode_envelope

Headers = list[tuple[bytes, bytes]]


class RequestIds:
    """Unique request ids without a system call each: a random per-process prefix + a counter.

    32 hex characters like a UUID; unique across processes because each draws its own prefix.
    """

    def __init__(self) -> None:
        self._prefix = os.urandom(10).hex()
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):012x}"


def failure_body(code: BusinessCode, message: str | None, *, request_id: str) -> bytes:
    return encode_envelope(
        code=code,
        message=message or code.default_message,
        data_json=None,
        record_time=None,
        request_id=request_id,
    )


def headers(body: bytes, request_id: str, *extra: tuple[bytes, bytes]) -> Headers:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        *extra,
    ]
