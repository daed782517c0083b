"""The ``justoneapi`` source: relay to the hosted Note Performance Metrics API with our token.

The hosted API speaks the same contract as our server (``contract.md``), so one call is
``GET {base_url}/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1?token=..&userId=..`` with
all four filters always sent (the hosted defaults could change; our scope must not). Its answer is
mapped in one place, ``_CODE_POLICY`` and ``_classify``:

- code 0 with an object ``data``: that ``data``, as decoded (same keys, same JSON types);
- code 301, 302, 500; HTTP 5xx, 408, 429; a timeout or a broken connection: retried, then
  ``UpstreamUnavailable`` (``RelayRateLimited`` after 302/429, with ``retry_after``);
- code 100, 303, 600, 601, 602: not retried, ``SourceUnavailable``; ``unavailable_reason()`` says
  why (for health) until the next success;
- any other code: not retried, ``UpstreamUnavailable`` naming the code;
- HTTP 400 with the hosted API's Spring error body (or any other status), an HTML page, an
  empty body, invalid JSON, code 0 without an object ``data``: not retried, ``MalformedPayload``;
- a body over ``max_body_bytes`` (decoded: a gzip bomb too), an encoding we cannot decode, a
  redirect (never followed, so the token goes nowhere else), a TLS failure: not retried,
  ``UpstreamUnavailable`` with the label ``body_too_large``, ``bad_encoding``, ``redirect`` or
  ``tls``.

Every attempt is read by ``sources.http_limits.read_capped``: ``timeout_seconds`` bounds the whole
attempt, every byte of the body included (a body dripping a byte a second cannot hold it).

Retries are bounded by ``JustOneApiConfig.attempts`` with exponential backoff between
``wait_initial_seconds`` and ``wait_max_seconds`` (stamina, so tests switch waiting off with
``stamina.set_testing``). A ``Retry-After`` on a rate-limited answer is honoured when it fits in
``wait_max_seconds``; a longer one ends the retries at once (asking again sooner is pointless) and
the error carries it as ``retry_after``.

Secrets: the relay token travels in the query string, added below httpx by
``query_token.AsyncQueryTokenTransport`` (shared with the client), so every URL httpx logs, stores
or quotes lacks it. httpx exceptions are never chained to ours (we raise outside the ``except``
block), and text taken from the relay's answers is scrubbed of the token before it is shown.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

import httpx
import stamina
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from pgy_metrics import __version__
from pgy_metrics.clock import Clock, SystemClock
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import (
    NOTES_RATE_PATH,
    EndpointSpec,
    Query,
    base_url_problem,
)
from pgy_metrics.contract.errors import ConfigError
from pgy_metrics.contract.http import parse_retry_after
from pgy_metrics.query_token import AsyncQueryTokenTransport, scrub
from pgy_metrics.sources.base import (
    CollectionError,
    MalformedPayload,
    Outcome,
    OutcomeSink,
    SourceUnavailable,
    UpstreamUnavailable,
)
from pgy_metrics.sources.http_limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_BYTES_LIMIT,
    MIN_BODY_BYTES_LIMIT,
    AnswerRefused,
    CappedAnswer,
    read_capped,
    redirect_target,
)
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec, read_secret

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT_SECONDS",
    "DEFAULT_WAIT_INITIAL_SECONDS",
    "DEFAULT_WAIT_JITTER_SECONDS",
    "DEFAULT_WAIT_MAX_SECONDS",
    "KIND",
    "SOURCE_NAME",
    "JustOneApiConfig",
    "JustOneApiSource",
    "JustOneApiSpec",
    "RelayRateLimited",
]

log = logging.getLogger(__name__)

SOURCE_NAME: Final = "justoneapi"

DEFAULT_BASE_URL: Final = "https://api.justoneapi.com"
"""The hosted API's global production host (the official SDK's default)."""

DEFAULT_TIMEOUT_SECONDS: Final = 20.0
"""Per attempt, the whole exchange (connect, send, wait, read). The hosted API collects from
Pugongying while we wait, so a slow answer is normal; a minute is not."""

DEFAULT_ATTEMPTS: Final = 3
"""Attempts per fetch, the first included."""

DEFAULT_WAIT_INITIAL_SECONDS: Final = 0.5
DEFAULT_WAIT_MAX_SECONDS: Final = 5.0
"""Backoff between attempts: ``initial * 2**n`` plus jitter, never above the maximum. Together with
the timeout they bound one fetch: ``attempts * timeout + (attempts - 1) * wait_max``."""

DEFAULT_WAIT_JITTER_SECONDS: Final = 0.5

RELAY_MESSAGE_MAX_CHARS: Final = 160
"""How much of the relay's own ``message`` we quote in a reason (it is the relay's text)."""

_USER_AGENT: Final = f"pgy-metrics/{__version__} (justoneapi source)"


@dataclass(frozen=True, slots=True)
class JustOneApiConfig:
    """How to reach the hosted API; the server fills it from its settings file.

    ``token`` may be given as a plain ``str`` (it is wrapped at once) or a pydantic ``SecretStr``;
    either way ``repr()`` and ``str()`` of the config never show it.
    """

    token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    """Scheme and host (and an optional path prefix) of the hosted API; tests use loopback."""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    attempts: int = DEFAULT_ATTEMPTS
    wait_initial_seconds: float = DEFAULT_WAIT_INITIAL_SECONDS
    wait_max_seconds: float = DEFAULT_WAIT_MAX_SECONDS
    wait_jitter_seconds: float = DEFAULT_WAIT_JITTER_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest answer read (after decompression); a larger one is refused."""

    def __post_init__(self) -> None:
        token = self.token
        if isinstance(token, str):
            token = SecretStr(token)
            object.__setattr__(self, "token", token)
        if not isinstance(token, SecretStr):
            raise TypeError("justoneapi token must be a str or a pydantic SecretStr")
        value = token.get_secret_value()
        if not value or value != value.strip():
            raise ValueError(
                "justoneapi token is empty or has surrounding whitespace: set it from the "
                "environment or a file, without a trailing newline"
            )
        object.__setattr__(self, "base_url", _checked_base_url(self.base_url))
        _require(
            math.isfinite(self.timeout_seconds) and self.timeout_seconds > 0,
            f"justoneapi timeout_seconds must be a positive number; got {self.timeout_seconds!r}",
        )
        _require(
            isinstance(self.attempts, int)
            and not isinstance(self.attempts, bool)
            and self.attempts >= 1,
            f"justoneapi attempts must be an integer >= 1; got {self.attempts!r}",
        )
        _require(
            0 <= self.wait_initial_seconds <= self.wait_max_seconds
            and math.isfinite(self.wait_max_seconds),
            "justoneapi backoff needs 0 <= wait_initial_seconds <= wait_max_seconds; got "
            f"{self.wait_initial_seconds!r} and {self.wait_max_seconds!r}",
        )
        _require(
            math.isfinite(self.wait_jitter_seconds) and self.wait_jitter_seconds >= 0,
            f"justoneapi wait_jitter_seconds must be >= 0; got {self.wait_jitter_seconds!r}",
        )
        _require(
            isinstance(self.max_body_bytes, int)
            and MIN_BODY_BYTES_LIMIT <= self.max_body_bytes <= MAX_BODY_BYTES_LIMIT,
            f"justoneapi max_body_bytes must be between {MIN_BODY_BYTES_LIMIT} and "
            f"{MAX_BODY_BYTES_LIMIT}; "
            f"got {self.max_body_bytes!r}",
        )

    @property
    def endpoint_url(self) -> str:
        """The full URL of the notes-rate endpoint, without the token (safe to show)."""
        return self.base_url + NOTES_RATE_PATH

    def url_of(self, endpoint: EndpointSpec) -> str:
        """The relay's URL of an endpoint: the hosted path under the configured base URL."""
        return self.base_url + endpoint.path


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _checked_base_url(base_url: str) -> str:
    problem = base_url_problem(base_url)
    if problem is not None:
        raise ConfigError(f"justoneapi {problem}")
    return base_url.rstrip("/")


