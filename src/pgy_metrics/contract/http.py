"""HTTP conventions of the contract that both ends read: ``Retry-After`` and ``Idempotency-Key``.

One definition each, so the client, the relay source and the server cannot drift apart (they did:
one ``Retry-After`` parser took ``inf`` for a wait, the other did not). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["IDEMPOTENCY_KEY_MAX_CHARS", "idempotency_key_problem", "parse_retry_after"]

_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
"""RFC 9110's ``delta-seconds`` (digits), plus a decimal fraction, which some servers send."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP date; None when absent or bad.

    A date in the past means "now" (0.0). Anything else that is not a plain non-negative number
    (``-4``, ``nan``, ``inf``, ``1e3``, a number too large for a float) or a date is refused with
    None, so callers fall back to their own wait instead of sleeping forever or not at all.
    ``now`` (aware) is the moment a date is measured from; the system clock by default.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC without a claim on the zone
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now if now is not None else datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)


IDEMPOTENCY_KEY_MAX_CHARS = 200
"""The longest ``Idempotency-Key`` (the width of the store's key column)."""


def idempotency_key_problem(key: object, *, name: str = "Idempotency-Key") -> str | None:
    """Why ``key`` is not a usable idempotency key, as a sentence naming ``name``; None if it is.

    The server names the header (the default); the client names its ``idempotency_key`` argument.
    """
    limit = IDEMPOTENCY_KEY_MAX_CHARS
    if not isinstance(key, str):
        return f"{name} must be a str of 1 to {limit} characters; got {type(key).__name__}."
    if not 1 <= len(key) <= limit:
        return f"{name} must be 1 to {limit} characters long; got {len(key)}."
    return None
