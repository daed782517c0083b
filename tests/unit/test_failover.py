"""Failover: first answering source wins, the snapshot says which, failing sources rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import Scope
from pgy_metrics.contract.endpoints import NOTES_RATE, Query, notes_query
from pgy_metrics.service import MetricsService
from pgy_metrics.sources.base import CollectionError, SourceUnavailable, UpstreamUnavailable
from pgy_metrics.sources.failover import UNAVAILABLE_FACTOR, FailoverSource
from pgy_metrics.store import Store

USER = "5d21ab6b000000001201567d"


class Scripted:
    """A source that answers or fails as told, counting calls."""

    def __init__(self, name: str, *, fail: type[CollectionError] | None = None) -> None:
        self.name = name
        self.fail = fail
        self.calls = 0

    async def fetch(self, query: Query) -> dict[str, Any]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail(f"{self.name} is down", source=self.name)
        return {"noteNumber": 1, "from": self.name}

    async def aclose(self) -> None:
        return None


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_first_answering_source_wins_and_is_named() -> None:
    first, second = Scripted("pugongying", fail=UpstreamUnavailable), Scripted("justoneapi")
    failover = FailoverSource([first, second], monotonic=Ticker())
    assert await failover.fetch_attributed(notes_query(USER, Scope())) == (
        "justoneapi",
        {"noteNumber": 1, "from": "justoneapi"},
    )


async def test_a_failed_source_rests_for_its_cooldown_then_is_tried_again() -> None:
    ticker = Ticker()
    first, second = Scripted("a", fail=UpstreamUnavailable), Scripted("b")
    failover = FailoverSource([first, second], cooldown_seconds=60, monotonic=ticker)
    for _ in range(5):
        await failover.fetch(notes_query(USER, Scope()))
    assert (first.calls, second.calls) == (1, 5)
    assert set(failover.resting()) == {"a"}
    ticker.now += 61
    first.fail = None
    assert (await failover.fetch_attributed(notes_query(USER, Scope())))[0] == "a"
    assert failover.resting() == {}


async def test_an_unavailable_source_rests_longer() -> None:
    ticker = Ticker()
    first, second = Scripted("relay", fail=SourceUnavailable), Scripted("b")
    failover = FailoverSource([first, second], cooldown_seconds=10, monotonic=ticker)
    await failover.fetch(notes_query(USER, Scope()))
    ticker.now += 10 * UNAVAILABLE_FACTOR - 1
    await failover.fetch(notes_query(USER, Scope()))
    assert first.calls == 1
    ticker.now += 2
    await failover.fetch(notes_query(USER, Scope()))
    assert first.calls == 2


async def test_all_failing_raises_one_error_naming_each_and_never_refuses_untried() -> None:
    ticker = Ticker()
    a, b = Scripted("a", fail=UpstreamUnavailable), Scripted("b", fail=UpstreamUnavailable)
    failover = FailoverSource([a, b], monotonic=ticker)
    with pytest.raises(CollectionError, match=r"a: a is down; b: b is down"):
        await failover.fetch(notes_query(USER, Scope()))
    # both resting: still one attempt (the source whose rest ends first), not a refusal
    with pytest.raises(UpstreamUnavailable):
        await failover.fetch(notes_query(USER, Scope()))
    assert a.calls + b.calls == 3


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FailoverSource([])
    with pytest.raises(ValueError, match="unique"):
        FailoverSource([Scripted("a"), Scripted("a")])


async def test_the_snapshot_records_the_source_that_answered(store: Store) -> None:
    failover = FailoverSource([Scripted("a", fail=UpstreamUnavailable), Scripted("b")])
    service = MetricsService(
        store=store, source=failover, clock=FixedClock(datetime(2026, 11, 27, tzinfo=UTC))
    )
    snapshot = await service.get(notes_query(USER, Scope()))
    assert snapshot.source == "b"
    assert json.loads(snapshot.payload)["from"] == "b"
    stored = await store.snapshots.latest(NOTES_RATE, USER, Scope().key)
    assert stored is not None and stored.source == "b"
