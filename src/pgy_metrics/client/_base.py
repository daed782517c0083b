"""What ``Client`` and ``AsyncClient`` share, with no I/O: settings, validation, requests,
answers and the retry decision table. The twins only send what this builds and hand back what
comes in.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import ValidationError

from pgy_metrics.client import _constants as C
from pgy_metrics.client._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CollectionFailed,
    ConfigurationError,
    InvalidParams,
    PgyError,
    PlainHTTPWarning,
    ProtocolError,
    RateLimited,
    ServerError,
    error_for_code,
)
from pgy_metrics.contract.endpoints import (
    ENDPOINTS,
    NOTES_RATE_PATH,
    Query,
    Registry,
    base_url_problem,
    notes_query,
)
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.history import HISTORY_PATH, parse_fields, parse_since
from pgy_metrics.contract.http import idempotency_key_problem, parse_retry_after
from pgy_metrics.contract.models import NotesRateData
from pgy_metrics.contract.params import ParamError, Scope, parse_user_id
from pgy_metrics.contract.provenance import SYNTHETIC_SOURCE
from pgy_metrics.contract.siblings import (
    BloggerProfileData,
    DataSummaryData,
    FansHistoryData,
    FansProfileData,
    FansSummaryData,
    WireModel,
)
from pgy_metrics.contract.units import snake_case
from pgy_metrics.query_token import scrub

E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=WireModel)
T = TypeVar("T")

_EXCERPT_CHARS = 120


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    """What every successful answer (code 0) carries besides its data: how it came."""

    record_time: str | None
    """When the data was collected upstream (the envelope's ``recordTime``, local wall time)."""
    request_id: str | None
    source: str | None
    """Where our server got the data (``X-Pgy-Source``: ``sandbox``, ``replay``, ``pugongying``,
    ``justoneapi``); None when the server did not say (the hosted API does not). Exports write
    None as ``hosted``."""
    retries_taken: int
    replayed: bool
    """True when the server answered a repeat of this call's Idempotency-Key (no second charge)."""
    idempotency_key: str
    envelope: dict[str, Any] = field(repr=False)
    """The whole answer as decoded (``code``, ``message``, ``data``, ``recordTime``...)."""
    charged: int | None = None
    """Credits the server charged for this answer (``X-Pgy-Charged``): the price, or 0 when it
    charged nothing (an idempotent replay, a cached answer its plan prices at 0); None when the
    server did not say (the hosted API does not)."""

    @property
    def synthetic(self) -> bool:
        """True when the server said the data is made up (``X-Pgy-Source: sandbox``)."""
        return self.source == SYNTHETIC_SOURCE


@dataclass(frozen=True, slots=True, kw_only=True)
class NotesRateResult(Answered):
    """A successful notes-rate answer, typed."""

    user_id: str
    scope: Scope
    data: NotesRateData
    """The typed ``data``; ``data.raw`` is the JSON object exactly as received."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointResult(Answered):
    """A successful answer of any endpoint, ``data`` as received (``call``)."""

    endpoint: str
    user_id: str
    params: dict[str, str]
    """Every query parameter sent but the token (defaults applied, so the scope is explicit)."""
    data: dict[str, Any]
    """The JSON object exactly as received (keys, order and types)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SiblingResult(Answered, Generic[M]):
    """A successful answer of a sibling endpoint, typed (``Client.profile``, ``.data_summary``,
    ``.fans_summary``, ``.fans_profile``, ``.fans_history``). Annotate with the aliases below
    (``ProfileResult``...); the client builds them."""

    endpoint: str
    user_id: str
    params: dict[str, str]
    """Every query parameter sent but the token (defaults applied, so the scope is explicit)."""
    data: M
    """The typed ``data`` (``contract.siblings``); ``data.raw`` is the JSON object exactly as
    received."""


ProfileResult = SiblingResult[BloggerProfileData]
DataSummaryResult = SiblingResult[DataSummaryData]
FansSummaryResult = SiblingResult[FansSummaryData]
FansProfileResult = SiblingResult[FansProfileData]
FansHistoryResult = SiblingResult[FansHistoryData]


@dataclass(frozen=True, slots=True)
class Call:
    """One logical call: its retries reuse its Idempotency-Key, so the server charges it once."""

    query: Query
    idempotency_key: str

    @property
    def user_id(self) -> str:
        return self.query.user_id

    @property
    def scope(self) -> Scope:
        """The notes-rate scope (notes-rate calls only)."""
        return self.query.scope

    @property
    def path(self) -> str:
        return self.query.endpoint.path

    @property
    def params(self) -> dict[str, str]:
        """Query parameters without the token (the transport adds it on the wire)."""
        return self.query.api_params()

    @property
    def headers(self) -> dict[str, str]:
        return {C.IDEMPOTENCY_HEADER: self.idempotency_key, "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class HistoryCall(Call):
    """A call of the history extension (``GET /api/history``): the query names the endpoint,
    creator and scope whose stored collections are read."""

    since: str | None = None
    fields: tuple[str, ...] | None = None

    @property
    def path(self) -> str:
        return HISTORY_PATH

    @property
    def params(self) -> dict[str, str]:
        params = {"endpoint": self.query.endpoint.name, **self.query.api_params()}
        if self.since is not None:
            params["since"] = self.since
        if self.fields is not None:
            params["fields"] = ",".join(self.fields)
        return params


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPoint:
    """One stored collection: when (``recordTime``), from which source, and its ``data`` (the
    whole object, or the fields asked for)."""

    record_time: str
    source: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryResult(Answered):
    """A successful history answer: every collection of one creator and scope, oldest first.
    ``record_time`` is the newest point's (None without points)."""

    endpoint: str
    user_id: str
    scope: dict[str, str]
    """The scope as the server read it (``endpoint`` and the endpoint's parameters)."""
    points: list[HistoryPoint]


def _parse_filter(enum: type[E], value: E | str | None, param: str, default: E) -> E:
    if value is None:
        return default
    if isinstance(value, enum):
        return value
    allowed = ", ".join(member.value for member in enum)
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
        try:
            return enum[value]
        except KeyError:
            pass
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise InvalidParams(f"{param} must be one of {allowed}; got {shown}.", param=param)


def checked_base_url(base_url: str) -> str:
    """Scheme, host and an optional path prefix; never a query string or ``user:password@``."""
    problem = base_url_problem(base_url)
    if problem is not None:
        raise ConfigurationError(problem)
    return base_url.rstrip("/")


def is_plain_http(base_url: str) -> bool:
    url = httpx.URL(base_url)
    return url.scheme == "http" and url.host not in C.LOOPBACK_HOSTS


class BaseClient:
    """Settings and every decision of the client; subclasses do the I/O."""

    _auto_choices: ClassVar[dict[tuple[str, ...], tuple[str, float]]] = {}
    """``env="auto"`` choices, per candidate set: (base URL, expiry on the client's clock)."""
    _auto_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str | None,
        env: C.Environment | str | None,
        timeout: float,
        max_retries: int,
        retry_timeouts: bool | None,
        auto_candidates: tuple[str, ...],
        auto_cache_seconds: float,
        clock: Callable[[], float],
        endpoints: Registry = ENDPOINTS,
    ) -> None:
        self._token = self._resolve_token(token)
        self._endpoints = endpoints
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 seconds; got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0; got {max_retries!r}")
        if retry_timeouts not in (None, True, False):
            raise ConfigurationError("retry_timeouts must be None, True or False")
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.retry_timeouts = retry_timeouts
        self.auto_cache_seconds = float(auto_cache_seconds)
        self._clock = clock
        self._honours_keys: bool = False
        self._warned_plain_http = False
        self.auto_candidates = tuple(checked_base_url(url) for url in auto_candidates)
        self._base_url: str | None = None
        self.env: str
        if base_url is not None:
            self.env = "custom"
            self._use_base_url(checked_base_url(base_url))
        elif env is not None:
            self._set_env(env)
        elif os.environ.get(C.BASE_URL_ENV_VAR):
            self.env = "custom"
            self._use_base_url(checked_base_url(os.environ[C.BASE_URL_ENV_VAR]))
        else:
            self._set_env(C.DEFAULT_ENV)

    # --- settings -------------------------------------------------------------------------------

    @staticmethod
    def _resolve_token(token: str | None) -> str:
        if token is None:
            token = os.environ.get(C.TOKEN_ENV_VAR)
        if not token:
            raise ConfigurationError(
                f"No API token: pass token=... or set the {C.TOKEN_ENV_VAR} environment variable."
            )
        if not isinstance(token, str) or token != token.strip() or any(c.isspace() for c in token):
            raise ConfigurationError("The API token must be a string without whitespace.")
        return token

    def _set_env(self, env: str) -> None:
        if env == "auto":
            self.env = "auto"
            return
        if env not in C.ENVIRONMENTS:
            raise ConfigurationError(
                f"env must be one of global, cn, auto (or pass base_url=...); got {env!r}"
            )
        self.env = env
        self._use_base_url(C.ENVIRONMENTS[env], stacklevel=5)

    def _use_base_url(self, base_url: str, *, stacklevel: int = 4) -> None:
        """Use ``base_url``; ``stacklevel`` points the warning at the caller's line."""
        self._base_url = base_url
        if is_plain_http(base_url) and not self._warned_plain_http:
            self._warned_plain_http = True
            warnings.warn(
                f"The API base URL {base_url} is plain HTTP: the token travels unencrypted in "
                "the query string. Prefer an https:// base URL.",
                PlainHTTPWarning,
                stacklevel=stacklevel,
            )

    @property
    def base_url(self) -> str | None:
        """The base URL in use; None while ``env="auto"`` has not chosen yet."""
        return self._base_url

    @property
    def honours_idempotency_keys(self) -> bool:
        """Whether the server was seen to honour Idempotency-Key (ours does; the hosted API is
        not known to), which makes retrying a timed-out call safe."""
        return self._honours_keys

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, env={self.env!r})"

    # --- env="auto" -----------------------------------------------------------------------------

    def _cached_choice(self) -> str | None:
        with self._auto_lock:
            found = self._auto_choices.get(self.auto_candidates)
        if found is None:
            return None
        url, expires = found
        return url if self._clock() < expires else None

    def _choose(self, timings: Mapping[str, float]) -> str:
        """Pick the fastest candidate that answered, and remember it for a while."""
        if not timings:
            raise APIConnectionError(
                "env='auto': no candidate base URL answered: " + ", ".join(self.auto_candidates),
                request_sent=False,
            )
        fastest = min(self.auto_candidates, key=lambda url: timings.get(url, float("inf")))
        with self._auto_lock:
            self._auto_choices[self.auto_candidates] = (
                fastest,
                self._clock() + self.auto_cache_seconds,
            )
        self._use_base_url(fastest, stacklevel=5)
        return fastest

    @classmethod
    def forget_auto_choices(cls) -> None:
        """Drop every remembered ``env="auto"`` choice (the next call probes again)."""
        with cls._auto_lock:
            cls._auto_choices.clear()

    @staticmethod
    def probe_url(base_url: str) -> str:
        """The probe: the endpoint without token nor parameters. It costs nothing: a request
        without a token is never billed (and ours answers 400 before even looking for one), and
        no secret is sent to a host that is only being timed."""
        return base_url + NOTES_RATE_PATH

    # --- a call ---------------------------------------------------------------------------------

    def _prepare(
        self,
        user_id: str,
        *,
        scope: Scope | None,
        business: Business | str | None,
        note_type: NoteType | str | None,
        date_type: DateType | str | None,
        advertise_switch: AdvertiseSwitch | str | None,
        idempotency_key: str | None,
    ) -> Call:
        """Validate everything before anything is sent: a bad value raises InvalidParams."""
        if not isinstance(user_id, str):
            raise InvalidParams(
                "user_id must be a str of 24 lowercase hex characters; "
                f"got {type(user_id).__name__}.",
                param="user_id",
            )
        try:
            checked_user = parse_user_id(user_id, param="user_id")
        except ParamError as error:
            raise InvalidParams(error.message, param=error.param) from None
        filters = (business, note_type, date_type, advertise_switch)
        if scope is not None:
            if any(value is not None for value in filters):
                raise InvalidParams(
                    "pass either scope= or the four filters (business, note_type, date_type, "
                    "advertise_switch), not both.",
                    param="scope",
                )
            if not isinstance(scope, Scope):
                raise InvalidParams("scope must be a pgy_metrics.contract.Scope.", param="scope")
        else:
            scope = Scope(
                business=_parse_filter(Business, business, "business", Business.DAILY_NOTE),
                note_type=_parse_filter(
                    NoteType, note_type, "note_type", NoteType.PHOTO_TEXT_AND_VIDEO
                ),
                date_type=_parse_filter(DateType, date_type, "date_type", DateType.DAY_30),
                advertise_switch=_parse_filter(
                    AdvertiseSwitch, advertise_switch, "advertise_switch", AdvertiseSwitch.ALL
                ),
            )
        return Call(notes_query(checked_user, scope), self._checked_key(idempotency_key))

    def _prepare_call(
        self,
        endpoint: str,
        user_id: str,
        params: Mapping[str, object],
        idempotency_key: str | None,
    ) -> Call:
        """A call of any registered endpoint by name, its parameters by their API names
        (``dateType="DAY_90"``); validated before anything is sent (``InvalidParams``)."""
        spec = self._endpoints.get(endpoint) if isinstance(endpoint, str) else None
        if spec is None:
            raise InvalidParams(
                f"endpoint must be one of {', '.join(self._endpoints)}; got {endpoint!r}.",
                param="endpoint",
            )
        if not isinstance(user_id, str):
            raise InvalidParams(
                f"user_id must be a str of 24 lowercase hex characters; "
                f"got {type(user_id).__name__}.",
                param="user_id",
            )
        try:
            query = spec.query(
                parse_user_id(user_id, param="user_id"),
                **{name: str(value) for name, value in params.items()},
            )
        except ParamError as error:
            raise InvalidParams(error.message, param=error.param) from None
        return Call(query, self._checked_key(idempotency_key))

    def _prepare_typed(
        self,
        endpoint: str,
        user_id: str,
        filters: Mapping[str, StrEnum | str | None],
        idempotency_key: str | None,
    ) -> Call:
        """A call of a typed method: its filters by their Python names (``date_type``), each
        checked against its enum (the message names the Python argument) and sent explicitly."""
        spec = self._endpoints.get(endpoint)
        params: dict[str, str] = {}
        for param in spec.params if spec is not None else ():
            name = snake_case(param.name)
            params[param.name] = _parse_filter(
                param.enum, filters.get(name), name, param.default
            ).value
        return self._prepare_call(endpoint, user_id, params, idempotency_key)

    def _prepare_history(
        self,
        user_id: str,
        endpoint: str,
        since: date | datetime | str | None,
        fields: Iterable[str] | None,
        params: Mapping[str, object],
    ) -> HistoryCall:
        """A history call, validated before anything is sent (``InvalidParams``)."""
        call = self._prepare_call(endpoint, user_id, params, None)
        if isinstance(since, date):  # a datetime is a date too
            since = since.isoformat()
        try:
            parse_since(since, UTC, param="since")
            chosen = parse_fields(",".join(fields) if fields is not None else None)
        except ParamError as error:
            raise InvalidParams(error.message, param=error.param) from None
        return HistoryCall(call.query, call.idempotency_key, since=since or None, fields=chosen)

    def _parse_history(
        self, call: Call, response: httpx.Response, retries_taken: int
    ) -> HistoryResult:
        """The result of a code-0 history answer, or the error of any other answer."""
        body, data, request_id = self._envelope(response)
        points = data.get("points")
        scope = data.get("scope")
        if not isinstance(points, list) or not isinstance(scope, dict):
            raise ProtocolError(
                "The API answered code 0 with history data without points and scope.",
                status_code=response.status_code,
                request_id=request_id,
                code=0,
            )
        try:
            typed = [
                HistoryPoint(
                    record_time=str(point["recordTime"]),
                    source=str(point["source"]),
                    data=dict(point["data"]),
                )
                for point in points
            ]
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(
                "The API answered code 0 with a history point that lacks recordTime, source "
                "or a data object.",
                status_code=response.status_code,
                request_id=request_id,
                code=0,
            ) from None
        return HistoryResult(
            endpoint=call.query.endpoint.name,
            user_id=call.user_id,
            scope={str(k): str(v) for k, v in scope.items()},
            points=typed,
            **_how_it_came(call, response, body, request_id, retries_taken),
        )

    @staticmethod
    def _checked_key(idempotency_key: str | None) -> str:
        if idempotency_key is None:
            return uuid.uuid4().hex
        problem = idempotency_key_problem(idempotency_key, name="idempotency_key")
        if problem is not None:
            raise InvalidParams(problem, param="idempotency_key")
        return idempotency_key

    def _scrub(self, text: str) -> str:
        """Text safe to show: the token and any ``token=...`` removed."""
        return scrub(text, self._token)

    def _transport_error(self, error: httpx.TransportError, base_url: str) -> APIConnectionError:
        """Our error for an httpx failure: what happened and where (the base URL, which never
        holds a token: ``checked_base_url`` refuses a query string or ``user:password@``)."""
        never_sent = isinstance(
            error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        )
        kind = type(error).__name__
        detail = self._scrub(str(error))[:_EXCERPT_CHARS] or kind
        if isinstance(error, httpx.TimeoutException):
            what = "could not connect in time" if never_sent else "gave no answer in time"
            return APITimeoutError(
                f"The API at {base_url} {what} (timeout {self.timeout:g} s; {kind}).",
                request_sent=not never_sent,
            )
        return APIConnectionError(
            f"The connection to the API at {base_url} failed ({kind}: {detail}).",
            request_sent=not never_sent,
        )

    def _observe(self, response: httpx.Response, request_id: str | None) -> None:
        """Learn from any answer whether this server honours Idempotency-Key.

        Ours says so by headers no other server sends together: ``X-Pgy-Source``,
        ``Idempotent-Replayed``, or an ``X-Request-Id`` equal to the envelope's ``requestId``.
        """
        headers = response.headers
        if (
            C.SOURCE_HEADER in headers
            or C.REPLAYED_HEADER in headers
            or (request_id and headers.get(C.REQUEST_ID_HEADER) == request_id)
        ):
            self._honours_keys = True

    def _protocol_error(self, response: httpx.Response, what: str) -> ProtocolError:
        content_type = response.headers.get("content-type", "no content type")
        excerpt = " ".join(self._scrub(response.text[:400]).split())[:_EXCERPT_CHARS]
        shown = f"; body starts {excerpt!r}" if excerpt else ""
        return ProtocolError(
            f"The API did not answer an envelope: HTTP {response.status_code} "
            f"({content_type}) {what}{shown}.",
            status_code=response.status_code,
        )

    def _observe_probe(self, response: httpx.Response) -> None:
        try:
            body = json.loads(response.content)
        except ValueError:
            return
        if isinstance(body, dict):
            request_id = body.get("requestId")
            self._observe(response, request_id if isinstance(request_id, str) else None)

    def _envelope(
        self, response: httpx.Response
    ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
        """``(envelope, data, request id)`` of a code-0 answer, or the error of any other."""
        if not response.content.strip():
            raise self._protocol_error(response, "with an empty body")
        try:
            body = json.loads(response.content)
        except ValueError:
            content_type = response.headers.get("content-type", "")
            what = "with an HTML page" if "html" in content_type else "with invalid JSON"
            raise self._protocol_error(response, what) from None
        if not isinstance(body, dict) or "code" not in body:
            raise self._protocol_error(response, "with JSON that is not an envelope (no code)")
        code = body["code"]
        if not isinstance(code, int) or isinstance(code, bool):
            raise self._protocol_error(response, "with a non-integer code")
        raw_request_id = body.get("requestId")
        request_id = raw_request_id if isinstance(raw_request_id, str) else None
        self._observe(response, request_id)
        if code != 0:
            message = body.get("message")
            text = self._scrub(message) if isinstance(message, str) and message else None
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise error_for_code(code, text, request_id=request_id, retry_after=retry_after)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProtocolError(
                f"The API answered code 0 with data of type {type(data).__name__}, not an object.",
                status_code=response.status_code,
                request_id=request_id,
                code=0,
            )
        return body, data, request_id

    def _parse(self, call: Call, response: httpx.Response, retries_taken: int) -> NotesRateResult:
        """The typed result of a code-0 notes-rate answer, or the error of any other answer."""
        body, data, request_id = self._envelope(response)
        typed = _validated(NotesRateData.from_raw, data, response, request_id)
        return NotesRateResult(
            user_id=call.user_id,
            scope=call.scope,
            data=typed,
            **_how_it_came(call, response, body, request_id, retries_taken),
        )

    def _parse_any(
        self, call: Call, response: httpx.Response, retries_taken: int
    ) -> EndpointResult:
        """The result of a code-0 answer of any endpoint (``data`` untouched), or the error."""
        body, data, request_id = self._envelope(response)
        return EndpointResult(
            endpoint=call.query.endpoint.name,
            user_id=call.user_id,
            params=call.params,
            data=data,
            **_how_it_came(call, response, body, request_id, retries_taken),
        )

    def _typed(self, model: type[M]) -> Callable[[Call, httpx.Response, int], SiblingResult[M]]:
        """The parser of a sibling endpoint's answers into ``model`` (raw JSON kept)."""

        def parse(call: Call, response: httpx.Response, retries_taken: int) -> SiblingResult[M]:
            body, data, request_id = self._envelope(response)
            return SiblingResult(
                endpoint=call.query.endpoint.name,
                user_id=call.user_id,
                params=call.params,
                data=_validated(model.from_raw, data, response, request_id),
                **_how_it_came(call, response, body, request_id, retries_taken),
            )

        return parse

    # --- the retry decision table ---------------------------------------------------------------

    def _may_retry_unsent_answer(self) -> bool:
        """May a call that may have run (and been billed) be sent again?"""
        if self.retry_timeouts is not None:
            return self.retry_timeouts
        return self._honours_keys

    def should_retry(self, error: Exception) -> bool | float:
        """stamina's backoff hook: False (raise), True (exponential backoff) or seconds to wait.

        | outcome                                   | retried?                                   |
        |-------------------------------------------|--------------------------------------------|
        | 301, 500                                  | yes, exponential backoff with jitter       |
        | 302                                       | yes, after Retry-After (<= MAX_RETRY_AFTER)|
        | 100, 303, 400, 600, 601, unknown codes    | never                                      |
        | connection never made (refused, connect   | yes, backoff (nothing was sent)            |
        |   timeout)                                |                                            |
        | read timeout, broken connection, 502/503/ | only if the server honours Idempotency-Key |
        |   504 gateway page                        |   or retry_timeouts=True                   |
        | any other non-envelope answer             | never                                      |
        """
        if isinstance(error, RateLimited):
            wait = error.retry_after if error.retry_after is not None else C.DEFAULT_RETRY_AFTER
            return False if wait > C.MAX_RETRY_AFTER else max(wait, 0.0)
        if isinstance(error, CollectionFailed | ServerError):
            return True
        if isinstance(error, APIError):
            return False
        if isinstance(error, APIConnectionError):
            return True if not error.request_sent else self._may_retry_unsent_answer()
        if isinstance(error, ProtocolError):
            return error.status_code in C.GATEWAY_STATUSES and self._may_retry_unsent_answer()
        return False

    def _retry_options(self) -> dict[str, Any]:
        return {
            "on": self.should_retry,
            "attempts": self.max_retries + 1,
            "timeout": None,
            "wait_initial": C.INITIAL_RETRY_DELAY,
            "wait_max": C.MAX_RETRY_DELAY,
            "wait_jitter": C.RETRY_JITTER,
        }


def _how_it_came(
    call: Call,
    response: httpx.Response,
    body: dict[str, Any],
    request_id: str | None,
    retries_taken: int,
) -> dict[str, Any]:
    """The ``Answered`` fields of a code-0 answer."""
    record_time = body.get("recordTime")
    return {
        "record_time": record_time if isinstance(record_time, str) else None,
        "request_id": request_id,
        "source": response.headers.get(C.SOURCE_HEADER),
        "retries_taken": retries_taken,
        "replayed": response.headers.get(C.REPLAYED_HEADER, "").lower() == "true",
        "idempotency_key": call.idempotency_key,
        "envelope": body,
        "charged": _charged(response.headers.get(C.CHARGED_HEADER)),
    }


def _charged(header: str | None) -> int | None:
    """``X-Pgy-Charged`` as credits; None when absent or not a whole number >= 0 (never trust a
    header to spend from: a value we cannot read is as good as no value)."""
    if header is None:
        return None
    text = header.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _validated(
    from_raw: Callable[[dict[str, Any]], T],
    data: dict[str, Any],
    response: httpx.Response,
    request_id: str | None,
) -> T:
    """The typed view of a code-0 ``data``, or a ``ProtocolError`` naming the fields that break
    the contract (not their values: they may be long or personal)."""
    try:
        return from_raw(data)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors()[:5])
        raise ProtocolError(
            f"The API answered code 0 with data that does not match the contract "
            f"(fields: {fields}).",
            status_code=response.status_code,
            request_id=request_id,
            code=0,
        ) from None


def attach_retries(error: PgyError, retries_taken: int) -> PgyError:
    error.retries_taken = retries_taken
    return error


def monotonic() -> float:
    return time.monotonic()
