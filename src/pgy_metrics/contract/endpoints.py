"""The endpoints of the API as data: one spec each, in one registry.

Every layer reads what it needs from here: the gate parses and prices a call by its spec, the
store keys snapshots by endpoint name + scope key, sources map a spec to their upstream request,
the client builds a request from it, and OpenAPI and the docs describe it. Adding an endpoint is
adding a spec (and each source's mapping), not editing every layer.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pgy_metrics.contract.enums import (
    AdvertiseSwitch,
    Business,
    DateType,
    IncreaseType,
    NoteType,
)
from pgy_metrics.contract.params import ParamError, Scope, parse_enum, parse_user_id

API_PREFIX = "/api/xiaohongshu-pgy"
"""Where the hosted API mounts the Pugongying paths; ours does the same."""

NOTES_RATE_PATH = "/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1"
"""The notes-rate endpoint of the hosted API, served byte for byte."""

UPSTREAM_NOTES_RATE_PATH = "/api/solar/kol/dataV3/notesRate"
"""The Pugongying path the notes-rate data originally comes from."""

NOTES_RATE = "notes_rate"
"""The notes-rate endpoint's name in plans, prices, snapshots and the ledger."""

BLOGGER_PROFILE = "blogger_profile"
DATA_SUMMARY = "data_summary"
FANS_SUMMARY = "fans_summary"
FANS_PROFILE = "fans_profile"
FANS_HISTORY = "fans_history"
"""The five sibling endpoints' names (docs/api.md describes them)."""

DAILY_TTL_SECONDS = 12 * 3600
"""Freshness of the sibling endpoints whose ``data`` is a day-D-1 aggregate (every dated payload
is yesterday's): asking more than twice a day cannot give newer numbers. The creator profile
keeps 6 hours like notes rate, since prices and order states can change within a day."""


@dataclass(frozen=True, eq=False)
class EnumParam:
    """One optional query parameter with a closed set of values and a default."""

    name: str
    """The API's name (``business``); Pugongying uses the same name with a number."""
    enum: type[StrEnum]
    """Members with ``upstream`` (Pugongying's number) and ``label`` (Chinese) properties."""
    default: StrEnum
    description: str
    description_zh: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_members", {member.value: member for member in self.enum})

    def parse(self, value: str | None) -> StrEnum:
        """The member named ``value``; absent or empty is the default; else ``ParamError``.

        A dictionary look-up first: every call of the API parses its parameters."""
        if not value:
            return self.default
        member: StrEnum | None = self._members.get(value)  # type: ignore[attr-defined]
        if member is not None:
            return member
        return parse_enum(self.enum, value, param=self.name, default=self.default)

    @property
    def values(self) -> tuple[StrEnum, ...]:
        return tuple(self.enum)


