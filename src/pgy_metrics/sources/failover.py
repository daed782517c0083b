"""Failover: the first source in the configured order that answers wins.

A source that fails is skipped for a cool-down instead of being asked again on every request
(a relay whose token ran out of balance will not recover by itself within a second), unless every
source is cooling down, in which case the one whose cool-down ends first is tried anyway: a
request is never refused without at least one attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pgy_metrics.contract.endpoints import Query
from pgy_metrics.sources.base import CollectionError, Source, SourceUnavailable

DEFAULT_COOLDOWN_SECONDS = 60.0
"""How long a failed source is skipped (a SourceUnavailable one: ``UNAVAILABLE_FACTOR`` x)."""
UNAVAILABLE_FACTOR = 5
"""A source that needs an operator (bad relay token, no balance) rests longer."""


@dataclass
class _Rest:
    until: float
    reason: str


class FailoverSource:
    """Ask each source in order; the answer carries the name of the one that answered."""

    name = "failover"

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        on_result: Callable[[str, bool], None] | None = None,
    ) -> None:
        """``on_result(source name, ok)`` hears whether each source tried produced data."""
        if not sources:
            raise ValueError("failover needs at least one source")
        names = [source.name for source in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique; got {', '.join(names)}")
        self.sources = list(sources)
        self._cooldown = cooldown_seconds
        self._monotonic = monotonic
        self._resting: dict[str, _Rest] = {}
        self._on_result = on_result or (lambda _name, _ok: None)

    @property
    def member_names(self) -> frozenset[str]:
        """The labels of this chain's snapshots: the name of each member (what
        ``fetch_attributed`` answers with)."""
        return frozenset(source.name for source in self.sources)

    async def fetch(self, query: Query) -> dict[str, Any]:
        return (await self.fetch_attributed(query))[1]

    async def fetch_attributed(self, query: Query) -> tuple[str, dict[str, Any]]:
        now = self._monotonic()
        ready = [s for s in self.sources if self._ready(s.name, now)]
        if not ready:  # all resting: try the one that has rested longest relative to its end
            ready = [min(self.sources, key=lambda s: self._resting[s.name].until)]
        failures: list[CollectionError] = []
        for source in ready:
            try:
                data = await source.fetch(query)
            except CollectionError as error:
                self._on_result(source.name, False)
                failures.append(error)
                factor = UNAVAILABLE_FACTOR if isinstance(error, SourceUnavailable) else 1
                self._resting[source.name] = _Rest(
                    until=self._monotonic() + self._cooldown * factor, reason=error.message
                )
                continue
            self._on_result(source.name, True)
            self._resting.pop(source.name, None)
            return source.name, data
        raise _combined(failures)

    def _ready(self, name: str, now: float) -> bool:
        rest = self._resting.get(name)
        return rest is None or rest.until <= now

    def resting(self) -> dict[str, tuple[float, str]]:
        """Sources skipped right now: name -> (seconds left, why)."""
        now = self._monotonic()
        return {
            name: (rest.until - now, rest.reason)
            for name, rest in self._resting.items()
            if rest.until > now
        }

    async def aclose(self) -> None:
        for source in self.sources:
            await source.aclose()


def _combined(failures: list[CollectionError]) -> CollectionError:
    if len(failures) == 1:
        return failures[0]
    summary = "; ".join(f"{f.source}: {f.message}" for f in failures)
    return CollectionError(f"Every source failed ({summary})", source="failover")