class JustOneApiSpec(SourceSpec):
    """``[[sources]] type = "justoneapi"``: the config's fields, the token named by
    ``token_env`` or ``token_file`` (read once, here, never written in the file)."""

    type: Literal["justoneapi"] = "justoneapi"
    token_env: str | None = None
    token_file: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)
    attempts: int = Field(default=DEFAULT_ATTEMPTS, ge=1, le=10)
    wait_initial_seconds: float = Field(default=DEFAULT_WAIT_INITIAL_SECONDS, ge=0)
    wait_max_seconds: float = Field(default=DEFAULT_WAIT_MAX_SECONDS, ge=0)
    wait_jitter_seconds: float = Field(default=DEFAULT_WAIT_JITTER_SECONDS, ge=0)
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=MIN_BODY_BYTES_LIMIT, le=MAX_BODY_BYTES_LIMIT
    )
    _config: JustOneApiConfig | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _read_and_check(self) -> JustOneApiSpec:
        token = read_secret(env=self.token_env, file=self.token_file, what="token")
        fields = self.model_dump(exclude={"type", "token_env", "token_file"})
        self._config = JustOneApiConfig(token=token, **fields)
        return self

    @property
    def config(self) -> JustOneApiConfig:
        """The checked config, token included (as a ``SecretStr``)."""
        assert self._config is not None, "a JustOneApiSpec is built by validation"
        return self._config


