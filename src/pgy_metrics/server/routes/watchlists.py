"""The admin API's watchlists (``/admin/watchlists``, admin tokens only): what ``pgy watch add``,
``list``, ``remove`` and ``status`` do, over HTTP, through the same ``service.watchlists``.

Creators are ids and scopes notes_rate scope keys, each checked by the schema's pattern (the
CLI's profile URLs and scope presets live in the CLI and analytics, which the server layer does
not import); a bad one is a 422 naming it.
A refresh is paid by the operator: no token is charged for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.server.routes.admin import (
    ADMIN_REFUSALS,
    NAME_PATTERN,
    Admin,
    Invalid,
    Problem,
    _ClearValidationErrors,
    _problem,
)
from pgy_metrics.service.watchlists import (
    EVERY_FORMS,
    EVERY_PATTERN,
    UnknownWatchlist,
    Watchlists,
    capacity_of,
    format_period,
    parse_every,
)

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server.admin")

DEFAULT_SCOPE = "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL"
MAX_CREATORS = 2_000
"""Creators per request: 2,000 ids fit in the default body limit (64 KiB), so that a longer
list is a 422 naming the limit, not a 413; send larger lists in several requests."""

ListName = Annotated[
    str,
    Path(
        description="The watchlist's name: 1-100 letters, digits, `_`, `.` or `-`.",
        max_length=100,
        pattern=NAME_PATTERN,
    ),
]
USER_ID_PATTERN = "^[0-9a-f]{24}$"
UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
SCOPE_PATTERN = (
    "^"
    + r"\.".join(
        "(" + "|".join(member.value for member in enum) + ")"
        for enum in (Business, NoteType, DateType, AdvertiseSwitch)
    )
    + "$"
)
ScopeKey = Annotated[str, Field(pattern=SCOPE_PATTERN)]
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": Problem, "description": "No watchlist has this name."}
}


class WatchAdd(BaseModel):
    """Creators and scopes to watch, and how often (`pgy watch add`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    userIds: list[UserId] = Field(
        min_length=1,
        max_length=MAX_CREATORS,
        description="Creator ids (24 lowercase hex characters; `pgy watch add` also reads "
        "profile URLs).",
        examples=[["5d21ab6b000000001201567d"]],
    )
    scopes: list[ScopeKey] = Field(
        default_factory=lambda: [DEFAULT_SCOPE],
        min_length=1,
        max_length=24,
        description="notes_rate scope keys (`business.noteType.dateType.advertiseSwitch`); "
        "`pgy watch add --scopes` expands its presets (analysis, core, ...) to these keys.",
        examples=[[DEFAULT_SCOPE, "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_90.ALL"]],
    )
    every: str = Field(
        default="24h",
        max_length=20,
        pattern=EVERY_PATTERN,
        description=f"The refresh period: {EVERY_FORMS}.",
        examples=["24h"],
    )


class WatchAdded(BaseModel):
    name: str
    every: str
    periodSeconds: int
    added: int = Field(description="Keys (creator × endpoint × scope) new on the list.")
    already: int = Field(description="Keys that were on the list already.")
    previousEvery: str | None = Field(description="The list's period before, if it changed.")
    warning: str | None = Field(description="Set when the watchlists exceed the pool's capacity.")


class WatchlistView(BaseModel):
    name: str
    every: str
    periodSeconds: int
    creators: int
    keys: int
    createdAt: str


class WatchRemoved(BaseModel):
    name: str
    removed: int = Field(description="Keys taken off (all of them when the list was deleted).")
    deleted: bool = Field(description="Whether the whole list was deleted.")


class ListStatusView(BaseModel):
    name: str
    every: str
    periodSeconds: int
    creators: int
    scopes: int
    keys: int
    nextDueAt: str | None
    lastRefreshedAt: str | None
    overdue: int = Field(description="Keys whose newest data is older than 1.6 periods.")
    callsPerDay: float


class CapacityView(BaseModel):
    accounts: int
    callsPerSecond: float
    callsPerDay: float


class WatchStatus(BaseModel):
    """`pgy watch status`: per list, and the calls a day needed against the pool's capacity."""

    lists: list[ListStatusView]
    callsPerDay: float = Field(description="Upstream calls a day every list needs together.")
    capacity: CapacityView | None = Field(
        description="accounts × pace × 86,400 s; null when the sources have no account pool."
    )
    warning: str | None = Field(description="The shortfall, when the lists cannot fit.")


router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    route_class=_ClearValidationErrors,
    responses=ADMIN_REFUSALS,
)


