"""Policy numbers of the client in one place (style rule 5): timeouts, retries, environments."""

from __future__ import annotations

from typing import Final, Literal

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.provenance import SOURCE_HEADER as SOURCE_HEADER

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds one attempt may take (connect, send, wait, read)."""

TOKEN_ENV_VAR: Final = "PGY_TOKEN"  # noqa: S105 (the variable's name, not a secret)
BASE_URL_ENV_VAR: Final = "PGY_BASE_URL"

# --- environments ---------------------------------------------------------------------------

GLOBAL_BASE_URL: Final = "https://api.justoneapi.com"
"""The hosted API's global host (also the official ``justoneapi`` SDK's default)."""
CN_BASE_URL: Final = "http://47.117.133.51:30015"
"""The hosted API's host for mainland China. Its public docs say: when access from mainland China
is slow, replace the base URL with this one. It is plain HTTP: the token travels unencrypted."""

Environment = Literal["global", "cn", "auto"]
ENVIRONMENTS: Final[dict[str, str]] = {"global": GLOBAL_BASE_URL, "cn": CN_BASE_URL}
AUTO_CANDIDATES: Final[tuple[str, ...]] = (GLOBAL_BASE_URL, CN_BASE_URL)
DEFAULT_ENV: Final = "global"

AUTO_CACHE_SECONDS: Final = 600.0
"""How long ``env="auto"`` keeps its choice (per set of candidates, for the whole process)."""
AUTO_PROBE_TIMEOUT: Final = 5.0
"""Longest a probe of one candidate may take; a slower candidate is not chosen."""

LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
"""Plain HTTP to these hosts never leaves the machine, so it draws no warning."""

# --- retries --------------------------------------------------------------------------------

DEFAULT_MAX_RETRIES: Final = 3
"""Retries after the first attempt (so at most 4 attempts per call)."""
INITIAL_RETRY_DELAY: Final = 0.5
"""Seconds before the first retry of a 301/500 or a transport failure; doubles each time."""
MAX_RETRY_DELAY: Final = 8.0
RETRY_JITTER: Final = 1.0
"""Up to this many random seconds are added to each backoff."""
DEFAULT_RETRY_AFTER: Final = 1.0
"""Wait after a 302 without a usable ``Retry-After`` header."""
MAX_RETRY_AFTER: Final = 60.0
"""A 302 asking to wait longer than this is raised (``RateLimited.retry_after``), not slept on."""

RETRYABLE_CODES: Final = frozenset({BusinessCode.COLLECTION_FAILED, BusinessCode.SERVER_ERROR})
"""Retried with exponential backoff and jitter; neither was billed."""
RATE_LIMITED_CODES: Final = frozenset({BusinessCode.RATE_LIMITED})
"""Retried after ``Retry-After``."""
FINAL_CODES: Final = frozenset(
    {
        BusinessCode.INVALID_TOKEN,
        BusinessCode.DAILY_QUOTA_EXCEEDED,
        BusinessCode.INVALID_PARAMS,
        BusinessCode.PERMISSION_DENIED,
        BusinessCode.INSUFFICIENT_BALANCE,
    }
)
"""Never retried: asking again gives the same answer."""

GATEWAY_STATUSES: Final = frozenset({502, 503, 504})
"""Non-envelope HTTP answers of a proxy in front of the API: the call may or may not have run,
so they are retried only under the same rule as a read timeout."""

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
CHARGED_HEADER: Final = "X-Pgy-Charged"
"""Our server's word on what an answer cost (credits; 0 when nothing was charged)."""
REQUEST_ID_HEADER: Final = "X-Request-Id"
