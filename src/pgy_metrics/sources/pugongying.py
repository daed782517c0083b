"""The ``pugongying`` source: collect from Pugongying itself with the operator's brand accounts.

One call is ``GET {base_url}/api/solar/kol/dataV3/notesRate?userId=..&business=..&noteType=..
&dateType=..&advertiseSwitch=..`` with a logged-in account's cookies and the headers the web page
sends (``contract.md``, "Upstream call"), plus whatever the operator's signer adds
(``sources.signing``).

The account pool:

- **Rotation**: round robin over the usable accounts (ACTIVE, or COOLING_DOWN whose rest is over),
  preferring one whose pacing allows a request right now. DISABLED accounts are never used.
- **Pacing**: each account has its own leaky bucket (aiolimiter), ``requests_per_second`` with a
  burst of ``burst``: a fetch waits for its account's turn rather than exceed it.
- **Shared by a cluster** (``BuildContext.pool``, a ``sources.pool.SharedPool``; the server gives
  one on Redis with ``PGY_REDIS_URL``): pacing is the cluster's (each call takes its account's
  next slot, ``1 / requests_per_second`` s apart plus a small margin, and a last check of the
  recent sends keeps ``ceil(requests_per_second)`` calls or fewer in any second), and rests,
  disablements, strikes, calls in flight and the last failure label are the cluster's, read
  before every fetch. Rotation then prefers the account with the fewest calls in flight in the
  cluster (counted from the slot's reservation: the fewest in flight is the earliest free
  slot). If the shared state cannot be reached, a fetch fails at once with ``PoolUnavailable``
  (code 301): no call is made that the cluster's pace cannot vouch for.
- **Classification** of every answer (``classify``):

  =====================  ============================================  ==========================
  answer                 examples                                      effect
  =====================  ============================================  ==========================
  session lost           HTTP 401, code -100/902/903/906, an HTML      account DISABLED, next
                         page or a redirect instead of JSON            account
  risk control           code 300013, HTTP 406, 429, 461               account COOLING_DOWN for
                                                                       ``base * 2**(n-1)`` s
                                                                       (capped), next account
  transient              timeout, network error, HTTP 5xx, a body      retried on the same
                         that is not JSON                              account (stamina,
                                                                       bounded), then next
  rejected               another code, another 4xx                     next account
  malformed data         code 0 but ``data`` not an object with the    ``MalformedPayload`` at
                         endpoint's marker key (``noteNumber``)        once (account unharmed)
  refused                a body over ``max_body_bytes`` (or a gzip     ``UpstreamUnavailable`` at
                         bomb), an encoding we cannot decode, a        once naming the label
                         redirect to another site (never followed),    (account unharmed)
                         a TLS failure
  =====================  ============================================  ==========================

Every attempt is read by ``sources.http_limits.read_capped``: ``timeout_seconds`` bounds the whole
attempt (connect, send, wait and every byte of the body, so a drip cannot hold it), the body is
streamed and refused past ``max_body_bytes`` (decoded, so a gzip bomb is stopped early).

- **Cookie files re-read** (``sources.cookie_files``): an account whose cookies come from a
  file keeps watching it. Before an account is used (at most once a second) the file's stamp is
  compared, and on a reload signal (``pgy accounts reload``) every file is read again; cookies
  with a new digest are a new login, which clears the account's disablement (in the cluster
  too: a disablement holds only for the cookies that lost their session).
- **Incidents** (``sources.incidents``): a lost session or a risk-control answer is reported to
  the ``IncidentSink`` with the key of its incident, so that the operator is told once.
- When no usable account is left: ``SessionLost`` if every account is logged out,
  ``RiskControlled`` if the others are resting, else ``UpstreamUnavailable`` (``MalformedPayload``
  if every failure was a malformed body). The message counts accounts and never names a cookie.

Every attempt is reported to the ``OutcomeSink``. Cookie values are ``SecretStr`` from the moment
an account is built: they appear in no repr, log record, error or ``AccountStatus``.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import importlib.util
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import httpx
import stamina
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from pgy_metrics.contract.endpoints import (
    BLOGGER_PROFILE,
    DATA_SUMMARY,
    FANS_HISTORY,
    FANS_PROFILE,
    FANS_SUMMARY,
    NOTES_RATE,
    UPSTREAM_NOTES_RATE_PATH,
    Query,
    base_url_problem,
)
from pgy_metrics.contract.errors import ConfigError
from pgy_metrics.sources.base import (
    AccountState,
    AccountStatus,
    CollectionError,
    EndpointNotCollected,
    MalformedPayload,
    Outcome,
    OutcomeSink,
    RiskControlled,
    SessionLost,
    UpstreamUnavailable,
)
from pgy_metrics.sources.cookie_files import (
    CHECK_INTERVAL_SECONDS,
    FileStamp,
    ReloadSignal,
    stamp_of,
)
from pgy_metrics.sources.http_limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_BYTES_LIMIT,
    MIN_BODY_BYTES_LIMIT,
    AnswerRefused,
    read_capped,
    redirect_target,
)
from pgy_metrics.sources.incidents import AccountIncident, IncidentSink
from pgy_metrics.sources.pool import PoolUnavailable, SharedAccount, SharedPool
from pgy_metrics.sources.signing import (
    RequestSigner,
    SignerError,
    check_signer_path,
    load_signer,
    sign,
)
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec, read_secret

__all__ = [
    "COOKIE_NAMES",
    "DEFAULT_BASE_URL",
    "KIND",
    "LOGIN_COOKIE_NAMES",
    "AccountSpec",
    "CookieReload",
    "PugongyingAccount",
    "PugongyingConfig",
    "PugongyingConfigError",
    "PugongyingSource",
    "PugongyingSpec",
    "SignerError",
    "Verdict",
    "VerdictKind",
    "classify",
]

logger = logging.getLogger(__name__)

SOURCE_NAME = "pugongying"
DEFAULT_BASE_URL = "https://pgy.xiaohongshu.com"
WEB_ORIGIN = "https://pgy.xiaohongshu.com"
"""The site whose page makes the call: the Referer points here whatever ``base_url`` is."""
REFERER_PATH = "/solar/pre-trade/blogger-detail/"


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """How one of our endpoints is asked of Pugongying: its path (``{userId}`` is filled in when
    the creator id is part of the path, else it is sent as the ``userId`` parameter); the
    endpoint's parameters are sent as Pugongying's numbers (``Query.upstream_params``).
    ``marker`` is a key every real ``data`` of the endpoint has: a code-0 answer without it is a
    malformed payload (an error page or another endpoint's data), never stored as an answer."""

    path: str
    marker: str = "noteNumber"

    def url(self, base_url: str, query: Query) -> str:
        return base_url + self.path.replace("{userId}", query.user_id)

    def params(self, query: Query) -> dict[str, str]:
        params = {} if "{userId}" in self.path else {"userId": query.user_id}
        params.update({name: str(value) for name, value in query.upstream_params().items()})
        return params


UPSTREAM_REQUESTS: dict[str, UpstreamRequest] = {
    NOTES_RATE: UpstreamRequest(UPSTREAM_NOTES_RATE_PATH),
    # The five siblings as the blogger-detail page asks them (docs/api.md): the profile, fans
    # profile and fans history carry the id in the path, the two dataV3 summaries in the query.
    BLOGGER_PROFILE: UpstreamRequest("/api/solar/cooperator/user/blogger/{userId}", "userId"),
    DATA_SUMMARY: UpstreamRequest("/api/solar/kol/dataV3/dataSummary", "readMedian"),
    FANS_SUMMARY: UpstreamRequest("/api/solar/kol/dataV3/fansSummary", "fansNum"),
    FANS_PROFILE: UpstreamRequest("/api/solar/kol/data/{userId}/fans_profile", "dateKey"),
    FANS_HISTORY: UpstreamRequest("/api/solar/kol/data/{userId}/fans_overall_new_history", "list"),
}
"""Each endpoint this source collects, by endpoint name; any other is ``EndpointNotCollected``.
Every parameter is sent explicitly as its number (``business=0``, ``dateType=1&increaseType=1``):
in 2025 upstream answered HTTP 400 when one was left out."""

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ACCEPT = "application/json, text/plain, */*"
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"

COOKIE_NAMES: tuple[str, ...] = (
    "access-token-pgy.xiaohongshu.com",
    "solar.beaker.session.id",
    "customer-sso-sid",
    "x-user-id-pgy.xiaohongshu.com",
    "a1",
    "webId",
)
"""The cookies of a logged-in Pugongying brand account (``contract.md``); others are allowed."""
LOGIN_COOKIE_NAMES: tuple[str, ...] = COOKIE_NAMES[:3]
"""An account needs at least one of these: they carry the login itself."""

DEFAULT_REQUESTS_PER_SECOND = 0.5
"""Per account: one request every two seconds, a pace a person clicking through pages reaches."""
DEFAULT_BURST = 1
DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_RETRY_ATTEMPTS = 2
"""Attempts on one account for a transient failure (timeout, 5xx, non-JSON) before the next."""
DEFAULT_RETRY_WAIT_INITIAL_SECONDS = 0.5
DEFAULT_RETRY_WAIT_MAX_SECONDS = 5.0
DEFAULT_RETRY_WAIT_JITTER_SECONDS = 0.5
DEFAULT_COOLDOWN_BASE_SECONDS = 300.0
"""First rest after risk control; each further strike without a success in between doubles it."""
DEFAULT_COOLDOWN_MAX_SECONDS = 6 * 3600.0
SESSION_INCIDENT_SECONDS = 24 * 3600.0
"""How long a lost session is one incident for the same cookies: as long as the cluster keeps
the account disabled without a new login (``service.account_pool.DISABLED_SECONDS``)."""

SESSION_LOST_STATUSES = frozenset({401})
SESSION_LOST_CODES = frozenset({-100, 902, 903, 906})
RISK_CONTROL_STATUSES = frozenset({406, 429, 461})
RISK_CONTROL_CODES = frozenset({300013})

PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h"})
MAX_ACCOUNT_NAME = 64
MAX_UPSTREAM_MESSAGE = 80
_SEPARATORS = frozenset(' \t\r\n\0;,="')


class PugongyingConfigError(ConfigError):
    """The configuration has problems; ``problems`` lists every one (no secret in any)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(
            "invalid pugongying configuration: " + "; ".join(problems), problems=problems
        )


def _proxy_label(proxy: str | None) -> str | None:
    """A proxy URL without its user and password, safe to show."""
    if proxy is None:
        return None
    try:
        url = httpx.URL(proxy)
    except Exception:  # a malformed URL is reported by the config check, never shown
        return "<invalid proxy URL>"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


@dataclass(frozen=True, slots=True)
class PugongyingAccount:
    """One logged-in Pugongying brand account.

    ``cookies`` maps cookie names (``COOKIE_NAMES``, whichever the browser holds) to values; plain
    strings are wrapped into ``SecretStr`` at once. ``proxy`` (``http://``, ``https://``,
    ``socks5://``, may hold a user and password) routes this account's requests; it is shown
    without credentials. ``requests_per_second`` overrides the source's pacing for this account.
    """

    name: str
    cookies: Mapping[str, SecretStr | str] = field(hash=False)
    proxy: str | None = field(default=None, hash=False)
    requests_per_second: float | None = None
    cookies_file: Path | None = field(default=None, hash=False, compare=False)
    """The file the cookies were read from: re-read when it changes (``sources.cookie_files``)."""

    def __post_init__(self) -> None:
        wrapped = {
            str(name): value if isinstance(value, SecretStr) else SecretStr(value)
            for name, value in self.cookies.items()
        }
        object.__setattr__(self, "cookies", MappingProxyType(wrapped))

    def __repr__(self) -> str:
        return (
            f"PugongyingAccount(name={self.name!r}, cookies=[{', '.join(self.cookies)}], "
            f"proxy={_proxy_label(self.proxy)!r}, requests_per_second={self.requests_per_second!r})"
        )

    def cookie_values(self) -> dict[str, str]:
        """The cookie values in clear, for the request only."""
        return {name: _reveal(value) for name, value in self.cookies.items()}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookie_values().items())

    def secret_values(self) -> list[str]:
        """Every secret this account holds (cookie values, proxy password), for scrubbing text."""
        values = list(self.cookie_values().values())
        if self.proxy:
            try:
                url = httpx.URL(self.proxy)
            except Exception:
                values.append(self.proxy)
            else:
                values += [part for part in (url.username, url.password) if part]
        return [value for value in values if len(value) >= 3]

    def problems(self) -> list[str]:
        """What is wrong with this account, each problem naming it (never a value)."""
        found: list[str] = []
        label = f"account {self.name!r}"
        if not self.name or len(self.name) > MAX_ACCOUNT_NAME or not self.name.isprintable():
            found.append(f"{label}: a name must be 1 to {MAX_ACCOUNT_NAME} printable characters")
        if not any(name in self.cookies for name in LOGIN_COOKIE_NAMES):
            found.append(
                f"{label} has none of the login cookies ({', '.join(LOGIN_COOKIE_NAMES)}): "
                "copy them from a logged-in browser"
            )
        for name, secret in self.cookies.items():
            value = _reveal(secret)
            if not name or any(ch in _SEPARATORS for ch in name) or not name.isprintable():
                found.append(f"{label}: cookie name {name!r} is not a valid cookie name")
            elif not isinstance(value, str) or not value:
                found.append(f"{label}: cookie {name!r} has an empty or non-text value")
            elif ";" in value or not value.isprintable():
                found.append(
                    f"{label}: cookie {name!r} has a value with ';', a line break or a "
                    "control character (copy the value only)"
                )
        if self.proxy is not None:
            found += _proxy_problems(label, self.proxy)
        if self.requests_per_second is not None and not self.requests_per_second > 0:
            found.append(f"{label}: requests_per_second must be > 0")
        return found


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _proxy_problems(label: str, proxy: str) -> list[str]:
    try:
        url = httpx.URL(proxy)
    except Exception:
        return [f"{label}: proxy is not a URL"]
    if url.scheme not in PROXY_SCHEMES or not url.host:
        return [
            f"{label}: proxy must be a URL with a host and one of the schemes "
            f"{', '.join(sorted(PROXY_SCHEMES))}; got {_proxy_label(proxy)!r}"
        ]
    if url.scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
        return [f"{label}: a socks5 proxy needs the 'socksio' package (pip install 'httpx[socks]')"]
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class PugongyingConfig:
    """Everything the ``pugongying`` source needs; the server fills it from its settings file.

    Building one checks every field and raises ``PugongyingConfigError`` listing every problem.
    """

    accounts: Sequence[PugongyingAccount]
    base_url: str = DEFAULT_BASE_URL
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    """Pacing of each account (not of the whole pool)."""
    burst: int = DEFAULT_BURST
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    retry_wait_initial_seconds: float = DEFAULT_RETRY_WAIT_INITIAL_SECONDS
    retry_wait_max_seconds: float = DEFAULT_RETRY_WAIT_MAX_SECONDS
    retry_wait_jitter_seconds: float = DEFAULT_RETRY_WAIT_JITTER_SECONDS
    cooldown_base_seconds: float = DEFAULT_COOLDOWN_BASE_SECONDS
    cooldown_max_seconds: float = DEFAULT_COOLDOWN_MAX_SECONDS
    user_agent: str = DEFAULT_USER_AGENT
    signer: str | None = None
    """Import path ``"package.module:callable"`` of the request signer; None adds no header."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest answer read (after decompression); a larger one is refused."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "accounts", tuple(self.accounts))
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        problems = self.problems()
        if problems:
            raise PugongyingConfigError(problems)

    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.accounts:
            found.append("accounts: at least one logged-in account is needed")
        names = [account.name for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            found.append(f"accounts: names must be unique; repeated: {', '.join(duplicates)}")
        for account in self.accounts:
            found += account.problems()
        if (problem := base_url_problem(self.base_url)) is not None:
            found.append(problem)
        positive = {
            "requests_per_second": self.requests_per_second,
            "timeout_seconds": self.timeout_seconds,
            "cooldown_base_seconds": self.cooldown_base_seconds,
        }
        found += [
            f"{name} must be > 0; got {value!r}"
            for name, value in positive.items()
            if not value > 0
        ]
        non_negative = {
            "retry_wait_initial_seconds": self.retry_wait_initial_seconds,
            "retry_wait_max_seconds": self.retry_wait_max_seconds,
            "retry_wait_jitter_seconds": self.retry_wait_jitter_seconds,
        }
        found += [
            f"{name} must be >= 0; got {value!r}"
            for name, value in non_negative.items()
            if not value >= 0
        ]
        if self.burst < 1:
            found.append(f"burst must be >= 1; got {self.burst!r}")
        if not MIN_BODY_BYTES_LIMIT <= self.max_body_bytes <= MAX_BODY_BYTES_LIMIT:
            found.append(
                f"max_body_bytes must be between {MIN_BODY_BYTES_LIMIT} and "
                f"{MAX_BODY_BYTES_LIMIT}; "
                f"got {self.max_body_bytes!r}"
            )
        if self.retry_attempts < 1:
            found.append(f"retry_attempts must be >= 1; got {self.retry_attempts!r}")
        if self.cooldown_max_seconds < self.cooldown_base_seconds:
            found.append("cooldown_max_seconds must be >= cooldown_base_seconds")
        if not self.user_agent or not self.user_agent.isprintable():
            found.append("user_agent must be a non-empty line of text")
        if self.signer is not None:
            problem = check_signer_path(self.signer)
            if problem:
                found.append(problem)
        return found


def parse_cookies(header: SecretStr, *, where: str) -> dict[str, SecretStr]:
    """``"a1=...; webId=..."`` (as copied from a browser) -> cookies; the values stay secret."""
    cookies: dict[str, SecretStr] = {}
    for part in header.get_secret_value().split(";"):
        name, sep, value = part.strip().partition("=")
        if not part.strip():
            continue
        if not sep or not name.strip():
            raise ConfigError(f"{where}: cookies must look like 'name=value; name2=value2'")
        cookies[name.strip()] = SecretStr(value.strip())
    if not cookies:
        raise ConfigError(f"{where}: no cookie found")
    return cookies


class AccountSpec(BaseModel):
    """One ``[[sources.accounts]]`` table: the account's Cookie header is read once, here, from
    ``cookies_env`` or ``cookies_file`` (never written in the settings file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    cookies_env: str | None = None
    """An environment variable holding the account's Cookie header ('a1=...; webId=...')."""
    cookies_file: Path | None = None
    proxy: str | None = None
    requests_per_second: float | None = Field(default=None, gt=0)
    _account: PugongyingAccount | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _read_cookies(self) -> AccountSpec:
        header = read_secret(env=self.cookies_env, file=self.cookies_file, what="cookies")
        self._account = PugongyingAccount(
            name=self.name,
            cookies=parse_cookies(header, where="cookies"),
            proxy=self.proxy,
            requests_per_second=self.requests_per_second,
            cookies_file=self.cookies_file,
        )
        return self

    @property
    def account(self) -> PugongyingAccount:
        assert self._account is not None, "an AccountSpec is built by validation"
        return self._account


class PugongyingSpec(SourceSpec):
    """``[[sources]] type = "pugongying"``: the config's fields (same names, same defaults) and
    ``[[sources.accounts]]``. The whole config is checked here, once, with every problem named."""

    type: Literal["pugongying"] = "pugongying"
    accounts: list[AccountSpec] = Field(min_length=1)
    base_url: str = DEFAULT_BASE_URL
    requests_per_second: float = Field(default=DEFAULT_REQUESTS_PER_SECOND, gt=0)
    burst: int = Field(default=DEFAULT_BURST, ge=1)
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)
    retry_attempts: int = Field(default=DEFAULT_RETRY_ATTEMPTS, ge=1, le=10)
    retry_wait_initial_seconds: float = Field(default=DEFAULT_RETRY_WAIT_INITIAL_SECONDS, ge=0)
    retry_wait_max_seconds: float = Field(default=DEFAULT_RETRY_WAIT_MAX_SECONDS, ge=0)
    retry_wait_jitter_seconds: float = Field(default=DEFAULT_RETRY_WAIT_JITTER_SECONDS, ge=0)
    cooldown_base_seconds: float = Field(default=DEFAULT_COOLDOWN_BASE_SECONDS, gt=0)
    cooldown_max_seconds: float = Field(default=DEFAULT_COOLDOWN_MAX_SECONDS, gt=0)
    user_agent: str = DEFAULT_USER_AGENT
    signer: str | None = None
    """``package.module:callable`` adding signature headers (see docs/sources-pugongying.md)."""
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=MIN_BODY_BYTES_LIMIT, le=MAX_BODY_BYTES_LIMIT
    )
    _config: PugongyingConfig | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> PugongyingSpec:
        fields = self.model_dump(exclude={"type", "accounts"})
        # PugongyingConfig refuses a bad config, naming every problem.
        self._config = PugongyingConfig(
            accounts=[account.account for account in self.accounts], **fields
        )
        load_signer(self.signer)  # the signer must import and be callable
        return self

    @property
    def config(self) -> PugongyingConfig:
        """The checked config, cookies included (as ``SecretStr``)."""
        assert self._config is not None, "a PugongyingSpec is built by validation"
        return self._config