def _watchlists(request: Request) -> Watchlists:
    runtime: Runtime = request.app.state.runtime
    return Watchlists(runtime.store, runtime.clock, capacity_of([runtime.service.source]))


@router.get("/watchlists", summary="List watchlists")
async def list_watchlists(request: Request, _admin: Admin) -> list[WatchlistView]:
    """Every watchlist with its period, creators and keys (as `pgy watch list`)."""
    return [
        WatchlistView(
            name=w.name,
            every=format_period(w.period_seconds),
            periodSeconds=w.period_seconds,
            creators=w.creators,
            keys=w.keys,
            createdAt=w.created_at.isoformat(timespec="seconds"),
        )
        for w in await _watchlists(request).lists()
    ]


@router.get(
    "/watchlists/status", summary="Watchlists against the pool's capacity", responses=NOT_FOUND
)
async def watchlists_status(
    request: Request,
    _admin: Admin,
    list_name: Annotated[
        str | None,
        Query(alias="list", description="Only this watchlist.", pattern=NAME_PATTERN),
    ] = None,
) -> WatchStatus:
    """Per list: creators × scopes, period, next refresh due, last refreshed, overdue keys; and
    the calls a day needed against accounts × pace × 86,400 s, with a warning naming the
    shortfall (as `pgy watch status`)."""
    try:
        status = await _watchlists(request).status(list_name)
    except UnknownWatchlist as error:
        raise _problem(404, str(error)) from None
    return WatchStatus.model_validate(status.as_json())


@router.post(
    "/watchlists/{name}",
    summary="Watch creators",
    responses={
        **NOT_FOUND,
        422: {"model": Problem, "description": "A field is invalid (scopes, every, ...)."},
    },
)
async def add_to_watchlist(
    request: Request, admin: Admin, name: ListName, body: WatchAdd
) -> WatchAdded:
    """Create or extend a watchlist (as `pgy watch add`): each creator × scope is refreshed
    every period, spread over it; a new `every` re-plans the whole list."""
    from pgy_metrics.contract.endpoints import NOTES_RATE
    from pgy_metrics.contract.params import ParamError, Scope

    try:
        period = parse_every(body.every, option="every")
    except ValueError as error:
        raise Invalid("every", "body", str(error)) from None
    try:
        keys = [(NOTES_RATE, Scope.from_key(key).key) for key in body.scopes]
    except ParamError as error:
        raise Invalid("scopes", "body", f"scopes: {error.message}") from None
    users = list(body.userIds)  # the schema's pattern checked each one
    watchlists = _watchlists(request)
    result = await watchlists.add(name, list(dict.fromkeys(users)), keys, period)
    status = await watchlists.status()
    log.info("admin %r added %d key(s) to watchlist %r", admin.name, result.added, name)
    return WatchAdded(**result.as_json(), warning=status.warning)


@router.delete("/watchlists/{name}", summary="Delete a watchlist or creators", responses=NOT_FOUND)
async def remove_from_watchlist(
    request: Request,
    admin: Admin,
    name: ListName,
    user_id: Annotated[
        list[UserId] | None,
        Query(
            alias="userId",
            description="Creators to take off the list (repeat the parameter); none: delete "
            "the whole list.",
        ),
    ] = None,
) -> WatchRemoved:
    """Delete a watchlist, or take creators off it (as `pgy watch remove`)."""
    from pgy_metrics.contract.params import ParamError, parse_user_ref

    creators = None
    if user_id:
        try:
            creators = [parse_user_ref(each) for each in user_id]
        except ParamError as error:
            raise Invalid("userId", "query", error.message) from None
    try:
        removed = await _watchlists(request).remove(name, creators)
    except UnknownWatchlist as error:
        raise _problem(404, str(error)) from None
    log.info("admin %r removed %d key(s) from watchlist %r", admin.name, removed, name)
    return WatchRemoved(name=name, removed=removed, deleted=creators is None)
