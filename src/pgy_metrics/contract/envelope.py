"""The response envelope: ``{code, message, data, recordTime, requestId}``.

``data`` is passed through as the upstream JSON, so the envelope keeps raw JSON text for it and
writes the answer by splicing that text in, instead of decoding and re-encoding it (which would risk
changing a float's spelling or the key order, and costs time on every cached answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.models import NotesRateData


def format_record_time(collected_at: datetime, zone: tzinfo) -> str:
    """``recordTime`` as the hosted API writes it: local wall time, no offset, microseconds."""
    return collected_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="microseconds")


def encode_envelope(
    *,
    code: int,
    message: str | None,
    data_json: bytes | None,
    record_time: str | None,
    request_id: str,
) -> bytes:
    """Serialise an answer; ``data_json`` is the raw UTF-8 JSON of ``data`` (or None)."""
    head = f'{{"code":{int(code)},"message":{json.dumps(message, ensure_ascii=False)},"data":'
    tail = f',"recordTime":{json.dumps(record_time)},"requestId":{json.dumps(request_id)}}}'
    return b"".join((head.encode(), b"null" if data_json is None else data_json, tail.encode()))


@dataclass(frozen=True)
class Envelope:
    """A decoded answer, keeping the raw JSON object (and its key order) beside the typed fields."""

    code: int
    message: str | None
    data: dict[str, Any] | None
    record_time: str | None
    request_id: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        raw = json.loads(text)
        if not isinstance(raw, dict) or "code" not in raw:
            raise ValueError("not an envelope: expected a JSON object with a 'code' key")
        return cls.from_raw(raw)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Envelope:
        code = raw.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise ValueError(f"not an envelope: 'code' must be an integer, got {code!r}")
        data = raw.get("data")
        message = raw.get("message")
        return cls(
            code=code,
            message=message if isinstance(message, str) else None,
            data=data if isinstance(data, dict) else None,
            record_time=raw.get("recordTime"),
            request_id=raw.get("requestId"),
            raw=raw,
        )

    @property
    def business_code(self) -> BusinessCode | None:
        """The known business code, or None for a code outside the contract."""
        try:
            return BusinessCode(self.code)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return self.code == BusinessCode.SUCCESS and self.data is not None

    def typed_data(self) -> NotesRateData | None:
        """The typed view of ``data`` (raw kept), or None on a failure answer."""
        return NotesRateData.from_raw(self.data) if self.data is not None else None

    def to_json(self, *, indent: int | None = None) -> str:
        """Write the envelope back exactly as decoded (same keys, order and values)."""
        separators = (",", ": ") if indent is not None else (",", ":")
        return json.dumps(self.raw, ensure_ascii=False, indent=indent, separators=separators)