@dataclass(frozen=True, eq=False)
class EndpointSpec:
    """Everything the layers need to know of one endpoint. Compared by identity."""

    name: str
    """Short stable name: plans' allowed endpoints, prices, snapshots and ledger rows use it."""
    path: str
    """The hosted API's path, which ours serves too."""
    title: str
    title_zh: str
    summary: str
    summary_zh: str
    params: tuple[EnumParam, ...] = ()
    """Optional parameters besides ``token`` and ``userId``, in the order of the scope key."""
    data_model_path: str | None = None
    """Where the pydantic model of a successful answer's ``data`` is (``module:Name``; the
    typed client's), or None for raw. A path, not the class: the registry is imported by every
    ``pgy`` start, and the sibling models cost more to import than the rest of it
    (``data_model`` imports on first use)."""
    ttl_seconds: int = 6 * 3600
    """How long a snapshot answers for the same creator and parameters before a new collection."""
    operation_id: str = ""
    single_valued: frozenset[str] = field(init=False)

    @property
    def data_model(self) -> Any:
        """The pydantic model of ``data`` (imported on first use), or None for raw."""
        if self.data_model_path is None:
            return None
        module, _, name = self.data_model_path.partition(":")
        return getattr(importlib.import_module(module), name)

    def __post_init__(self) -> None:
        names = [param.name for param in self.params]
        if len(set(names)) != len(names) or {"token", "userId"} & set(names):
            raise ValueError(f"endpoint {self.name}: parameter names must be unique")
        object.__setattr__(self, "single_valued", frozenset(("token", "userId", *names)))
        if not self.operation_id:
            object.__setattr__(self, "operation_id", f"{self.name}_v1")

    @property
    def price_key(self) -> str:
        """The key of this endpoint in the price tables (settings and plans)."""
        return self.name

    @property
    def permission(self) -> str:
        """The name a token's plan must allow (code 600 otherwise)."""
        return self.name

    def parse(self, params: Mapping[str, str | None]) -> Query:
        """A query from API parameters (``userId`` and this endpoint's own), defaults applied.

        Raises ``ParamError`` naming the first bad parameter and its allowed values.
        """
        user_id = parse_user_id(params.get("userId"))
        return Query(self, user_id, tuple([p.parse(params.get(p.name)) for p in self.params]))

    def query(self, user_id: str, **values: str | StrEnum) -> Query:
        """A query from Python: parameters by their API name, the rest defaulted."""
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            allowed = ", ".join(p.name for p in self.params) or "none"
            raise ParamError(
                sorted(unknown)[0],
                f"{self.name} has no parameter {', '.join(sorted(unknown))}; it has: {allowed}.",
            )
        return self.parse({"userId": user_id, **{k: str(v) for k, v in values.items()}})

    def from_scope_key(self, user_id: str, scope_key: str) -> Query:
        """The query a stored snapshot (endpoint name + scope key) was collected for."""
        parts = scope_key.split(".") if self.params else []
        wrong_shape = len(parts) != len(self.params) or "" in parts  # "" would mean the default
        if wrong_shape or (not self.params and scope_key != NO_PARAMS):
            raise ParamError("scope", f"not a scope key of {self.name}: {scope_key!r}.")
        values = tuple(p.parse(v) for p, v in zip(self.params, parts, strict=True))
        return Query(self, user_id, values)

    def scopes(self, user_id: str) -> Iterator[Query]:
        """Every combination of this endpoint's parameters for one creator, in a fixed order."""
        for values in itertools.product(*(p.values for p in self.params)):
            yield Query(self, user_id, tuple(values))


NO_PARAMS = "-"
"""The scope key of an endpoint without parameters (a key is never empty)."""


@dataclass(frozen=True, slots=True)
class Query:
    """One call's identity: endpoint, creator and parameter values (defaults applied)."""

    endpoint: EndpointSpec
    user_id: str
    values: tuple[StrEnum, ...]
    scope_key: str = field(init=False, compare=False)
    """Stable text of the parameter values, e.g. ``DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL``
    (for notes-rate the same as ``Scope.key``); ``-`` for an endpoint without parameters."""
    key: tuple[str, str, str] = field(init=False, compare=False)
    """What identifies the data: endpoint name, creator, scope key."""

    def __post_init__(self) -> None:
        # Computed once: the gate, the cache and the ledger each use them on every call.
        scope_key = ".".join(self.values) if self.values else NO_PARAMS
        object.__setattr__(self, "scope_key", scope_key)
        object.__setattr__(self, "key", (self.endpoint.name, self.user_id, scope_key))

    def api_params(self) -> dict[str, str]:
        """Our (and the hosted) API's query parameters, every one sent explicitly."""
        params = {"userId": self.user_id}
        named = zip(self.endpoint.params, self.values, strict=True)
        params.update((p.name, v.value) for p, v in named)
        return params

    def upstream_params(self) -> dict[str, int]:
        """Pugongying's numbers for the parameters (``userId`` is the source's business)."""
        return {
            p.name: _upstream(v) for p, v in zip(self.endpoint.params, self.values, strict=True)
        }

    @property
    def label(self) -> str:
        """The Chinese labels of the values, as the Pugongying page shows the filters."""
        return " / ".join(_label(v) for v in self.values) or self.endpoint.title_zh

    @property
    def scope(self) -> Scope:
        """The notes-rate scope of this query (only for the notes-rate endpoint)."""
        if self.endpoint.name != NOTES_RATE:
            raise ValueError(f"{self.endpoint.name} has no notes-rate scope")
        return Scope.from_key(self.scope_key)

    def describe(self) -> str:
        """For logs and messages: ``notes_rate <userId> <scope key>``."""
        return f"{self.endpoint.name} {self.user_id} {self.scope_key}"


def _upstream(value: StrEnum) -> int:
    number = getattr(value, "upstream", None)
    if not isinstance(number, int):
        raise TypeError(f"{type(value).__name__} has no upstream number")
    return number


def _label(value: StrEnum) -> str:
    return str(getattr(value, "label", value.value))