def _build(spec: PugongyingSpec, context: BuildContext) -> PugongyingSource:
    return PugongyingSource(
        spec.config,
        outcomes=context.outcomes,
        pool=context.pool,
        incidents=context.incidents,
        reload=context.reload,
    )


class VerdictKind(enum.Enum):
    """What an upstream answer means for the account that got it."""

    OK = "ok"
    SESSION_LOST = "session_lost"
    RISK_CONTROL = "risk_control"
    TRANSIENT = "transient"
    """Retry on the same account (bounded), then the next one."""
    REJECTED = "rejected"
    """An answer we do not know: no retry on this account, try the next."""
    MALFORMED_DATA = "malformed_data"
    """A success without a usable ``data`` object: no other account will do better."""
    REFUSED = "refused"
    """An answer we will not read or follow (too large, undecodable, a redirect to another
    site, a TLS failure): no retry, no other account, the account unharmed."""


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str | None
    """The short outcome class health counts (``session_lost``, ``http_5xx``...); None on OK."""
    detail: str
    """What the upstream said, for account states and logs: never a secret."""
    data: dict[str, Any] | None = None


def _upstream_message(document: Mapping[str, Any]) -> str:
    message = document.get("msg", document.get("message"))
    if not isinstance(message, str) or not message:
        return ""
    text = "".join(ch if ch.isprintable() else " " for ch in message)[:MAX_UPSTREAM_MESSAGE]
    return f" {text!r}"


