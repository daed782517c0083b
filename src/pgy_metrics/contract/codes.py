"""Business codes of the envelope. Every outcome is HTTP 200; clients decide by ``code``."""

from __future__ import annotations

from enum import IntEnum


class BusinessCode(IntEnum):
    """The business outcome of one call, as the hosted API reports it."""

    SUCCESS = 0
    INVALID_TOKEN = 100
    COLLECTION_FAILED = 301
    RATE_LIMITED = 302
    DAILY_QUOTA_EXCEEDED = 303
    INVALID_PARAMS = 400
    SERVER_ERROR = 500
    PERMISSION_DENIED = 600
    INSUFFICIENT_BALANCE = 601

    @property
    def billed(self) -> bool:
        """Only a successful answer is ever charged."""
        return self is BusinessCode.SUCCESS

    @property
    def default_message(self) -> str | None:
        return _DEFAULT_MESSAGES[self]


_DEFAULT_MESSAGES: dict[BusinessCode, str | None] = {
    BusinessCode.SUCCESS: None,
    BusinessCode.INVALID_TOKEN: "The token is missing, unknown, revoked or expired.",
    BusinessCode.COLLECTION_FAILED: "Collecting the data failed; please retry later.",
    BusinessCode.RATE_LIMITED: "Rate limit exceeded; retry after the time in Retry-After.",
    BusinessCode.DAILY_QUOTA_EXCEEDED: "The daily call quota of this token is used up.",
    BusinessCode.INVALID_PARAMS: "Invalid parameters.",
    BusinessCode.SERVER_ERROR: "Internal server error; please retry later.",
    BusinessCode.PERMISSION_DENIED: "This token is not allowed to call this endpoint.",
    BusinessCode.INSUFFICIENT_BALANCE: "The balance of this token is below the price of the call.",
}
