"""Envelope answers as raw ASGI messages: always HTTP 200, the business code in the body.

The notes-rate endpoint is the hot path, so answers are sent as two ASGI messages built from bytes
(no framework response objects); a cached hit reuses the envelope bytes of its snapshot, kept
here at the edge (``SnapshotAnswers``), not in the store's objects.
"""

from __future__ import annotations

import itertools
import os
from datetime import tzinfo

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.envelope import encode_envelope, format_record_time
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


class SnapshotAnswers:
    """Success envelopes of snapshots up to the request id's value, built once per snapshot and
    zone: every answer from a snapshot is its prefix + the request id + ``"}``.

    Keyed by the snapshot itself (immutable; equal only to itself in practice), so two stores in
    one process cannot mix up their ids. Bounded: emptied when full, rebuilt on demand.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._built: dict[tuple[Snapshot, tzinfo], tuple[bytes, bytes]] = {}

    def prefix(self, snapshot: Snapshot, zone: tzinfo) -> tuple[bytes, bytes]:
        """The envelope prefix and the ``x-pgy-source`` header value."""
        key = (snapshot, zone)
        built = self._built.get(key)
        if built is None:
            envelope = encode_envelope(
                code=BusinessCode.SUCCESS,
                message=None,
                data_json=snapshot.payload.encode(),
                record_time=format_record_time(snapshot.collected_at, zone),
                request_id="",
            )
            if len(self._built) >= self.MAX_ENTRIES:
                self._built.clear()
            built = self._built[key] = (envelope[: -len(b'"}')], snapshot.source.encode())
        return built

    def body(self, snapshot: Snapshot, zone: tzinfo, request_id: str) -> tuple[bytes, bytes]:
        """The whole success body for this request, and the ``x-pgy-source`` header value."""
        prefix, source = self.prefix(snapshot, zone)
        return b"".join((prefix, request_id.encode(), b'"}')), source


SNAPSHOT_ANSWERS = SnapshotAnswers()


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
