"""Envelope answers as raw ASGI messages: always HTTP 200, the business code in the body.

The endpoints are the hot path, so answers are sent as two ASGI messages built from bytes (no
framework response objects); a cached hit reuses the encoded envelope of its snapshot, which the
metrics service's in-memory cache keeps (``SuccessEncoder.prepare``).
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import tzinfo

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.envelope import encode_envelope, format_record_time
from pgy_metrics.service.gate import Outcome
from pgy_metrics.service.metrics import Cached
from pgy_metrics.store.snapshots import Snapshot

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


class SuccessEncoder:
    """Encodes success answers: every answer from one snapshot is the same prefix (the envelope
    up to the request id) + the request id + ``"}``.

    ``prepare`` makes that prefix; the metrics service keeps it in its in-memory cache
    (``service.metrics.Cached``, bounded by bytes), so a cached hit costs a join, not a JSON
    encoding. Snapshots never change once stored, which makes the prefix safe to keep. A
    snapshot read from the store or just collected is encoded anew (a miss costs far more).
    """

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone

    def prepare(self, snapshot: Snapshot) -> bytes:
        envelope = encode_envelope(
            code=BusinessCode.SUCCESS,
            message=None,
            data_json=snapshot.payload.encode(),
            record_time=format_record_time(snapshot.collected_at, self._zone),
            request_id="",
        )
        return envelope[: -len(b'"}')]

    def __call__(self, snapshot: Snapshot | Cached, request_id: str) -> bytes:
        prefix = snapshot.answer if isinstance(snapshot, Cached) else self.prepare(snapshot)
        return b"".join((prefix, request_id.encode(), b'"}'))


CHARGED_HEADER = b"x-pgy-charged"
"""What this answer was charged (the ``Outcome.charged`` credits; ``0`` when nothing was): a
replay, a refusal or a failure says 0, so a caller counting its spending (``pgy mcp``'s budget)
knows a free answer from a charged one without asking the ledger."""

_CHARGED_HEADERS = {amount: (CHARGED_HEADER, b"%d" % amount) for amount in range(101)}
"""The header of each usual price, made once: an answer looks its header up (no encoding)."""
NOT_CHARGED = _CHARGED_HEADERS[0]


def charged(outcome: Outcome) -> tuple[bytes, bytes]:
    """The ``X-Pgy-Charged`` header of an outcome: from what the gate knows, no database read."""
    amount = outcome.charged
    header = _CHARGED_HEADERS.get(amount)
    return header if header is not None else (CHARGED_HEADER, b"%d" % amount)


def answer(outcome: Outcome, request_id: str) -> tuple[bytes, Headers]:
    """The bytes and headers of an outcome of the gate."""
    if outcome.replayed and outcome.body is not None:
        replayed_id = str(json.loads(outcome.body).get("requestId") or "")
        extra = [(b"idempotent-replayed", b"true"), NOT_CHARGED]
        if outcome.source:
            extra.append((b"x-pgy-source", outcome.source.encode()))
        return outcome.body, headers(outcome.body, replayed_id, *extra)
    if outcome.ok and outcome.body is not None:
        cost = charged(outcome)
        if outcome.source is None:  # history: many snapshots, each naming its source
            return outcome.body, headers(outcome.body, request_id, cost)
        source = (b"x-pgy-source", outcome.source.encode())
        return outcome.body, headers(outcome.body, request_id, source, cost)
    body = failure_body(outcome.code, outcome.message, request_id=request_id)
    limited = outcome.rate_limited
    return body, headers(body, request_id, NOT_CHARGED, *(limited.headers() if limited else ()))
