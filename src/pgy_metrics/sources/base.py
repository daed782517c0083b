"""The source interface and its error tree.

A source fetches the upstream ``data`` object of one query (endpoint, creator and parameters), or
raises a
``CollectionError``. The server maps every ``CollectionError`` to business code 301; anything else
escaping a source is a bug and becomes 500.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pgy_metrics.contract.endpoints import Query


class CollectionError(Exception):
    """Collecting the data failed; the caller may retry later (business code 301).

    ``message`` is safe to show to an API caller: it never contains a secret.
    """

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class UpstreamUnavailable(CollectionError):
    """The upstream did not answer usefully (timeout, 5xx, session lost, risk control)."""


class MalformedPayload(CollectionError):
    """The upstream answered, but not with a ``data`` object of the contract's shape."""


class NotRecorded(CollectionError):
    """A replay folder holds no recording for this creator + scope."""


class EndpointNotCollected(CollectionError):
    """This source has no mapping for the query's endpoint (code 301, never a 500): a source
    collects the endpoints it knows, and another source of a failover chain may know it."""

    def __init__(self, query: Query, *, source: str) -> None:
        super().__init__(
            f"The {source} source does not collect the {query.endpoint.name} endpoint.",
            source=source,
        )


class SessionLost(UpstreamUnavailable):
    """Every usable account's login is gone (HTTP 401, code -100/902/903/906, an HTML page)."""


class RiskControlled(UpstreamUnavailable):
    """The upstream's risk control refused us (code 300013, HTTP 406/461): back off."""


class SourceUnavailable(CollectionError):
    """The source cannot serve at all until an operator acts (a relay token that is invalid,
    out of quota, balance or permission). Failover skips it; health shows the reason."""


class AccountState(enum.Enum):
    """Where an upstream account stands, for rotation and the status page."""

    ACTIVE = "active"
    COOLING_DOWN = "cooling_down"
    """Risk control answered: rested with exponential backoff, then used again."""
    DISABLED = "disabled"
    """Its session is lost: unused until an operator logs it in again (new cookies)."""


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """A snapshot of one account's state, safe to show: no cookie, no token."""

    source: str
    account: str
    state: AccountState
    reason: str | None = None
    until: float | None = None
    """For a cooling-down account: when (``time.monotonic()``) it may be used again."""
    in_flight: int = 0
    """Calls on the account running now (in the whole cluster when the pool is shared)."""
    cooling_until: float | None = None
    """For a cooling-down account: when (epoch seconds) it may be used again."""
    last_failure: str | None = None
    """The short label of the account's last failed call (``session_lost``, ``http_5xx``...)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One upstream attempt, as health counts it (never a caller's 400 or 601)."""

    source: str
    account: str | None
    ok: bool
    reason: str | None
    """For a failure: a short class such as ``timeout``, ``http_5xx``, ``session_lost``,
    ``risk_control``, ``malformed`` or the relay's business code; never a secret."""
    latency_seconds: float


class OutcomeSink(Protocol):
    """Where sources report every upstream attempt (the health recorder, metrics)."""

    def record(self, outcome: Outcome) -> None: ...


@runtime_checkable
class Source(Protocol):
    """One origin of note performance data."""

    name: str
    """Short name recorded with every snapshot (``sandbox``, ``replay``, ``pugongying``...)."""

    async def fetch(self, query: Query) -> dict[str, Any]:
        """Return the upstream ``data`` object for the query, or raise ``CollectionError``
        (``EndpointNotCollected`` for an endpoint the source has no mapping for)."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class AttributedSource(Protocol):
    """A source made of others (failover) that says which one answered, for the snapshot."""

    name: str

    @property
    def member_names(self) -> frozenset[str]:
        """Every name ``fetch_attributed`` may answer with."""
        ...

    async def fetch_attributed(self, query: Query) -> tuple[str, dict[str, Any]]:
        """``(name of the source that answered, data)``, or raise."""
        ...


def snapshot_names(source: Source) -> frozenset[str]:
    """The ``Snapshot.source`` labels that ``source`` writes: its name, or for a source made of
    others (failover) the name of each member. A label is always a source's ``name`` (its kind:
    ``pugongying`` whichever account answered, ``justoneapi``, ``replay``, ``sandbox``), so a
    snapshot may be served by a server whose configured sources include that name, and by no
    other (the server never answers with data from a source it is not configured with)."""
    if isinstance(source, AttributedSource):
        return source.member_names
    return frozenset({source.name})