def _build(spec: JustOneApiSpec, context: BuildContext) -> JustOneApiSource:
    return JustOneApiSource(spec.config, outcomes=context.outcomes, clock=context.clock)


class RelayRateLimited(UpstreamUnavailable):
    """The relay kept answering 302 (rate limited); ``retry_after`` is its last hint, if any."""

    def __init__(self, message: str, *, source: str, retry_after: float | None) -> None:
        super().__init__(message, source=source)
        self.retry_after = retry_after


# --- classification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failed attempt, classified. Every text here is safe: no URL, no token."""

    kind: type[CollectionError]
    reason: str
    """Health's short class of the failure (``code_301``, ``timeout``, ``http_502``...)."""
    detail: str
    """What happened, for the caller's message: our words only, never the relay's text."""
    retryable: bool
    retry_after: float | None = None
    unavailable_reason: str | None = None
    """For ``SourceUnavailable``: what health shows until the next success."""
    relay_message: str | None = None
    """The relay's own ``message``, scrubbed of the token: for the operator's log only."""


class _RetryableAttempt(Exception):
    """Internal: raised inside the retry loop so stamina tries again."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class _CodePolicy:
    retryable: bool
    detail: str
    unavailable: str | None = None
    """Set for codes that make the whole source unavailable: the reason health shows."""
    quote_relay: bool = False
    """Append the relay's message to the health reason (codes the contract does not define)."""


_CODE_POLICY: dict[int, _CodePolicy] = {
    BusinessCode.COLLECTION_FAILED: _CodePolicy(True, "it answered code 301 (collection failed)"),
    BusinessCode.RATE_LIMITED: _CodePolicy(True, "it answered code 302 (rate limited)"),
    BusinessCode.SERVER_ERROR: _CodePolicy(True, "it answered code 500 (internal error)"),
    BusinessCode.INVALID_TOKEN: _CodePolicy(
        False, "it rejected the token", unavailable="relay token rejected (code 100)"
    ),
    BusinessCode.DAILY_QUOTA_EXCEEDED: _CodePolicy(
        False, "its daily quota is used up", unavailable="relay daily quota exhausted (303)"
    ),
    BusinessCode.PERMISSION_DENIED: _CodePolicy(
        False,
        "the token may not call this endpoint",
        unavailable="relay permission denied (600)",
    ),
    BusinessCode.INSUFFICIENT_BALANCE: _CodePolicy(
        False, "the token's balance is used up", unavailable="relay balance exhausted (601)"
    ),
    602: _CodePolicy(
        False,
        "it refused the token's account",
        unavailable="relay refused the token's account (602)",
        quote_relay=True,
    ),
}
"""How each business code of the hosted API is handled; a code not listed is not retried."""

_RETRYABLE_STATUSES: Final = frozenset({408, 429})
"""Besides every 5xx: HTTP statuses worth asking again (a gateway's timeout or rate limit)."""


