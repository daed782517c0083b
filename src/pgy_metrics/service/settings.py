"""Server settings from ``PGY_*`` environment variables (and arguments, which win).

Defaults are safe for one machine: SQLite under a per-user data directory, the sandbox source,
loopback only. Anything that would silently be wrong (a replay source without a folder, a time
zone that does not exist) is refused at start with a message naming the setting.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pgy_metrics.contract.endpoints import NOTES_RATE, base_url_problem
from pgy_metrics.contract.history import PERMISSIONS
from pgy_metrics.service.limits import parse_rate_limit
from pgy_metrics.store.database import SQLITE_BUSY_TIMEOUT_MS, default_sqlite_url

SourceName = Literal["sandbox", "replay"]

MAX_SNAPSHOT_CACHE_MB = 65536
"""64 GB: a bound past any machine this runs on, so a typo (bytes for megabytes) is refused."""
CollectMode = Literal["inline", "queue"]


def default_data_dir() -> Path:
    return platformdirs.user_data_path("pgy-metrics", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PGY_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the SQLite database and the token pepper file live."""
    database_url: str | None = None
    """``postgresql+psycopg://...`` to scale out; default SQLite under ``data_dir``."""
    sqlite_busy_timeout_ms: int = Field(default=SQLITE_BUSY_TIMEOUT_MS, ge=0)
    """How long a SQLite write waits for another process's write before failing (the writes
    of one process never wait for each other: they share one writer)."""
    source: SourceName = "sandbox"
    replay_dir: Path | None = None
    sandbox_seed: int | None = None
    """Another synthetic world for the sandbox source; None keeps the sandbox's own default."""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    cache_ttl_seconds: float | None = Field(default=None, gt=0)
    """A snapshot younger than this is served without asking the source again; by default each
    endpoint's own freshness (``EndpointSpec.ttl_seconds``: 6 hours for notes rate)."""
    snapshot_cache_mb: float = 16
    """Megabytes of latest snapshots a process keeps in memory for cached hits (each counted by
    the bytes it keeps, least recently used out); 0 keeps none."""
    token_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a process trusts a token look-up; a revocation elsewhere takes this long."""
    token_pepper: SecretStr | None = None
    """Server-side key of token hashes; default a random key kept in ``data_dir``. Set it
    explicitly when several machines share one database."""
    record_time_zone: str = "Asia/Shanghai"
    """``recordTime`` is local wall time in this zone, as the hosted API writes it."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_seconds: int = Field(default=30, ge=0)
    """On SIGTERM, requests in flight get this long to finish (new connections are refused at
    once); then they are cancelled, and a cancelled request gives back what it reserved."""
    collect: CollectMode = "inline"
    """``inline``: a cache miss is collected by the server process that got it. ``queue`` (only
    on PostgreSQL): it becomes a job on the collection queue, run by ``pgy worker`` processes,
    and the request waits for it (``collect_wait_seconds``)."""
    collect_wait_seconds: float = Field(default=50, gt=0, le=600)
    """Queue mode: how long a request waits for its job before answering 301 (inside the 60 s
    a client allows a call)."""

    health_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    """Health labels are computed over this many minutes of upstream outcomes."""
    health_flush_seconds: float = Field(default=5, gt=0)
    """How often a process adds its counted outcomes to the shared health buckets."""

    # Documentation pages (/docs) -------------------------------------------------------------
    public_base_urls: str = ""
    """``name=URL`` pairs separated by commas (``prod-global=https://a,prod-cn=https://b``): the
    base URLs the docs pages offer and time from the reader's browser; empty means the origin
    each request came to (what a reader on one machine needs)."""
    docs_show_examples: bool = True
    """Whether each endpoint's page shows its latest successful answer (a real creator's data
    on a real source): operators who prefer not to show data set it to false."""

    # Web console (/console, docs/console.md) --------------------------------------------------
    console_session_minutes: int = Field(default=8 * 60, ge=1, le=30 * 24 * 60)
    """How long a console sign-in lasts (from sign-in, not from the last request); then the
    session is refused and forgotten, and the user signs in again."""

    # Money and limits ------------------------------------------------------------------------
    redis_url: str | None = None
    """``redis://host:6379/0`` to share rate-limit windows and the account pool (pacing,
    cool-downs) between server processes."""
    redis_key_prefix: str = Field(default="pgy-metrics", min_length=1)
    """Every Redis key starts with it: deployments sharing one Redis keep their state apart."""
    account_webhook_url: SecretStr | None = None
    """``https://...`` called (POST, JSON) once per incident when an upstream account loses its
    session or is risk-controlled (``service.account_alerts``); kept secret: chat webhook URLs
    carry their own key. Unset: no call."""
    account_webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """Each attempt to call the account webhook gives up after this long (3 attempts)."""
    prices: dict[str, int] = Field(default_factory=lambda: {NOTES_RATE: 1})
    """Credits per successful call, by endpoint (a token's plan may override it)."""
    cached_prices: dict[str, int] = Field(default_factory=lambda: {NOTES_RATE: 1})
    """Credits per successful call answered from a cached snapshot, by endpoint."""
    quota_time_zone: str = "Asia/Shanghai"
    """Where the day of daily quotas begins and ends."""
    default_rate_limit: str | None = None
    """Plan of tokens created without plan options; none by default (unlimited, unmetered)."""
    default_daily_quota: int | None = Field(default=None, ge=0)
    default_balance: int | None = Field(default=None, ge=0)
    default_endpoints: list[str] | None = None
    reservation_timeout_seconds: float = Field(default=300, gt=0)
    """A reservation older than this belongs to a dead process: the reaper releases it. Keep it
    well above the longest request (source timeouts and retries included)."""
    reaper_interval_seconds: float = Field(default=30, gt=0)
    idempotency_retention_hours: float = Field(default=24, gt=0)
    idempotency_wait_seconds: float = Field(default=30, gt=0)
    """How long a repeat waits for the first request with its key before answering 301."""
    idempotency_stale_seconds: float = Field(default=120, gt=0)
    """A key pending longer than this lost its request (a dead process): a repeat takes it over."""

    # Limits at the edge (docs/security.md) --------------------------------------------------
    max_url_bytes: int = Field(default=8 * 1024, ge=1024, le=60 * 1024)
    """The longest path and query string answered; a longer one is refused (on an endpoint
    with the contract's code 400 naming the longest parameter). Beyond 64 KiB the HTTP parser
    refuses before the application sees the request."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    """The most header bytes (names and values) a request may carry: HTTP 431 beyond."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    """The largest request body the admin API reads: HTTP 413 beyond."""
    failed_token_limit: str | None = "20/minute"  # noqa: S105 (a rate, not a secret)
    """How many requests with an unknown, revoked or expired token one client address may make
    (``limits`` syntax); beyond it they are answered code 302 until the window frees. Empty
    turns it off."""
    admin_listen: str | None = None
    """``HOST:PORT`` of a second listener that alone serves ``/admin/*`` (the public one then
    answers 404 there); unset, the admin API is on the public listener."""

    @field_validator("snapshot_cache_mb")
    @classmethod
    def _cache_size(cls, value: float) -> float:
        if not 0 <= value <= MAX_SNAPSHOT_CACHE_MB:
            raise ValueError(
                f"must be a size in megabytes from 0 (no cache) to {MAX_SNAPSHOT_CACHE_MB}, "
                f"e.g. 16; got {value:g}"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_entries_bound(cls, data: object) -> object:
        """The old bound by count is refused rather than silently ignored."""
        if os.environ.get("PGY_SNAPSHOT_MEMORY_ENTRIES") is not None:
            raise ValueError(
                "PGY_SNAPSHOT_MEMORY_ENTRIES was replaced by PGY_SNAPSHOT_CACHE_MB (a size in "
                "megabytes, default 16; 0 keeps no snapshot in memory): unset it"
            )
        return data

    @field_validator("failed_token_limit", "admin_listen", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("failed_token_limit")
    @classmethod
    def _readable_failed_token_limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate_limit(value)
        return value

    @field_validator("admin_listen")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("account_webhook_url", mode="before")
    @classmethod
    def _empty_webhook_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("account_webhook_url")
    @classmethod
    def _webhook_is_a_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            url = value.get_secret_value()
            scheme, sep, rest = url.partition("://")
            host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
            if not sep or scheme.lower() not in ("http", "https") or not host or " " in url:
                # The URL itself is not repeated: it may carry the webhook's own secret.
                raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("record_time_zone", "quota_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"must be an IANA time zone such as Asia/Shanghai; got {value!r}"
            ) from None
        return value

    @field_validator("prices", "cached_prices")
    @classmethod
    def _known_priced_endpoints(cls, value: dict[str, int]) -> dict[str, int]:
        for endpoint, price in value.items():
            if endpoint not in PERMISSIONS:
                raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(PERMISSIONS)}")
            if price < 0:
                raise ValueError(f"price of {endpoint} must be >= 0; got {price}")
        return value

    @field_validator("public_base_urls")
    @classmethod
    def _named_base_urls(cls, value: str) -> str:
        parse_public_base_urls(value)
        return value

    @field_validator("default_rate_limit")
    @classmethod
    def _readable_rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate_limit(value)
        return value

    @model_validator(mode="after")
    def _replay_needs_folder(self) -> Settings:
        if self.source == "replay":
            if self.replay_dir is None:
                raise ValueError("source 'replay' needs replay_dir (PGY_REPLAY_DIR / --replay-dir)")
            if not self.replay_dir.is_dir():
                raise ValueError(
                    f"replay_dir (PGY_REPLAY_DIR / --replay-dir) {str(self.replay_dir)!r} is not "
                    "a directory"
                )
        return self

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> Settings:
        if self.collect == "queue" and self.resolved_database_url.startswith("sqlite"):
            raise ValueError(
                "PGY_COLLECT (or --collect) 'queue' needs PostgreSQL (PGY_DATABASE_URL="
                "postgresql+psycopg://...): on SQLite the server collects in-process and needs no "
                "worker; use inline"
            )
        return self

    @model_validator(mode="after")
    def _admin_port_of_its_own(self) -> Settings:
        if self.admin_listen is not None and self.port != 0:
            _host, port = parse_listen(self.admin_listen)
            if port == self.port:
                raise ValueError(
                    f"admin_listen (PGY_ADMIN_LISTEN) {self.admin_listen!r} uses the public "
                    f"port {self.port}: give the admin API a port of its own"
                )
        return self

    @property
    def admin_address(self) -> tuple[str, int] | None:
        """``PGY_ADMIN_LISTEN`` as (host, port), or None."""
        return None if self.admin_listen is None else parse_listen(self.admin_listen)

    @property
    def snapshot_cache_bytes(self) -> int:
        return int(self.snapshot_cache_mb * 1024 * 1024)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_sqlite_url(self.data_dir)

    @property
    def cache_ttl(self) -> timedelta | None:
        """The operator's freshness for every endpoint, or None for each endpoint's own."""
        if self.cache_ttl_seconds is None:
            return None
        return timedelta(seconds=self.cache_ttl_seconds)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.record_time_zone)

    @property
    def quota_zone(self) -> ZoneInfo:
        return ZoneInfo(self.quota_time_zone)

    @property
    def public_bases(self) -> tuple[tuple[str, str], ...]:
        """``PGY_PUBLIC_BASE_URLS`` as (name, URL) pairs in the order given (validated)."""
        return parse_public_base_urls(self.public_base_urls)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


_BASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_BASE_URLS_EXAMPLE = "prod-global=https://api.example.com,prod-cn=https://cn.example.com"


def parse_public_base_urls(value: str) -> tuple[tuple[str, str], ...]:
    """``name=URL,name=URL`` as pairs; a ``ValueError`` naming the bad item and the form wanted.

    Names are what the docs pages show (letters, digits, ``.``, ``_``, ``-``); each URL is an
    API base as ``base_url_problem`` accepts it (scheme, host, optional path; no token)."""
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, url = (piece.strip() for piece in item.partition("="))
        if not sep or not _BASE_NAME.fullmatch(name) or not url:
            raise ValueError(
                f"each item must be name=URL (name: letters, digits, '.', '_', '-'); got "
                f"{item.split('=')[0]!r}...; e.g. {_BASE_URLS_EXAMPLE}"
            )
        problem = base_url_problem(url)
        if problem is not None:
            raise ValueError(f"{name}: {problem.replace('base_url', 'the URL')}")
        if name in dict(pairs):
            raise ValueError(f"the name {name!r} is given twice")
        pairs.append((name, url.rstrip("/")))
    return tuple(pairs)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9000`` for IPv6) as (host, port); a ``ValueError`` with the form
    wanted."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(
            f"must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9000; got {value!r}"
        )
    return host, int(port)