class Registry(Mapping[str, EndpointSpec]):
    """The endpoints by name (iteration order = registration order) and by hosted path."""

    def __init__(self, specs: Sequence[EndpointSpec]) -> None:
        self._by_name: dict[str, EndpointSpec] = {}
        self._by_path: dict[str, EndpointSpec] = {}
        for spec in specs:
            if spec.name in self._by_name or spec.path in self._by_path:
                raise ValueError(f"endpoint {spec.name} ({spec.path}) is registered twice")
            self._by_name[spec.name] = spec
            self._by_path[spec.path] = spec

    def __getitem__(self, name: str) -> EndpointSpec:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def by_path(self, path: str) -> EndpointSpec | None:
        return self._by_path.get(path)

    def specs(self) -> tuple[EndpointSpec, ...]:
        return tuple(self._by_name.values())

    def extended(self, *specs: EndpointSpec) -> Registry:
        """This registry plus ``specs`` (tests and embedders add endpoints this way)."""
        return Registry([*self._by_name.values(), *specs])


BUSINESS_PARAM = EnumParam(
    "business",
    Business,
    Business.DAILY_NOTE,
    "Daily (日常) or sponsored (合作) notes.",
    "日常笔记或合作笔记。",
)
"""``business``: the same parameter on notes rate and data summary."""

NOTES_RATE_SPEC = EndpointSpec(
    name=NOTES_RATE,
    path=NOTES_RATE_PATH,
    title="Note Performance Metrics",
    title_zh="笔记数据",
    summary=(
        "Medians of impressions, reads and interactions, rates, traffic sources and recent notes "
        "of one creator in one scope (daily or sponsored notes, format, 30 or 90 days, all or "
        "organic traffic)."
    ),
    summary_zh="博主某一范围内笔记的曝光、阅读、互动中位数，互动率、流量来源与近期笔记。",
    params=(
        BUSINESS_PARAM,
        EnumParam(
            "noteType",
            NoteType,
            NoteType.PHOTO_TEXT_AND_VIDEO,
            "Note format: photo-text and video, photo-text only, or video only.",
            "笔记类型：图文+视频、图文或视频。",
        ),
        EnumParam(
            "dateType",
            DateType,
            DateType.DAY_30,
            "Notes published in the last 30 or 90 days.",
            "近30天或近90天发布的笔记。",
        ),
        EnumParam(
            "advertiseSwitch",
            AdvertiseSwitch,
            AdvertiseSwitch.ALL,
            "All traffic, or organic traffic only (paid boost excluded).",
            "全流量或仅自然流量。",
        ),
    ),
    data_model_path="pgy_metrics.contract.models:NotesRateData",
    ttl_seconds=6 * 3600,
)
"""Note Performance Metrics: the first endpoint, and the model of the others."""

_USER_ID_IN_QUERY = " The creator id goes in the query; ``userId`` in the path is a literal word."

BLOGGER_PROFILE_SPEC = EndpointSpec(
    name=BLOGGER_PROFILE,
    path=f"{API_PREFIX}/api/solar/cooperator/user/blogger/userId/v1",
    title="Creator Profile",
    title_zh="达人档案与合作报价",
    summary=(
        "The creator's profile: follower count, prices per photo-text and video note (CNY, null "
        "when not on the marketplace), order states, account level, content and persona tags, "
        "agency." + _USER_ID_IN_QUERY
    ),
    summary_zh="博主档案：粉丝数、图文/视频笔记报价（元）、接单状态、账号等级、内容与人设标签、机构。",
    data_model_path="pgy_metrics.contract.siblings:BloggerProfileData",
    ttl_seconds=6 * 3600,
)
"""Creator Profile (``/get-kol-info/v1``'s successor)."""

DATA_SUMMARY_SPEC = EndpointSpec(
    name=DATA_SUMMARY,
    path=f"{API_PREFIX}/api/solar/kol/dataV3/dataSummary/v1",
    title="Data Summary",
    title_zh="数据概览",
    summary=(
        "Medians of impressions, reads and interactions, responsiveness, follower growth and the "
        "platform's estimated CPM and cost per interaction of one creator, for daily or sponsored "
        "notes."
    ),
    summary_zh="博主数据概览：曝光、阅读、互动中位数，活跃与回复率，涨粉，以及平台预估的CPM与互动单价。",
    params=(BUSINESS_PARAM,),
    data_model_path="pgy_metrics.contract.siblings:DataSummaryData",
    ttl_seconds=DAILY_TTL_SECONDS,
)
"""Data Summary (``/get-kol-data-summary/v2``'s successor)."""

