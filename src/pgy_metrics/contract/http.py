"""HTTP details both ends of the API share: the idempotency header and its key's limits."""

from __future__ import annotations

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 200
"""The longest Idempotency-Key the server keeps (the column's width); clients check it first."""


def idempotency_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an Idempotency-Key, or None."""
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY} characters long."
    return None