def _code_of(document: Mapping[str, Any]) -> int | None:
    code = document.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str):
        try:
            return int(code.strip())
        except ValueError:
            return None
    return None


def classify(status: int, content_type: str, body: bytes, marker: str = "noteNumber") -> Verdict:
    """What one upstream answer means (see the module's table). Pure: easy to test alone.
    ``marker`` is the key the endpoint's ``data`` must have (``UpstreamRequest.marker``)."""
    if status in SESSION_LOST_STATUSES:
        return Verdict(VerdictKind.SESSION_LOST, "session_lost", f"HTTP {status}")
    if status in RISK_CONTROL_STATUSES:
        return Verdict(VerdictKind.RISK_CONTROL, "risk_control", f"HTTP {status}")
    if status >= 500:
        return Verdict(VerdictKind.TRANSIENT, "http_5xx", f"HTTP {status}")
    if 300 <= status < 400:
        return Verdict(
            VerdictKind.SESSION_LOST,
            "session_lost",
            f"HTTP {status}: a redirect (to the login page)",
        )
    try:
        document = json.loads(body)
    except UnicodeDecodeError:
        return Verdict(VerdictKind.TRANSIENT, "malformed", "a body that is not valid UTF-8")
    except ValueError:
        looks_html = "html" in content_type.lower() or body.lstrip()[:1] == b"<"
        if status < 300 and looks_html:
            return Verdict(
                VerdictKind.SESSION_LOST,
                "session_lost",
                "an HTML page instead of JSON (login page)",
            )
        if status >= 400:
            return Verdict(VerdictKind.REJECTED, "http_4xx", f"HTTP {status}")
        return Verdict(VerdictKind.TRANSIENT, "malformed", "a body that is not JSON")
    if not isinstance(document, dict):
        if status >= 400:
            return Verdict(VerdictKind.REJECTED, "http_4xx", f"HTTP {status}")
        return Verdict(VerdictKind.TRANSIENT, "malformed", "JSON that is not an envelope object")
    code = _code_of(document)
    said = _upstream_message(document)
    if code in SESSION_LOST_CODES:
        return Verdict(VerdictKind.SESSION_LOST, "session_lost", f"code {code}{said}")
    if code in RISK_CONTROL_CODES:
        return Verdict(VerdictKind.RISK_CONTROL, "risk_control", f"code {code}{said}")
    if status >= 400:
        return Verdict(VerdictKind.REJECTED, "http_4xx", f"HTTP {status}")
    if code is None:
        return Verdict(VerdictKind.TRANSIENT, "malformed", "a JSON object without a code")
    if code != 0 or document.get("success") is not True:
        return Verdict(
            VerdictKind.REJECTED,
            "upstream_code",
            f"code {code}{said} with success={document.get('success')!r}",
        )
    data = document.get("data")
    if not isinstance(data, dict):
        shown = "null" if data is None else f"a JSON {type(data).__name__}"
        return Verdict(VerdictKind.MALFORMED_DATA, "malformed", f"data is {shown}, not an object")
    if marker not in data:
        return Verdict(VerdictKind.MALFORMED_DATA, "malformed", f"data has no {marker}")
    return Verdict(VerdictKind.OK, None, "ok", data)


