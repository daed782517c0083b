"""Watchlists: creators × scopes kept fresh on a period, spread over it, within the pool's pace.

- **Periods** are written ``30m``, ``6h``, ``24h``, ``7d`` (``parse_every``), at least a minute.
- **Spreading**: each key's refreshes fall due at a stable offset within its period (a digest of
  the key, the same in every process: ``offset_seconds``), on the clock's grid of periods since
  the epoch (``next_due``). 10,000 keys on a 24 h list are then due about one every 8.6 s, not
  all at midnight; and the same key on two lists of one period falls due at the same moment, so
  the queue's lock per key makes it one collection.
- **Refresh** collects unless the key was collected within the last ``REFRESH_FRESHNESS`` of
  the period (``max_age_for``): a key collected for a caller a moment ago is not collected
  again, and a key whose last refresh was one period ago always is (even if that one ran late).
- **Capacity**: calls a day the watchlists need (each key at its shortest period) against what
  the account pool can make (accounts × pace × 86,400 s).

Who pays: the operator. A refresh is a collection made by the server's workers on the server's
accounts; it goes through no token's gate, so no token is charged and no quota is counted.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SECONDS_PER_DAY = 86_400
UNITS = {"s": 1, "m": 60, "h": 3600, "d": SECONDS_PER_DAY}
MIN_PERIOD_SECONDS = 60
MAX_PERIOD_SECONDS = 999 * SECONDS_PER_DAY
EVERY_FORMS = (
    "a whole number of 1-999 and a unit: s, m, h or d (e.g. 30m, 6h, 24h, 7d), at least 60s"
)
EVERY_PATTERN = r"^(?:[6-9][0-9]|[1-9][0-9]{2})s$|^[1-9][0-9]{0,2}[mhd]$"
"""Exactly the periods accepted (the admin API's schema says the same)."""
REFRESH_FRESHNESS = 0.5
"""A refresh collects unless the key was collected within this share of the period (for a
caller, or by a refresh that ran late): a previous refresh delayed by up to half a period (a
busy pool, the first tick after an add) never makes the next one skip, and a caller's recent
collection saves an upstream call. The newest data is then never older than 1.5 periods."""
OVERDUE_AFTER = 1 + REFRESH_FRESHNESS + 0.1
"""A key is overdue when its newest snapshot is older than this many periods."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DEFAULT_LIST = "default"
_DURATION = re.compile(r"^(\d+)([smhd])$")

Key = tuple[str, str, str]


def parse_every(text: str, *, option: str = "--every") -> int:
    """``30m``/``6h``/``24h``/``7d`` as seconds; ``ValueError`` naming the option and the forms."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"{option} must be {EVERY_FORMS}; got {text!r}")
    if not re.fullmatch(EVERY_PATTERN, text):
        seconds = int(found.group(1)) * UNITS[found.group(2)]
        if seconds < MIN_PERIOD_SECONDS:
            raise ValueError(f"{option} must be at least 1m (60s); got {text!r}")
        raise ValueError(f"{option} must be {EVERY_FORMS}; got {text!r}")
    return int(found.group(1)) * UNITS[found.group(2)]


def format_period(seconds: int) -> str:
    """The largest unit that divides the period: ``86400`` is ``24h``, ``604800`` is ``7d``."""
    if seconds % SECONDS_PER_DAY == 0 and seconds // SECONDS_PER_DAY != 1:
        return f"{seconds // SECONDS_PER_DAY}d"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check_list_name(name: str, *, option: str = "--list") -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ValueError(
            f"{option} must be 1-100 letters, digits, '_', '.' or '-', starting with a letter "
            f"or digit; got {name!r}"
        )
    return name


def offset_seconds(key: Key, period_seconds: int) -> float:
    """Where in its period a key falls due: a digest of the key, to the millisecond."""
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % (period_seconds * 1000)) / 1000


def next_due(key: Key, period_seconds: int, after: datetime) -> datetime:
    """The key's first due time strictly after ``after``: ``k × period + offset`` since the
    epoch, the same grid in every process and after every restart."""
    offset = offset_seconds(key, period_seconds)
    moment = after.timestamp()
    k = math.floor((moment - offset) / period_seconds) + 1
    due = k * period_seconds + offset
    if due <= moment:  # float rounding at the boundary
        due += period_seconds
    return datetime.fromtimestamp(due, tz=UTC)