class _Scrubber:
    """Removes the token from text that came from the relay, and shortens it to one line."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __call__(self, text: str, *, limit: int = RELAY_MESSAGE_MAX_CHARS) -> str:
        cleaned = " ".join(scrub(text, self._token).split())
        if len(cleaned) > limit:
            cleaned = cleaned[: limit - 3] + "..."
        return scrub(cleaned, self._token)  # whitespace folding could have joined one


def _classify(
    response: CappedAnswer, *, scrub: _Scrubber, now: Callable[[], datetime]
) -> dict[str, Any] | _Failure:
    """Map one HTTP answer of the relay to its ``data`` or a classified failure."""
    status = response.status_code
    if status >= 500 or status in _RETRYABLE_STATUSES:
        return _Failure(
            UpstreamUnavailable,
            f"http_{status}",
            f"it answered HTTP {status}",
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now=now()),
        )
    body = response.body
    document: Any = None
    decoded = False
    if body.strip():
        try:
            document = json.loads(body)
            decoded = True
        except ValueError:  # UnicodeDecodeError is a ValueError too
            decoded = False
    code = _envelope_code(document) if decoded else None
    if code is None:
        return _not_an_envelope(status, body, document if decoded else None)
    if code == BusinessCode.SUCCESS:
        data = document.get("data")
        if isinstance(data, dict):
            return data
        return _Failure(
            MalformedPayload,
            "malformed",
            f"it answered code 0 without a data object (data is {_json_type(data)})",
            retryable=False,
        )
    message = document.get("message")
    quoted = scrub(message) if isinstance(message, str) and message.strip() else None
    policy = _CODE_POLICY.get(code)
    if policy is None:
        return _Failure(
            UpstreamUnavailable,
            f"code_{code}",
            f"it answered code {code}, which this source does not know",
            retryable=False,
            relay_message=quoted,
        )
    unavailable = policy.unavailable
    if unavailable is not None and policy.quote_relay and quoted:
        unavailable = f"{unavailable}: {quoted}"
    return _Failure(
        SourceUnavailable if unavailable is not None else UpstreamUnavailable,
        f"code_{code}",
        policy.detail,
        retryable=policy.retryable,
        retry_after=(
            parse_retry_after(response.headers.get("retry-after"), now=now())
            if policy.retryable
            else None
        ),
        unavailable_reason=unavailable,
        relay_message=quoted,
    )


def _envelope_code(document: Any) -> int | None:
    if not isinstance(document, dict):
        return None
    code = document.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    return code


def _not_an_envelope(status: int, body: bytes, document: Any) -> _Failure:
    if status != 200:
        what = f"HTTP {status} instead of an envelope"
        if isinstance(document, dict) and "status" in document and "error" in document:
            error = document.get("error")  # a Spring error body: {"timestamp", "status", ...}
            if isinstance(error, str) and error.isprintable() and len(error) <= 40:
                what = f"HTTP {status} ({error}) instead of an envelope"
        return _Failure(
            MalformedPayload,
            f"http_{status}",
            f"it answered {what}; check that base_url is the hosted API",
            retryable=False,
        )
    if not body.strip():
        what = "an empty body"
    elif document is None:
        looks_html = body.lstrip()[:1] == b"<"
        what = "an HTML page" if looks_html else "a body that is not JSON"
        if not looks_html and not _is_utf8(body):
            what = "a body that is not valid UTF-8"
    else:
        what = f"JSON that is not an envelope (a {_json_type(document)} without an integer code)"
    return _Failure(MalformedPayload, "malformed", f"it answered {what}", retryable=False)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else type(value).__name__


# --- the source -------------------------------------------------------------------------------


class JustOneApiSource:
    """Fetches one creator + scope from the hosted API with the operator's token.

    ``transport`` replaces the network (tests may pass ``httpx.MockTransport``); the source owns
    it and closes it in ``aclose``. ``outcomes`` receives one ``Outcome`` per attempt.
    """

    name = SOURCE_NAME

    def __init__(
        self,
        config: JustOneApiConfig,
        *,
        outcomes: OutcomeSink | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self._outcomes = outcomes
        self._monotonic = monotonic
        self._now = (clock if clock is not None else SystemClock()).now
        self._scrub = _Scrubber(config.token)
        inner = transport if transport is not None else httpx.AsyncHTTPTransport(retries=0)
        self._client = httpx.AsyncClient(
            transport=AsyncQueryTokenTransport(inner, config.token),
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
        )
        self._unavailable_reason: str | None = None

    def __repr__(self) -> str:
        return f"<JustOneApiSource base_url={self.config.base_url!r}>"

    def unavailable_reason(self) -> str | None:
        """Why this source cannot serve (token, quota, permission, balance), or None.

        Set by the last answer that made the source unavailable, cleared by the next success.
        """
        return self._unavailable_reason

    async def fetch(self, query: Query) -> dict[str, Any]:
        """The relay serves every endpoint of the family under the same token and envelope, so
        any query is relayed as is: its hosted path, every parameter sent explicitly (the
        hosted defaults could change; our scope must not)."""
        url = self.config.url_of(query.endpoint)
        params = query.api_params()
        attempts = 0
        final: _Failure | None = None
        try:
            async for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.config.attempts,
                timeout=None,
                wait_initial=self.config.wait_initial_seconds,
                wait_max=self.config.wait_max_seconds,
                wait_jitter=self.config.wait_jitter_seconds,
            ):
                with attempt:
                    attempts += 1
                    data = await self._attempt(url, params)
        except _RetryableAttempt as exhausted:
            final = exhausted.failure
        if final is not None:  # raised here, outside ``except``: nothing chained to our error
            raise self._give_up(final, attempts)
        self._unavailable_reason = None
        return data

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- one attempt ----------------------------------------------------------------------------

    async def _attempt(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        started = self._monotonic()
        result = await self._exchange(url, params)
        latency = max(self._monotonic() - started, 0.0)
        if isinstance(result, dict):
            self._record(ok=True, reason=None, latency=latency)
            return result
        self._record(ok=False, reason=result.reason, latency=latency)
        if result.relay_message:
            log.info(
                "justoneapi attempt failed: %s; the relay says: %s",
                result.reason,
                result.relay_message,
            )
        else:
            log.debug("justoneapi attempt failed: %s (%s)", result.reason, result.detail)
        if result.retryable:
            raise _RetryableAttempt(result)
        if result.unavailable_reason is not None:
            self._unavailable_reason = result.unavailable_reason
            raise SourceUnavailable(
                f"The justoneapi relay is unavailable until an operator acts: "
                f"{result.unavailable_reason.split(': ', 1)[0]}.",
                source=self.name,
            )
        raise result.kind(
            f"Collecting from the justoneapi relay failed: {result.detail}.", source=self.name
        )

    async def _exchange(self, url: str, params: dict[str, str]) -> dict[str, Any] | _Failure:
        failure: _Failure | None = None
        response: CappedAnswer | None = None
        try:
            response = await read_capped(  # the whole attempt under one deadline and a size cap
                self._client,
                url,
                params=params,
                max_body_bytes=self.config.max_body_bytes,
                deadline_seconds=self.config.timeout_seconds,
            )
        except AnswerRefused as refused:
            failure = _refused(refused, self.config.timeout_seconds)
        except httpx.InvalidURL as error:
            failure = _Failure(
                UpstreamUnavailable,
                "http_error",
                f"the request failed ({type(error).__name__})",
                retryable=False,
            )
        # Returned, not raised, from the except blocks: no httpx error (whose text or request
        # may hold the URL) is ever chained to the error our caller sees.
        if failure is not None:
            return failure
        assert response is not None
        target = redirect_target(self.config.base_url, response.status_code, response.headers)
        if target is not None:
            where = "the same host," if target == "the same host" else f"another host, {target},"
            return _Failure(
                UpstreamUnavailable,
                "redirect",
                f"it answered a redirect (HTTP {response.status_code}) to {where} "
                "which is never followed",
                retryable=False,
            )
        return _classify(response, scrub=self._scrub, now=self._now)

    def _backoff(self, error: Exception) -> bool | float:
        """stamina's hook: retry a retryable attempt, waiting ``Retry-After`` when it fits."""
        if not isinstance(error, _RetryableAttempt):
            return False
        retry_after = error.failure.retry_after
        if retry_after is None:
            return True  # stamina's exponential backoff with jitter
        if retry_after > self.config.wait_max_seconds:
            return False  # asking again sooner than told only burns an attempt
        return max(retry_after, self.config.wait_initial_seconds)

    def _give_up(self, failure: _Failure, attempts: int) -> CollectionError:
        tried = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        detail = failure.detail
        if failure.retry_after is not None:
            detail = f"{detail}, asking to retry after {failure.retry_after:g} s"
        message = f"Collecting from the justoneapi relay failed: {detail} ({tried})."
        if failure.reason in _RATE_LIMITED_REASONS:
            return RelayRateLimited(message, source=self.name, retry_after=failure.retry_after)
        return UpstreamUnavailable(message, source=self.name)

    def _record(self, *, ok: bool, reason: str | None, latency: float) -> None:
        if self._outcomes is None:
            return
        outcome = Outcome(
            source=self.name, account=None, ok=ok, reason=reason, latency_seconds=latency
        )
        try:
            self._outcomes.record(outcome)
        except Exception:  # health bookkeeping must never fail a collection
            log.exception("recording a justoneapi outcome failed")


def _refused(refused: AnswerRefused, timeout_seconds: float) -> _Failure:
    """An answer ``read_capped`` would not read: a timeout or a broken connection is worth
    another attempt; a body too large, undecodable, or a TLS failure is not."""
    if refused.reason == "timeout":
        detail = f"it did not answer within {timeout_seconds:g} s"
        return _Failure(UpstreamUnavailable, "timeout", detail, retryable=True)
    if refused.reason == "network":
        return _Failure(UpstreamUnavailable, "connection_error", refused.detail, retryable=True)
    detail = refused.detail if refused.reason == "tls" else f"it sent {refused.detail}"
    return _Failure(UpstreamUnavailable, refused.reason, detail, retryable=False)


_RATE_LIMITED_REASONS: Final = frozenset({f"code_{int(BusinessCode.RATE_LIMITED)}", "http_429"})


KIND = SourceKind(JustOneApiSpec, _build)