class _Transient(Exception):
    """A failure worth retrying on the same account. Its text is safe (stamina logs its repr)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _AccountFailed(Exception):
    """This account cannot collect this creator now; the next account may."""

    def __init__(self, reason: str | None, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Call:
    """One fetch's request: what was asked, and the URL and parameters to send for it."""

    query: Query
    url: str
    params: dict[str, str]
    marker: str


@dataclass(slots=True, eq=False)
class _Slot:
    """One account's place in the pool: its pacing, its client and where it stands."""

    account: PugongyingAccount
    limiter: AsyncLimiter
    client: httpx.AsyncClient
    state: AccountState = AccountState.ACTIVE
    reason: str | None = None
    until: float | None = None
    strikes: int = 0
    """Risk-control answers since the last success: the exponent of the next rest."""
    in_flight: int = 0
    """Calls running on the account (in the cluster, with a shared pool)."""
    last_failure: str | None = None
    cooling_until: float | None = None
    """``until`` in epoch seconds, for the status page."""
    last_failure_fresh: bool = False
    """``last_failure`` is not yet shared with the cluster."""
    detail: str = ""
    """What the last risk-control answer said (for the reason of a rest)."""
    stamp: FileStamp | None = None
    """The stamp of the cookies file when it was last read (None without a file)."""