def max_age_for(period_seconds: int) -> timedelta:
    """The freshness a refresh asks for (see the module doc)."""
    return timedelta(seconds=period_seconds * REFRESH_FRESHNESS)


def is_overdue(
    *,
    period_seconds: int,
    added_at: datetime,
    last_collected_at: datetime | None,
    now: datetime,
) -> bool:
    """Not collected within ``OVERDUE_AFTER`` periods, though on the list longer than that."""
    allowed = timedelta(seconds=period_seconds * OVERDUE_AFTER)
    if now - added_at < allowed:
        return False
    return last_collected_at is None or now - last_collected_at > allowed


# -- capacity -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the account pool can do: accounts and their summed pace."""

    accounts: int
    calls_per_second: float

    @property
    def calls_per_day(self) -> float:
        return self.calls_per_second * SECONDS_PER_DAY

    def describe(self) -> str:
        return (
            f"{self.accounts} account{'s' if self.accounts != 1 else ''} × "
            f"{_number(self.calls_per_second / self.accounts if self.accounts else 0)} "
            f"requests/s × 86,400 s = {_number(self.calls_per_day)} calls a day"
        )


def capacity_of(sources: Iterable[Any]) -> Capacity | None:
    """The pool of sources with accounts (a Pugongying spec or source, its config, a failover
    of them); None when no source has accounts (sandbox, replay, a relay billed per call):
    then no account pace limits collection."""
    accounts = 0
    rate = 0.0
    for source in _flatten(sources):
        holder = getattr(source, "config", source)
        members = getattr(holder, "accounts", None)
        default = getattr(holder, "requests_per_second", None)
        if not isinstance(members, list | tuple) or default is None:
            continue
        for account in members:
            own = getattr(account, "requests_per_second", None)
            accounts += 1
            rate += float(own or default)
    if accounts == 0:
        return None
    return Capacity(accounts=accounts, calls_per_second=rate)


def _flatten(sources: Iterable[Any]) -> Iterable[Any]:
    for source in sources:
        members = getattr(source, "sources", None)
        if isinstance(members, list | tuple):
            yield from _flatten(members)
        else:
            yield source


def calls_per_day(periods: Iterable[tuple[Key, int]]) -> float:
    """Upstream calls a day to refresh every key at its shortest period (a key on two lists
    is collected once per the shorter one: the longer list's refresh finds it fresh)."""
    shortest: dict[Key, int] = {}
    for key, period in periods:
        shortest[key] = min(period, shortest.get(key, period))
    return sum(SECONDS_PER_DAY / period for period in shortest.values())


def shortfall_warning(needed: float, capacity: Capacity | None) -> str | None:
    """A sentence naming the shortfall when the watchlists need more than the pool makes."""
    if capacity is None or needed <= capacity.calls_per_day:
        return None
    short = needed - capacity.calls_per_day
    return (
        f"warning: the watchlists need {_number(needed)} calls a day but the account pool makes "
        f"at most {capacity.describe()}: {_number(short)} calls a day short "
        f"({needed / capacity.calls_per_day:.0%} of capacity). Add accounts, lengthen --every "
        "or watch fewer creators or scopes; until then refreshes fall behind."
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2f}"


# -- status -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListStatus:
    """One list as ``pgy watch status`` and ``/admin/watchlists/status`` show it."""

    name: str
    period_seconds: int
    creators: int
    scopes: int
    keys: int
    next_due_at: datetime | None
    last_refreshed_at: datetime | None
    overdue: int
    calls_per_day: float

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "every": format_period(self.period_seconds),
            "periodSeconds": self.period_seconds,
            "creators": self.creators,
            "scopes": self.scopes,
            "keys": self.keys,
            "nextDueAt": _iso(self.next_due_at),
            "lastRefreshedAt": _iso(self.last_refreshed_at),
            "overdue": self.overdue,
            "callsPerDay": round(self.calls_per_day, 2),
        }


@dataclass(frozen=True, slots=True)
class Status:
    lists: list[ListStatus]
    calls_per_day: float
    capacity: Capacity | None
    warning: str | None

    def as_json(self) -> dict[str, object]:
        capacity = self.capacity
        return {
            "lists": [each.as_json() for each in self.lists],
            "callsPerDay": round(self.calls_per_day, 2),
            "capacity": None
            if capacity is None
            else {
                "accounts": capacity.accounts,
                "callsPerSecond": capacity.calls_per_second,
                "callsPerDay": round(capacity.calls_per_day, 2),
            },
            "warning": self.warning,
        }


