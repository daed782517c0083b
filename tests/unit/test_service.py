"""The metrics service on a real store: TTL, history, single-flight, failures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import DateType, Scope
from pgy_metrics.contract.endpoints import NOTES_RATE, notes_query
from pgy_metrics.service import MetricsService
from pgy_metrics.sources.base import CollectionError, snapshot_names
from pgy_metrics.sources.failover import FailoverSource
from pgy_metrics.store import Store
from tests.fakes import CountingSource, FailingSource

USER = "5d21ab6b000000001201567d"
START = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, object]:
    data: dict[str, object] = json.loads(fixture_bytes)["data"]
    return data


def service(
    store: Store, source: CountingSource, clock: FixedClock, **kw: object
) -> MetricsService:
    return MetricsService(
        store=store,
        source=source,
        clock=clock,
        ttl=timedelta(hours=6),
        **kw,  # type: ignore[arg-type]
    )


async def test_fresh_snapshot_is_served_without_a_source_call(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    source = CountingSource(payload)
    metrics = service(store, source, clock)
    first = await metrics.get(notes_query(USER, Scope()))
    clock.advance(hours=5, minutes=59)
    second = await metrics.get(notes_query(USER, Scope()))
    assert len(source.calls) == 1
    assert second.collected_at == first.collected_at == START
    assert json.loads(second.payload) == payload
    assert second.source == "counting"


async def test_a_new_process_reads_the_fresh_snapshot_from_the_store(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    await service(store, CountingSource(payload), clock).get(notes_query(USER, Scope()))
    other_source = CountingSource(payload)
    snapshot = await service(store, other_source, clock).get(notes_query(USER, Scope()))
    assert other_source.calls == []
    assert snapshot.collected_at == START


async def test_stale_snapshot_is_refetched_and_history_kept(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    source = CountingSource(payload)
    metrics = service(store, source, clock)
    await metrics.get(notes_query(USER, Scope()))
    clock.advance(hours=6)
    newer = await metrics.get(notes_query(USER, Scope()))
    assert len(source.calls) == 2
    assert newer.collected_at == START + timedelta(hours=6)
    history = await store.snapshots.history(NOTES_RATE, USER, Scope().key)
    assert [s.collected_at for s in history] == [START, START + timedelta(hours=6)]
    latest = await store.snapshots.latest(NOTES_RATE, USER, Scope().key)
    assert latest is not None and latest.collected_at == newer.collected_at


async def test_scopes_are_cached_separately(store: Store, payload: dict[str, object]) -> None:
    source = CountingSource(payload)
    metrics = service(store, source, FixedClock(START))
    for scope in Scope.all():
        await metrics.get(notes_query(USER, scope))
    for scope in Scope.all():
        await metrics.get(notes_query(USER, scope))
    assert len(source.calls) == 24


async def test_100_concurrent_identical_requests_make_one_source_call(
    store: Store, payload: dict[str, object]
) -> None:
    gate = asyncio.Event()
    source = CountingSource(payload, gate=gate)
    metrics = service(store, source, FixedClock(START), memory_bytes=0)
    waiting = [asyncio.create_task(metrics.get(notes_query(USER, Scope()))) for _ in range(100)]
    await asyncio.sleep(0)  # every task reaches the flight before the gate opens
    while not source.calls:
        await asyncio.sleep(0.001)
    gate.set()
    snapshots = await asyncio.gather(*waiting)
    assert len(source.calls) == 1
    assert metrics.flight_joins == 99
    assert {s.id for s in snapshots} == {snapshots[0].id}
    assert len(await store.snapshots.history(NOTES_RATE, USER, Scope().key)) == 1


async def test_a_failed_flight_fails_every_waiter_and_the_next_call_retries(
    store: Store, payload: dict[str, object]
) -> None:
    source = FailingSource(payload)
    metrics = service(store, source, FixedClock(START))
    results = await asyncio.gather(
        *(metrics.get(notes_query(USER, Scope())) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, CollectionError) for r in results)
    assert len(source.calls) == 1
    # nothing half-written
    assert await store.snapshots.latest(NOTES_RATE, USER, Scope().key) is None
    source.healthy = True
    snapshot = await metrics.get(notes_query(USER, Scope()))
    assert json.loads(snapshot.payload) == payload


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(
    store: Store, payload: dict[str, object]
) -> None:
    gate = asyncio.Event()
    source = CountingSource(payload, gate=gate)
    metrics = service(store, source, FixedClock(START))
    impatient = asyncio.create_task(metrics.get(notes_query(USER, Scope())))
    patient = asyncio.create_task(metrics.get(notes_query(USER, Scope())))
    while not source.calls:
        await asyncio.sleep(0.001)
    impatient.cancel()
    gate.set()
    snapshot = await patient
    assert impatient.cancelled()
    assert snapshot.user_id == USER
    assert len(source.calls) == 1


def test_ttl_must_be_positive(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="ttl"):
        MetricsService(
            store=Store("sqlite+aiosqlite:///:memory:"),
            source=CountingSource({}),
            clock=FixedClock(START),
            ttl=timedelta(0),
        )


# -- snapshots never cross into a source that is not configured ------------------------------------


async def test_a_snapshot_of_another_source_is_never_served_and_the_configured_one_is_asked(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    sandbox = CountingSource(payload, name="sandbox")
    synthetic = await service(store, sandbox, clock).get(notes_query(USER, Scope()))
    clock.advance(minutes=5)  # well within the TTL: only the source makes it unusable
    real = CountingSource(payload, name="pugongying")
    switched = service(store, real, clock)
    served = await switched.serve(notes_query(USER, Scope()))
    assert len(real.calls) == 1
    assert (served.snapshot.source, served.cached) == ("pugongying", False)
    assert served.snapshot.id != synthetic.id
    clock.advance(seconds=1)
    again = await switched.serve(notes_query(USER, Scope()))  # its own snapshot, from the store
    assert (again.snapshot.id, again.cached, len(real.calls)) == (served.snapshot.id, True, 1)
    in_memory = switched.cached(notes_query(USER, Scope()))  # and from memory
    assert in_memory is not None and in_memory.id == served.snapshot.id
    # Back on the sandbox: its own (older, still fresh) snapshot, not Pugongying's newer one.
    back = CountingSource(payload, name="sandbox")
    restored = await service(store, back, clock).get(notes_query(USER, Scope()))
    assert back.calls == [] and restored.id == synthetic.id


async def test_when_the_configured_source_fails_another_sources_snapshot_is_not_the_answer(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    await service(store, CountingSource(payload, name="sandbox"), clock).get(
        notes_query(USER, Scope())
    )
    failing = FailingSource(payload)
    with pytest.raises(CollectionError):
        await service(store, failing, clock).get(notes_query(USER, Scope()))
    assert len(failing.calls) == 1


async def test_a_failover_chain_serves_the_snapshots_of_each_of_its_members(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    other_user = "5d21ab6b000000001201567e"
    day_90 = Scope(date_type=DateType.DAY_90)
    await service(store, CountingSource(payload, name="sandbox"), clock).get(
        notes_query(USER, Scope())
    )
    await service(store, CountingSource(payload, name="justoneapi"), clock).get(
        notes_query(other_user, Scope())
    )
    await service(store, CountingSource(payload, name="replay"), clock).get(
        notes_query(USER, day_90)
    )
    members = [CountingSource(payload, name="justoneapi"), CountingSource(payload, name="sandbox")]
    chain = service(store, FailoverSource(members), clock)  # type: ignore[arg-type]
    assert chain.snapshot_sources == {"justoneapi", "sandbox"}
    assert (await chain.get(notes_query(USER, Scope()))).source == "sandbox"
    assert (await chain.get(notes_query(other_user, Scope()))).source == "justoneapi"
    assert all(member.calls == [] for member in members)
    replayed_scope = await chain.get(notes_query(USER, day_90))  # replay is not a member: collected
    assert replayed_scope.source == "justoneapi" and len(members[0].calls) == 1


def test_snapshot_names_and_serves() -> None:
    plain = CountingSource({}, name="pugongying")
    chain = FailoverSource([plain, CountingSource({}, name="sandbox")])
    assert snapshot_names(plain) == {"pugongying"}
    assert snapshot_names(chain) == {"pugongying", "sandbox"}
    metrics = MetricsService(
        store=Store("sqlite+aiosqlite:///:memory:"), source=plain, clock=FixedClock(START)
    )
    assert metrics.serves("pugongying")
    assert not metrics.serves("sandbox")
    assert not metrics.serves(None)  # an answer that does not say where it came from


async def test_two_processes_sharing_postgresql_make_one_source_call_per_key(
    postgres_url: str, payload: dict[str, object]
) -> None:
    """Two stores (two engines, as two server processes have) and a service on each: concurrent
    misses of the same keys make one collection per key between them (the advisory lock), and
    both answer the same snapshot."""
    first_store, second_store = Store(postgres_url), Store(postgres_url)
    await first_store.migrate()
    try:
        clock = FixedClock(START)
        gate = asyncio.Event()
        source = CountingSource(payload, gate=gate)
        services = [service(first_store, source, clock), service(second_store, source, clock)]
        users = [f"{index:024x}" for index in range(5)]
        asks = [
            asyncio.ensure_future(services[index % 2].get(notes_query(user, Scope())))
            for index in range(40)
            for user in users
        ]
        while len(source.calls) < len(users):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the other process's flights are waiting for the lock
        gate.set()
        answers = await asyncio.gather(*asks)
        assert sorted(source.calls) == sorted((user, Scope().key) for user in users)
        by_user = {(a.user_id, a.id) for a in answers}
        assert len(by_user) == len(users)  # one snapshot per creator, served by both
    finally:
        await first_store.aclose()
        await second_store.aclose()


async def test_a_failed_holder_lets_the_waiting_process_collect_once(
    postgres_url: str, payload: dict[str, object]
) -> None:
    """What a 301 costs across processes: the waiter re-collects once after the holder failed."""
    first_store, second_store = Store(postgres_url), Store(postgres_url)
    await first_store.migrate()
    try:
        clock = FixedClock(START)
        failing = FailingSource(payload)
        services = [service(first_store, failing, clock), service(second_store, failing, clock)]
        query = notes_query(USER, Scope())
        outcomes = await asyncio.gather(
            *(services[index % 2].get(query) for index in range(20)), return_exceptions=True
        )
        assert all(isinstance(outcome, CollectionError) for outcome in outcomes)
        assert 1 <= len(failing.calls) <= 2
    finally:
        await first_store.aclose()
        await second_store.aclose()


async def test_concurrent_no_cache_asks_share_one_new_collection(
    store: Store, payload: dict[str, object]
) -> None:
    gate = asyncio.Event()
    gate.set()
    clock = FixedClock(START)
    source = CountingSource(payload, gate=gate)
    metrics = service(store, source, clock)
    query = notes_query(USER, Scope())
    first = await metrics.get(query)
    clock.advance(minutes=1)
    gate.clear()
    asks = [asyncio.create_task(metrics.serve(query, max_age=timedelta(0))) for _ in range(20)]
    while len(source.calls) < 2:
        await asyncio.sleep(0.001)
    gate.set()
    served = await asyncio.gather(*asks)
    assert len(source.calls) == 2  # one new collection for all twenty
    assert {s.snapshot.id for s in served} == {served[0].snapshot.id} != {first.id}
    assert not any(s.cached for s in served)
    assert metrics.flight_joins == 19


async def test_a_max_age_ask_joining_a_flight_answered_from_the_store_collects(
    store: Store, payload: dict[str, object]
) -> None:
    clock = FixedClock(START)
    query = notes_query(USER, Scope())
    stored = await service(store, CountingSource(payload), clock).get(query)  # another process
    clock.advance(minutes=10)
    source = CountingSource(payload)
    metrics = service(store, source, clock)
    plain = asyncio.create_task(metrics.serve(query))
    strict = asyncio.create_task(metrics.serve(query, max_age=timedelta(minutes=1)))
    answered, fresh = await asyncio.gather(plain, strict)
    assert metrics.flight_joins == 1  # the strict ask joined the plain one's flight first
    assert answered.snapshot.id == stored.id and answered.cached
    assert fresh.snapshot.id != stored.id and not fresh.cached
    assert len(source.calls) == 1
    clock.advance(seconds=1)
    younger = await metrics.serve(query, max_age=timedelta(minutes=1))
    assert younger.snapshot.id == fresh.snapshot.id and younger.cached  # young enough
