"""Health: upstream outcomes counted per minute, labelled the way the hosted API's docs page does.

Only upstream outcomes count: an attempt a source made (per account where it has accounts), and
whether each source and the endpoint as a whole produced data. A caller's 400 or 601 never
reaches here, and neither does a cached answer (no upstream was asked).

Outcomes are tallied in memory and added to the store's per-minute buckets every few seconds
(increments, so several processes add up); labels are computed over the last
``window_minutes`` from the store, so every process shows the same page.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pgy_metrics.clock import Clock
from pgy_metrics.sources.base import Outcome
from pgy_metrics.store.database import Store
from pgy_metrics.store.health import BucketKey, Tally

log = logging.getLogger("pgy_metrics.health")

DEFAULT_WINDOW_MINUTES = 60
DEFAULT_FLUSH_SECONDS = 5.0
MIN_CALLS = 10
"""Fewer calls than this in the window: "No data", not a verdict on two unlucky calls."""
RETENTION_MINUTES = 7 * 24 * 60
ENDPOINT_LEVEL = ""
"""``source`` of the buckets that count the endpoint as a whole."""
SOURCE_LEVEL = ""
"""``account`` of the buckets that count a source as a whole."""
ATTEMPTS = "-"
"""``account`` of the attempts of a source that has no accounts."""


class LatencyObserver(Protocol):
    """The part of a labelled Prometheus histogram the recorder uses."""

    def labels(self, *, source: str) -> _Observe: ...


class _Observe(Protocol):
    def observe(self, amount: float) -> None: ...


class Label(enum.Enum):
    HEALTHY = "Healthy"
    AVAILABLE = "Available"
    LIMITED = "Limited"
    MOSTLY_UNAVAILABLE = "Mostly unavailable"
    NO_DATA = "No data"


THRESHOLDS: tuple[tuple[float, Label], ...] = (
    (0.975, Label.HEALTHY),
    (0.90, Label.AVAILABLE),
    (0.65, Label.LIMITED),
)


def label_for(ok: int, failed: int) -> Label:
    """Healthy >= 97.5 %, Available >= 90 %, Limited >= 65 %, below: Mostly unavailable; fewer
    than ``MIN_CALLS`` calls: No data."""
    calls = ok + failed
    if calls < MIN_CALLS:
        return Label.NO_DATA
    ratio = ok / calls
    for threshold, label in THRESHOLDS:
        if ratio >= threshold:
            return label
    return Label.MOSTLY_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class Health:
    """One subject's health over the window."""

    subject: str
    label: Label
    ok: int
    failed: int
    changed_at: datetime

    @property
    def calls(self) -> int:
        return self.ok + self.failed

    @property
    def ratio(self) -> float | None:
        return self.ok / self.calls if self.calls else None


@dataclass
class HealthRecorder:
    """Counts outcomes (an ``OutcomeSink``) and keeps the store's buckets and labels current."""

    store: Store
    clock: Clock
    endpoint: str
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    latency: LatencyObserver | None = None
    """Where upstream latencies go (the Prometheus histogram), if anywhere."""
    _pending: Counter[tuple[BucketKey, bool]] = field(default_factory=Counter)

    # -- counting (sync, cheap: called on the request path) -----------------------------------

    def record(self, outcome: Outcome) -> None:
        """An attempt a source made (with its account, or ``-`` for a source without any)."""
        self._count(outcome.source, outcome.account or ATTEMPTS, outcome.ok)
        if self.latency is not None:
            self.latency.labels(source=outcome.source).observe(outcome.latency_seconds)

    def record_source(
        self,
        source: str,
        *,
        ok: bool,
        latency_seconds: float | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Whether a source produced data for one collection (and how long it took)."""
        self._count(source, SOURCE_LEVEL, ok, endpoint)
        if self.latency is not None and latency_seconds is not None:
            self.latency.labels(source=source).observe(latency_seconds)

    def record_endpoint(self, *, ok: bool, endpoint: str | None = None) -> None:
        """Whether an endpoint's collection produced data at all (``endpoint``: its name; the
        recorder's own endpoint by default)."""
        self._count(ENDPOINT_LEVEL, SOURCE_LEVEL, ok, endpoint)

    def _count(self, source: str, account: str, ok: bool, endpoint: str | None = None) -> None:
        minute = int(self.clock.now().timestamp() // 60)
        self._pending[((minute, endpoint or self.endpoint, source, account), ok)] += 1

    @property
    def pending(self) -> int:
        """Outcomes counted but not yet in the store."""
        return sum(self._pending.values())

    # -- flushing and labelling ---------------------------------------------------------------

    async def flush(self) -> None:
        """Add what was counted to the store's buckets, then settle every subject's label."""
        pending, self._pending = self._pending, Counter()
        counts: dict[BucketKey, tuple[int, int]] = {}
        for (key, ok), n in pending.items():
            okay, failed = counts.get(key, (0, 0))
            counts[key] = (okay + n, failed) if ok else (okay, failed + n)
        try:
            await self.store.health.add(counts)
        except BaseException:
            self._pending.update(pending)  # try again next time; nothing is lost
            raise
        await self.current()

    async def flush_forever(self, interval_seconds: float = DEFAULT_FLUSH_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("could not write health buckets; they are kept for the next try")

    async def current(self) -> list[Health]:
        """Every subject's health over the window, labels settled (and their change times)."""
        now = self.clock.now()
        since = int(now.timestamp() // 60) - self.window_minutes + 1
        healths = []
        for tally in sorted(
            await self.store.health.tallies(since_minute=since),
            key=lambda t: (t.endpoint, t.source, t.account),
        ):
            label = label_for(tally.ok, tally.failed)
            subject = subject_of(tally)
            changed_at = await self.store.health.settle_label(subject, label.value, at=now)
            healths.append(Health(subject, label, tally.ok, tally.failed, changed_at))
        return healths


def subject_of(tally: Tally) -> str:
    """``notes_rate``, ``notes_rate/pugongying`` or ``notes_rate/pugongying/account-1``."""
    parts = [tally.endpoint, tally.source, tally.account]
    return "/".join(part for part in parts if part)