FANS_SUMMARY_SPEC = EndpointSpec(
    name=FANS_SUMMARY,
    path=f"{API_PREFIX}/api/solar/kol/dataV3/fansSummary/v1",
    title="Fans Summary",
    title_zh="粉丝表现摘要",
    summary=(
        "Follower count, 30-day follower growth, and the shares of followers who were active, "
        "interacted, read or ordered in the last 28-30 days (0-100 strings)."
    ),
    summary_zh="粉丝数、近30天涨粉，以及活跃、互动、阅读、下单粉丝占比。",
    data_model_path="pgy_metrics.contract.siblings:FansSummaryData",
    ttl_seconds=DAILY_TTL_SECONDS,
)
"""Fans Summary (``/get-kol-fans-summary/v1``'s successor)."""

FANS_PROFILE_SPEC = EndpointSpec(
    name=FANS_PROFILE,
    path=f"{API_PREFIX}/api/solar/kol/data/userId/fans_profile/v1",
    title="Follower Distribution",
    title_zh="粉丝画像",
    summary=(
        "The creator's audience: shares (0-1 fractions) by age group, gender, interest, province, "
        "city and phone brand." + _USER_ID_IN_QUERY
    ),
    summary_zh="粉丝画像：年龄、性别、兴趣、省份、城市、设备的占比（0-1）。",
    data_model_path="pgy_metrics.contract.siblings:FansProfileData",
    ttl_seconds=DAILY_TTL_SECONDS,
)
"""Follower Distribution (``/get-kol-fans-portrait/v1``'s successor)."""

FANS_HISTORY_SPEC = EndpointSpec(
    name=FANS_HISTORY,
    path=f"{API_PREFIX}/api/solar/kol/data/userId/fans_overall_new_history/v1",
    title="Follower Growth History",
    title_zh="粉丝趋势",
    summary=(
        "The creator's follower count (or daily new followers) per day over the last 30 or 90 "
        "days, with the change and its rate (a 0-1 fraction)." + _USER_ID_IN_QUERY
    ),
    summary_zh="近30天或近90天每日总粉丝数或新增粉丝数，及其变化量与变化率。",
    params=(
        EnumParam(
            "dateType",
            DateType,
            DateType.DAY_30,
            "The last 30 or 90 days.",
            "近30天或近90天。",
        ),
        EnumParam(
            "increaseType",
            IncreaseType,
            IncreaseType.FANS_TOTAL,
            "Total followers per day, or new followers per day.",
            "总粉丝数或新增粉丝数。",
        ),
    ),
    data_model_path="pgy_metrics.contract.siblings:FansHistoryData",
    ttl_seconds=DAILY_TTL_SECONDS,
)
"""Follower Growth History (``/get-kol-fans-trend/v1``'s successor)."""

SIBLING_SPECS = (
    BLOGGER_PROFILE_SPEC,
    DATA_SUMMARY_SPEC,
    FANS_SUMMARY_SPEC,
    FANS_PROFILE_SPEC,
    FANS_HISTORY_SPEC,
)
"""The five sibling endpoints of notes rate, in the order of docs/api.md."""

ENDPOINTS = Registry([NOTES_RATE_SPEC, *SIBLING_SPECS])
"""Every endpoint this project serves, by name."""


def notes_query(user_id: str, scope: Scope) -> Query:
    """The notes-rate query of a creator and scope (the typed scope callers already hold)."""
    return Query(
        NOTES_RATE_SPEC,
        user_id,
        (scope.business, scope.note_type, scope.date_type, scope.advertise_switch),
    )


def base_url_problem(base_url: str) -> str | None:
    """What makes ``base_url`` unusable as the base of the API (ours, the hosted one or
    Pugongying), or None. Only scheme, host and an optional path prefix are allowed; a URL with a
    query, fragment or ``user:password@`` is refused without being echoed, since a token pasted
    into it is exactly what this guards against (tokens have their own setting)."""
    try:
        parts = urlsplit(base_url)
        _ = parts.port  # raises on a malformed port
    except (ValueError, TypeError, AttributeError):
        return "base_url is not a URL"
    if parts.query or parts.fragment or parts.username or parts.password:
        return (
            "base_url must be only scheme, host and optional path (no query, fragment or "
            "user:password); tokens have their own setting"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"base_url must be an http(s) URL (http:// or https://) with a host; got {base_url!r}"
        )
    return None
