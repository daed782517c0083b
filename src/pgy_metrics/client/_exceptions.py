"""One error tree for the client: one class per business code, transport and protocol errors.

Every error carries what is known of ``code``, ``message`` and ``request_id``, and
``retries_taken``. No error text or repr ever holds the token or a URL with the token: messages
that came from a server are scrubbed of the token before they are stored.
"""

from __future__ import annotations

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.errors import ConfigError


class PgyError(Exception):
    """Base of every error the client raises."""

    retries_taken: int = 0
    """Retries made before this error was raised (0 when the first attempt was final)."""


class ConfigurationError(PgyError, ConfigError):
    """The client cannot be built as asked: no token, unknown ``env``, unusable ``base_url``.

    A ``PgyError`` (so ``except PgyError`` catches everything the client raises) and a
    ``contract.errors.ConfigError`` (so it is a ``ValueError``, and ``pgy`` exits 2 on it as on
    every other setting a person must fix)."""


class PlainHTTPWarning(UserWarning):
    """The chosen base URL is plain HTTP, so the token travels unencrypted in the query string."""


class APIError(PgyError):
    """The server answered an envelope with a non-zero ``code``."""

    code: int = -1

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        try:
            default = BusinessCode(self.code).default_message
        except ValueError:
            default = None
        self.message = message or default or f"The API answered code {self.code}."
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f", request id {self.request_id}" if self.request_id else ""
        return f"{self.message} (code {self.code}{where})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code}, message={self.message!r}, "
            f"request_id={self.request_id!r}, retries_taken={self.retries_taken})"
        )


class InvalidToken(APIError):
    """100: the token is missing, unknown, revoked or expired. Not billed; never retried."""

    code = BusinessCode.INVALID_TOKEN


class CollectionFailed(APIError):
    """301: collecting the data failed upstream. Not billed; retried with backoff."""

    code = BusinessCode.COLLECTION_FAILED


class RateLimited(APIError):
    """302: the token's rate limit is exceeded. Not billed; retried after ``retry_after``."""

    code = BusinessCode.RATE_LIMITED

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id)
        self.retry_after = retry_after
        """Seconds the server asked to wait (``Retry-After``), or None when it did not say."""

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, retry_after={self.retry_after!r})"


class DailyQuotaExceeded(APIError):
    """303: the token's daily quota is used up. Not billed; never retried."""

    code = BusinessCode.DAILY_QUOTA_EXCEEDED


class InvalidParams(APIError, ValueError):
    """400: a parameter is missing or outside the contract. Not billed; never retried.

    The client raises it before sending anything when it can tell (``param`` names the
    parameter); the server raises it for what only it can tell.
    """

    code = BusinessCode.INVALID_PARAMS

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id)
        self.param = param


class ServerError(APIError):
    """500: the server failed. Not billed; retried with backoff."""

    code = BusinessCode.SERVER_ERROR


class PermissionDenied(APIError):
    """600: the token may not call this endpoint. Not billed; never retried."""

    code = BusinessCode.PERMISSION_DENIED


class InsufficientBalance(APIError):
    """601: the token's balance is below the price of the call. Not billed; never retried."""

    code = BusinessCode.INSUFFICIENT_BALANCE


class UnknownCodeError(APIError):
    """A code outside the contract (e.g. the hosted API's 602). Never retried."""


CODE_TO_ERROR: dict[int, type[APIError]] = {
    BusinessCode.INVALID_TOKEN: InvalidToken,
    BusinessCode.COLLECTION_FAILED: CollectionFailed,
    BusinessCode.RATE_LIMITED: RateLimited,
    BusinessCode.DAILY_QUOTA_EXCEEDED: DailyQuotaExceeded,
    BusinessCode.INVALID_PARAMS: InvalidParams,
    BusinessCode.SERVER_ERROR: ServerError,
    BusinessCode.PERMISSION_DENIED: PermissionDenied,
    BusinessCode.INSUFFICIENT_BALANCE: InsufficientBalance,
}
"""The one table from business code to exception class; any other code is UnknownCodeError."""


def error_for_code(
    code: int,
    message: str | None,
    *,
    request_id: str | None,
    retry_after: float | None = None,
) -> APIError:
    cls = CODE_TO_ERROR.get(code, UnknownCodeError)
    if cls is RateLimited:
        return RateLimited(message, code=code, request_id=request_id, retry_after=retry_after)
    return cls(message, code=code, request_id=request_id)


class APIConnectionError(PgyError):
    """No answer: the connection failed or broke.

    ``request_sent`` is False when the request certainly never reached the server (connection
    refused, connect timeout): such a failure is always safe to retry. When True the server may
    have run, and billed, the call.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.request_sent = request_sent
        self.code: int | None = None
        self.request_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, request_sent={self.request_sent}, "
            f"retries_taken={self.retries_taken})"
        )


class APITimeoutError(APIConnectionError):
    """No answer within the timeout."""


class ProtocolError(PgyError):
    """The answer is not an envelope: a Spring-style HTTP 400 JSON, an HTML page, an empty or
    invalid JSON body, or a code-0 ``data`` that does not match the contract."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.code = code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code}, "
            f"request_id={self.request_id!r}, retries_taken={self.retries_taken})"
        )