def summarize(
    lists: Sequence[tuple[str, int]],
    states: Sequence[Any],
    *,
    now: datetime,
    capacity: Capacity | None,
) -> Status:
    """The status of every list from the store's ``Watchlist`` (name, period) pairs and
    ``ItemState`` rows."""
    by_list: dict[str, list[Any]] = {name: [] for name, _ in lists}
    for state in states:
        by_list.setdefault(state.list_name, []).append(state)
    shown = []
    for name, period in lists:
        mine = by_list.get(name, [])
        collected = [s.last_collected_at for s in mine if s.last_collected_at is not None]
        shown.append(
            ListStatus(
                name=name,
                period_seconds=period,
                creators=len({s.key[1] for s in mine}),
                scopes=len({(s.key[0], s.key[2]) for s in mine}),
                keys=len(mine),
                next_due_at=min((s.next_due_at for s in mine), default=None),
                last_refreshed_at=max(collected, default=None),
                overdue=sum(
                    is_overdue(
                        period_seconds=period,
                        added_at=s.added_at,
                        last_collected_at=s.last_collected_at,
                        now=now,
                    )
                    for s in mine
                ),
                calls_per_day=len(mine) * SECONDS_PER_DAY / period,
            )
        )
    needed = calls_per_day((s.key, s.period_seconds) for s in states)
    return Status(
        lists=shown,
        calls_per_day=needed,
        capacity=capacity,
        warning=shortfall_warning(needed, capacity),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


# -- the operations ``pgy watch`` and ``/admin/watchlists`` share --------------------------------


class UnknownWatchlist(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no watchlist is named {name!r} (pgy watch list shows them)")
        self.name = name


@dataclass(frozen=True, slots=True)
class AddResult:
    name: str
    period_seconds: int
    added: int
    already: int
    previous_period: int | None

    def describe(self) -> str:
        every = format_period(self.period_seconds)
        text = (
            f"watchlist {self.name!r}: {self.added} key(s) added, {self.already} already there; "
            f"refreshed every {every}, spread over the period"
        )
        if self.previous_period is not None:
            text += f" (the list's period changed from {format_period(self.previous_period)})"
        return text

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "every": format_period(self.period_seconds),
            "periodSeconds": self.period_seconds,
            "added": self.added,
            "already": self.already,
            "previousEvery": None
            if self.previous_period is None
            else format_period(self.previous_period),
        }


class Watchlists:
    """Add, list, remove and report watchlists on a store (the CLI and the admin API)."""

    def __init__(self, store: Any, clock: Any, capacity: Capacity | None) -> None:
        self._store = store
        self._clock = clock
        self.capacity = capacity

    async def add(
        self,
        name: str,
        user_ids: Sequence[str],
        scopes: Sequence[tuple[str, str]],
        period_seconds: int,
    ) -> AddResult:
        """Watch every creator × (endpoint, scope key); the first refresh of each new key falls
        due at its place in the period (within one period), not all at once."""
        check_list_name(name)
        now = self._clock.now()
        keys = [(endpoint, user, scope) for user in user_ids for endpoint, scope in scopes]
        added = await self._store.watchlists.add(
            name,
            period_seconds,
            keys,
            now=now,
            due=lambda key, period: next_due(key, period, after=now),
        )
        return AddResult(name, period_seconds, added.added, added.already, added.previous_period)

    async def lists(self) -> list[Any]:
        result: list[Any] = await self._store.watchlists.lists()
        return result

    async def remove(self, name: str, user_ids: Sequence[str] | None = None) -> int:
        """Delete a list (no creators given) or these creators from it: keys removed."""
        if user_ids is None:
            removed = await self._store.watchlists.remove_list(name)
        else:
            removed = await self._store.watchlists.remove_creators(name, user_ids)
        if removed is None:
            raise UnknownWatchlist(name)
        return int(removed)

    async def status(self, name: str | None = None) -> Status:
        lists = [(w.name, w.period_seconds) for w in await self.lists()]
        if name is not None and name not in dict(lists):
            raise UnknownWatchlist(name)
        states = await self._store.watchlists.states()
        status = summarize(lists, states, now=self._clock.now(), capacity=self.capacity)
        if name is not None:
            status = Status(
                lists=[each for each in status.lists if each.name == name],
                calls_per_day=status.calls_per_day,
                capacity=status.capacity,
                warning=status.warning,
            )
        return status