@dataclass(frozen=True, slots=True)
class CookieReload:
    """What re-reading one account's cookies did (safe to show: no cookie, no digest)."""

    source: str
    account: str
    outcome: Literal["new_login", "unchanged", "no_file", "kept"]
    """``new_login``: other cookies, now used; ``unchanged``: the same cookies; ``no_file``:
    the cookies come from an environment variable (read at start only); ``kept``: the file
    could not be read or holds no valid cookies, so the account keeps the ones it has."""
    problem: str | None = None
    """For ``kept``: why (names the file, never a value)."""


def _refusing_cookie_jar() -> CookieJar:
    """A jar that stores nothing: a Set-Cookie meant for one account must never reach another."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class PugongyingSource:
    """Collects from Pugongying with a pool of logged-in accounts (module docstring).

    ``monotonic`` is the clock of cool-downs (``AccountStatus.until`` is on it): tests move it
    instead of sleeping. ``transport`` replaces the network for every account (proxies included).
    Building the source loads the signer: a bad import path raises ``SignerError`` at once.
    """

    name = SOURCE_NAME

    def __init__(
        self,
        config: PugongyingConfig,
        *,
        outcomes: OutcomeSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        pool: SharedPool | None = None,
        incidents: IncidentSink | None = None,
        reload: ReloadSignal | None = None,
    ) -> None:
        self._config = config
        self._pool = pool
        self._incidents = incidents
        self._reload = reload
        self._generation: int | None = None
        """The reload generation last seen (None: not looked yet)."""
        self._files_checked_at = -math.inf
        self._pool_unreachable = False
        self._outcomes = outcomes
        self._monotonic = monotonic
        self._signer: RequestSigner = load_signer(config.signer)
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._slots: list[_Slot] = []
        for account in config.accounts:
            proxy = None if transport is not None else account.proxy
            client = self._clients.get(proxy)
            if client is None:
                client = self._clients[proxy] = httpx.AsyncClient(
                    proxy=proxy,
                    transport=transport,
                    timeout=httpx.Timeout(config.timeout_seconds),
                    follow_redirects=False,
                    trust_env=False,
                    cookies=_refusing_cookie_jar(),
                )
            rate = account.requests_per_second or config.requests_per_second
            limiter = AsyncLimiter(config.burst, config.burst / rate)
            stamp = stamp_of(account.cookies_file) if account.cookies_file is not None else None
            self._slots.append(_Slot(account=account, limiter=limiter, client=client, stamp=stamp))
        self._cursor = 0

    def __repr__(self) -> str:
        names = ", ".join(slot.account.name for slot in self._slots)
        return f"PugongyingSource(base_url={self._config.base_url!r}, accounts=[{names}])"

    @property
    def config(self) -> PugongyingConfig:
        return self._config

    def accounts(self) -> list[AccountStatus]:
        """Where every account stands, safe to show (no cookie, no proxy credentials)."""
        now = self._monotonic()
        return [
            AccountStatus(
                source=self.name,
                account=slot.account.name,
                state=self._refresh(slot, now),
                reason=slot.reason,
                until=slot.until,
                in_flight=slot.in_flight,
                cooling_until=slot.cooling_until if slot.until is not None else None,
                last_failure=slot.last_failure,
            )
            for slot in self._slots
        ]

    async def cluster_accounts(self) -> list[AccountStatus]:
        """``accounts()`` as the cluster sees them now (read from the shared pool, if any; if
        it cannot be reached, as this process last saw them)."""
        with contextlib.suppress(PoolUnavailable):
            await self._check_cookies()
        if self._pool is not None:
            with contextlib.suppress(PoolUnavailable):
                await self._sync()
        return self.accounts()

    # -- cookie files ---------------------------------------------------------------------------

    async def _check_cookies(self) -> None:
        """Re-read the cookie files that changed (looked at once a second at most), or all of
        them if the deployment's reload generation grew since this process last looked."""
        force = False
        if self._reload is not None:
            try:
                generation = await self._reload.generation()
            except PoolUnavailable:
                self._pool_unreachable = self._pool is not None
                raise
            if self._generation is not None and generation != self._generation:
                force = True
            self._generation = generation
        now = self._monotonic()
        if force or now - self._files_checked_at >= CHECK_INTERVAL_SECONDS:
            self._files_checked_at = now
            self.reload_cookies(force=force)

    def reload_cookies(self, *, force: bool = True) -> list[CookieReload]:
        """Read each account's cookies file again (``force``) or only those whose stamp
        changed; cookies with another digest replace the account's (a new login: a disablement
        of the old cookies no longer holds). What happened to each account, for the operator."""
        done: list[CookieReload] = []
        for slot in self._slots:
            name, path = slot.account.name, slot.account.cookies_file
            if path is None:
                done.append(CookieReload(self.name, name, "no_file"))
                continue
            stamp = stamp_of(path)
            if not force and (stamp is None or stamp == slot.stamp):
                continue
            slot.stamp = stamp
            try:
                account = _read_account(slot.account, path)
            except ConfigError as problem:
                logger.warning(
                    "pugongying account %r keeps its cookies: its cookies file was not re-read: %s",
                    name,
                    problem,
                )
                done.append(CookieReload(self.name, name, "kept", str(problem)))
                continue
            if _session_of(account) == _session_of(slot.account):
                done.append(CookieReload(self.name, name, "unchanged"))
                continue
            slot.account = account
            slot.last_failure = None
            if slot.state is AccountState.DISABLED:
                slot.state, slot.reason, slot.until = AccountState.ACTIVE, None, None
            logger.info("pugongying account %r: new cookies read from %s (a new login)", name, path)
            done.append(CookieReload(self.name, name, "new_login"))
        return done

    @property
    def pool_state(self) -> str:
        """``local`` (states in this process), ``shared`` (the cluster's) or ``unreachable``
        (shared, but its store could not be read last time: collection paused)."""
        if self._pool is None:
            return "local"
        return "unreachable" if self._pool_unreachable else "shared"

    async def _sync(self) -> None:
        """Take every account's state from the shared pool: the cluster's word wins."""
        assert self._pool is not None
        try:
            shared = await self._pool.accounts(
                self.name, [slot.account.name for slot in self._slots]
            )
        except PoolUnavailable:
            self._pool_unreachable = True
            raise
        self._pool_unreachable = False
        now, wall = self._monotonic(), time.time()
        for slot in self._slots:
            seen = shared.get(slot.account.name, SharedAccount())
            state = seen.state
            if state is AccountState.DISABLED and seen.session != _session_of(slot.account):
                state = AccountState.ACTIVE  # disabled with other cookies: a new login since
            if state is AccountState.COOLING_DOWN and (seen.until is None or seen.until <= wall):
                state = AccountState.ACTIVE
            slot.state = state
            slot.reason = seen.reason if state is not AccountState.ACTIVE else None
            slot.cooling_until = seen.until if state is AccountState.COOLING_DOWN else None
            slot.until = (
                now + (seen.until - wall)
                if state is AccountState.COOLING_DOWN and seen.until is not None
                else None
            )
            slot.strikes = seen.strikes
            slot.in_flight = seen.in_flight
            slot.last_failure = seen.last_failure

    async def fetch(self, query: Query) -> dict[str, Any]:
        request = UPSTREAM_REQUESTS.get(query.endpoint.name)
        if request is None:
            raise EndpointNotCollected(query, source=self.name)
        call = _Call(
            query,
            request.url(self._config.base_url, query),
            request.params(query),
            request.marker,
        )
        user_id = query.user_id
        tried: set[str] = set()
        failures: list[str] = []
        await self._check_cookies()
        if self._pool is not None:
            await self._sync()
        while (slot := self._choose(tried)) is not None:
            tried.add(slot.account.name)
            try:
                return await self._collect_with(slot, call)
            except _AccountFailed as failure:
                if failure.reason is not None:
                    failures.append(failure.reason)
        raise self._exhausted(user_id, failures)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # -- the pool -------------------------------------------------------------------------------

    def _refresh(self, slot: _Slot, now: float) -> AccountState:
        """The account's state now: a rest that is over makes it ACTIVE again."""
        if slot.state is AccountState.COOLING_DOWN and slot.until is not None and slot.until <= now:
            slot.state, slot.until, slot.reason = AccountState.ACTIVE, None, None
            slot.cooling_until = None
            logger.info(
                "pugongying account %r is usable again after its cool-down", slot.account.name
            )
        return slot.state

    def _choose(self, tried: set[str]) -> _Slot | None:
        """The next usable account not yet tried for this fetch, round robin, one with pacing
        room first; None when there is none."""
        now = self._monotonic()
        count = len(self._slots)
        candidates: list[tuple[int, _Slot]] = []
        for offset in range(count):
            index = (self._cursor + offset) % count
            slot = self._slots[index]
            if slot.account.name in tried:
                continue
            if self._refresh(slot, now) is AccountState.ACTIVE:
                candidates.append((index, slot))
        if not candidates:
            return None
        if self._pool is not None:
            # Fair across the cluster: the account with the fewest calls in flight anywhere.
            fewest = min(slot.in_flight for _, slot in candidates)
            candidates = [(i, s) for i, s in candidates if s.in_flight == fewest]
        index, slot = next(
            ((i, s) for i, s in candidates if s.limiter.has_capacity()), candidates[0]
        )
        self._cursor = (index + 1) % count
        return slot

    def _exhausted(self, user_id: str, failures: list[str]) -> CollectionError:
        now = self._monotonic()
        states = [self._refresh(slot, now) for slot in self._slots]
        disabled = states.count(AccountState.DISABLED)
        resting = [
            slot.until
            for slot in self._slots
            if slot.state is AccountState.COOLING_DOWN and slot.until is not None
        ]
        parts: list[str] = []
        if disabled:
            parts.append(f"{disabled} logged out")
        if resting:
            wait = max(1, math.ceil(min(resting) - now))
            parts.append(
                f"{len(resting)} cooling down after risk control (one is usable again in {wait} s)"
            )
        if failures:
            parts.append(f"{len(failures)} failed ({', '.join(sorted(set(failures)))})")
        message = f"No Pugongying account could collect creator {user_id}: {', '.join(parts)}."
        if failures:
            if all(reason == "malformed" for reason in failures):
                return MalformedPayload(message, source=self.name)
            return UpstreamUnavailable(message + " Please retry later.", source=self.name)
        if resting:
            return RiskControlled(message + " Please retry later.", source=self.name)
        return SessionLost(
            message + " The operator must log the accounts in again.", source=self.name
        )

    # -- one account ----------------------------------------------------------------------------

    async def _collect_with(self, slot: _Slot, call: _Call) -> dict[str, Any]:
        config = self._config
        try:
            async for attempt in stamina.retry_context(
                on=_Transient,
                attempts=config.retry_attempts,
                timeout=None,
                wait_initial=config.retry_wait_initial_seconds,
                wait_max=config.retry_wait_max_seconds,
                wait_jitter=config.retry_wait_jitter_seconds,
            ):
                with attempt:
                    return await self._attempt(slot, call)
        except _Transient as failure:
            raise _AccountFailed(failure.reason, failure.detail) from None
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    async def _attempt(self, slot: _Slot, call: _Call) -> dict[str, Any]:
        if self._pool is not None:
            return await self._attempt_shared(slot, call)
        await slot.limiter.acquire()
        return await self._send(slot, call)

    async def _attempt_shared(self, slot: _Slot, call: _Call) -> dict[str, Any]:
        """One attempt paced by the cluster's window, counted in flight, its outcome shared."""
        pool = self._pool
        assert pool is not None
        name = slot.account.name
        rate = slot.account.requests_per_second or self._config.requests_per_second
        await pool.started(self.name, name)
        slot.in_flight += 1
        strikes, state = slot.strikes, slot.state
        try:
            return await self._send(slot, call, lambda: pool.pace(self.name, name, rate=rate))
        finally:
            slot.in_flight -= 1
            try:
                await pool.finished(self.name, name)
                await self._share(slot, strikes, state)
            except PoolUnavailable as error:
                logger.warning("pugongying account %r: its outcome was not shared: %s", name, error)

    async def _share(self, slot: _Slot, strikes_before: int, state_before: AccountState) -> None:
        """Tell the cluster what this attempt changed about the account."""
        pool = self._pool
        assert pool is not None
        name = slot.account.name
        if slot.last_failure is not None and slot.last_failure_fresh:
            slot.last_failure_fresh = False
            await pool.failed(self.name, name, slot.last_failure)
        if slot.state is AccountState.ACTIVE:
            if strikes_before and not slot.strikes:
                await pool.clear(self.name, name)
            return
        if slot.state is state_before:
            return  # the cluster's own state, not this attempt's doing
        if slot.state is AccountState.COOLING_DOWN:
            strikes = await pool.strike(self.name, name)
            if strikes > slot.strikes:  # others struck meanwhile: rest as long as the cluster says
                slot.strikes = strikes
                self._rest(slot)
        session = _session_of(slot.account) if slot.state is AccountState.DISABLED else None
        slot.cooling_until = (
            time.time() + (slot.until - self._monotonic()) if slot.until is not None else None
        )
        await pool.rest(
            self.name,
            name,
            SharedAccount(
                state=slot.state,
                reason=slot.reason,
                until=slot.cooling_until,
                strikes=slot.strikes,
                session=session,
            ),
        )

    async def _send(
        self,
        slot: _Slot,
        call: _Call,
        pace: Callable[[], Awaitable[Callable[[], None]]] | None = None,
    ) -> dict[str, Any]:
        """Sign and send one request on the account; ``pace`` is awaited just before sending,
        and what it returns is called when the request's headers are on the wire."""
        user_id = call.query.user_id
        if self._refresh(slot, self._monotonic()) is not AccountState.ACTIVE:
            # Another fetch disabled or rested it while this one waited for pacing.
            raise _AccountFailed(None, f"account became {slot.state.value}")
        account = slot.account
        headers = {
            "User-Agent": self._config.user_agent,
            "Accept": ACCEPT,
            "Accept-Language": ACCEPT_LANGUAGE,
            "Referer": f"{WEB_ORIGIN}{REFERER_PATH}{user_id}",
            "X-B3-Traceid": secrets.token_hex(8),
            "Cookie": account.cookie_header(),
        }
        try:
            headers.update(await sign(self._signer, "GET", call.url, call.params, headers))
        except Exception as error:
            self._record(slot, ok=False, reason="signer_error", latency=0.0)
            logger.warning(
                "pugongying signer %s failed for account %r: %s",
                self._config.signer,
                account.name,
                self._scrub(slot, f"{type(error).__name__}: {error}"),
            )
            raise _AccountFailed("signer_error", "the request signer failed") from None

        sent: Callable[[], None] | None = None
        if pace is not None:
            # Last, right before sending: what the pace admits is what the upstream sees, with
            # as little delay (and so as little jitter) between the two as possible.
            sent = await pace()
        started = time.perf_counter()
        try:
            answer = await read_capped(
                slot.client,
                call.url,
                params=call.params,
                headers=headers,
                max_body_bytes=self._config.max_body_bytes,
                deadline_seconds=self._config.timeout_seconds,
                on_sent=sent,
            )
        except AnswerRefused as refused:
            transient = refused.reason in ("timeout", "network")
            kind = VerdictKind.TRANSIENT if transient else VerdictKind.REFUSED
            verdict = Verdict(kind, refused.reason, refused.detail)
        else:
            target = redirect_target(self._config.base_url, answer.status_code, answer.headers)
            if target is not None and not _same_site(target):
                verdict = Verdict(
                    VerdictKind.REFUSED,
                    "redirect",
                    f"a redirect (HTTP {answer.status_code}) to another host, {target}, "
                    "which is never followed",
                )
            else:
                verdict = classify(
                    answer.status_code,
                    answer.headers.get("content-type", ""),
                    answer.body,
                    call.marker,
                )
        latency = time.perf_counter() - started
        self._record(
            slot, ok=verdict.kind is VerdictKind.OK, reason=verdict.reason, latency=latency
        )
        logger.debug(
            "pugongying account=%s %s -> %s (%s) in %.3f s",
            account.name,
            call.query.describe(),
            verdict.kind.value,
            verdict.detail,
            latency,
        )
        return self._apply(slot, verdict, user_id, account)

    def _apply(
        self, slot: _Slot, verdict: Verdict, user_id: str, sent_with: PugongyingAccount
    ) -> dict[str, Any]:
        """Change the account's state by the verdict; return the data or raise.
        ``sent_with`` is the account (its cookies) the request carried."""
        name = slot.account.name
        if verdict.kind is VerdictKind.OK:
            assert verdict.data is not None
            slot.strikes, slot.reason = 0, None
            return verdict.data
        if verdict.kind is VerdictKind.SESSION_LOST and slot.account is not sent_with:
            # A new login was read while this call was out: the answer is about the old cookies,
            # and must not disable the new ones.
            logger.info("pugongying account %r: the replaced cookies' session was lost", name)
            raise _AccountFailed(None, verdict.detail)
        if verdict.kind is VerdictKind.SESSION_LOST:
            slot.state, slot.until = AccountState.DISABLED, None
            slot.reason = f"session lost: {verdict.detail}; log in again and replace its cookies"
            logger.warning("pugongying account %r disabled: %s", name, slot.reason)
            self._incident(
                slot,
                "session_lost",
                key=f"session_lost:{_session_of(slot.account)}",
                lasts=SESSION_INCIDENT_SECONDS,
            )
            raise _AccountFailed(None, verdict.detail)
        if verdict.kind is VerdictKind.RISK_CONTROL:
            slot.strikes += 1
            slot.detail = verdict.detail
            self._rest(slot)
            logger.warning("pugongying account %r cooling down: %s", name, slot.reason)
            rest = (slot.until or 0.0) - self._monotonic()
            self._incident(slot, "risk_control", key="risk_control", lasts=max(rest, 1.0))
            raise _AccountFailed(None, verdict.detail)
        if verdict.kind is VerdictKind.TRANSIENT:
            assert verdict.reason is not None
            raise _Transient(verdict.reason, verdict.detail)
        if verdict.kind is VerdictKind.REFUSED:
            raise UpstreamUnavailable(
                f"Pugongying's answer for creator {user_id} was refused: {verdict.detail} "
                f"({verdict.reason}).",
                source=self.name,
            )
        if verdict.kind is VerdictKind.MALFORMED_DATA:
            raise MalformedPayload(
                f"Pugongying answered creator {user_id} without a usable data object "
                f"({verdict.detail}).",
                source=self.name,
            )
        raise _AccountFailed(verdict.reason, verdict.detail)

    def _incident(self, slot: _Slot, label: str, *, key: str, lasts: float) -> None:
        """Report the account's incident; a sink that fails never fails the collection."""
        if self._incidents is None:
            return
        incident = AccountIncident(
            source=self.name,
            account=slot.account.name,
            label=label,
            reason=self._scrub(slot, slot.reason or label),
            at=time.time(),
            cooling_until=slot.cooling_until if label == "risk_control" else None,
            key=key,
            lasts_seconds=lasts,
        )
        try:
            self._incidents.report(incident)
        except Exception:
            logger.exception(
                "reporting an incident of pugongying account %r failed", incident.account
            )

    def _rest(self, slot: _Slot) -> None:
        """Cool the account down for its number of strikes: ``base * 2**(strikes-1)``, capped."""
        config = self._config
        rest = min(
            config.cooldown_base_seconds * 2 ** (slot.strikes - 1), config.cooldown_max_seconds
        )
        slot.state, slot.until = AccountState.COOLING_DOWN, self._monotonic() + rest
        slot.cooling_until = time.time() + rest
        slot.reason = f"risk control: {slot.detail}; resting {rest:.0f} s (strike {slot.strikes})"

    def _record(self, slot: _Slot, *, ok: bool, reason: str | None, latency: float) -> None:
        if not ok and reason is not None:
            slot.last_failure, slot.last_failure_fresh = reason, True
        if self._outcomes is None:
            return
        outcome = Outcome(
            source=self.name,
            account=slot.account.name,
            ok=ok,
            reason=None if ok else reason,
            latency_seconds=latency,
        )
        try:
            self._outcomes.record(outcome)
        except Exception:
            logger.exception("recording a pugongying outcome failed")

    @staticmethod
    def _scrub(slot: _Slot, text: str) -> str:
        """``text`` with every secret of the account replaced by ``***``."""
        for value in sorted(slot.account.secret_values(), key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def _same_site(host: str) -> bool:
    """A redirect Pugongying itself makes when a login is gone: to the same host (relative) or
    to a Xiaohongshu login host. Anywhere else is refused, and never followed."""
    return host == "the same host" or host == "xiaohongshu.com" or host.endswith(".xiaohongshu.com")


def _read_account(account: PugongyingAccount, path: Path) -> PugongyingAccount:
    """``account`` with the cookies ``path`` holds now; ``ConfigError`` naming the file (never
    a value) if it cannot be read or its cookies are not valid."""
    header = read_secret(env=None, file=path, what="cookies")
    fresh = replace(account, cookies=parse_cookies(header, where=f"cookies_file {path}"))
    problems = fresh.problems()
    if problems:
        raise ConfigError(f"cookies_file {path}: " + "; ".join(problems))
    return fresh


def _session_of(account: PugongyingAccount) -> str:
    """A short digest of the account's cookies: tells a new login from the one that was lost
    (a digest, never the cookies, leaves the process)."""
    return hashlib.blake2b(account.cookie_header().encode(), digest_size=8).hexdigest()


KIND = SourceKind(PugongyingSpec, _build)
