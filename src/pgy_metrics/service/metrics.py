"""Serve the latest fresh snapshot, else fetch once (single-flight) and store a new snapshot.

Knows nothing of HTTP, tokens or money: the server decides who may ask and what it costs.

A snapshot is served only by a service whose source wrote it (``snapshot_names``: the source's
name, or any member of a failover chain). The store outlives a configuration: a server started
on the sandbox and restarted on Pugongying or a replay folder finds the sandbox's synthetic
snapshots there, fresh for hours. They are never served then; the configured source is asked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pgy_metrics.clock import Clock
from pgy_metrics.contract.endpoints import EndpointSpec, Query
from pgy_metrics.service.health import HealthRecorder
from pgy_metrics.sources.base import (
    AttributedSource,
    CollectionError,
    MalformedPayload,
    Source,
    snapshot_names,
)
from pgy_metrics.store.database import Store
from pgy_metrics.store.snapshots import Snapshot

DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024
"""Bytes of latest snapshots kept in process memory (``PGY_SNAPSHOT_CACHE_MB``), so that a
cached hit costs no database round trip: about 2,000 notes-rate answers of 6-9 KB. The soak
(``benchmarks/soak.py``) keeps a default server under 150 MB with it; 32 MB plateaued at 160."""

ENTRY_OVERHEAD_BYTES = 512
"""What one remembered snapshot costs besides its prepared bytes: the map's slot, the key's
tuple and strings, the ``Cached`` object and its datetime (measured at ~490 bytes with
``tracemalloc``, 2,000 entries). Counted so that many tiny entries cannot outgrow the bound."""

Prepare = Callable[[Snapshot], bytes]
"""``snapshot -> what a cached hit of it answers with``, made once when it is remembered: the
edge's encoded answer up to the request id (``server.answers.SuccessEncoder.prepare``). Opaque
bytes here: this module knows nothing of the wire format."""


def payload_bytes(snapshot: Snapshot) -> bytes:
    """The plain preparation (no edge given: tests, embedding): the payload as UTF-8."""
    return snapshot.payload.encode()


WORKER_CLOCK_SLACK = timedelta(seconds=1)
"""Queue mode: a worker's clock may lag this one's by this much; a snapshot it stored that
much before the request asked still counts as collected for the request."""

FlightKey = tuple[str, str, str]
"""``Query.key``: endpoint name, creator, scope key."""


class Deferred(Protocol):
    """Collection done elsewhere (``service.jobs.CollectionQueue``: a worker's job): returns once
    the query's snapshot is stored, raises ``CollectionError`` (a 301's message) otherwise."""

    async def collect(self, query: Query, max_age: timedelta | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Cached:
    """A snapshot as the in-memory cache keeps it: only what a cached hit reads.

    A hit checks the source and the age, and answers with the prepared bytes (the gate asks the
    edge's encoder to add the request id; the ledger records the source). The payload's text is
    not kept: a Python ``str`` of Chinese text with one emoji takes 4 bytes a character (a
    6-9 KB answer was a 24-35 KB ``str``), and the prepared bytes hold the same JSON as UTF-8.
    """

    id: int | None
    collected_at: datetime
    source: str
    answer: bytes

    @property
    def size(self) -> int:
        """What this entry counts against the cache's bound, in bytes."""
        return len(self.answer) + ENTRY_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class Served:
    """A snapshot and whether it was already stored (cached) or collected for this request."""

    snapshot: Snapshot
    cached: bool


class MetricsService:
    """``get(query)``: a snapshot younger than its endpoint's freshness (``ttl_seconds`` of the
    spec, or the operator's ``ttl`` for every endpoint) and written by one of the configured
    sources, collected at most once at a time.

    Freshness is decided against the store (shared by every server process); the in-memory map
    only remembers the newest snapshot this process has seen, which snapshots' immutability
    makes safe to reuse until its TTL runs out. The map only ever receives snapshots of the
    configured sources; a hit still checks its source (a set lookup, no I/O, no JSON).

    The map is bounded by bytes (``memory_bytes``, least recently used out), and keeps of each
    snapshot only what ``cached`` answers with (``Cached``: the ``prepare``d bytes, source,
    time, id). ``serve`` and ``get`` return whole snapshots, so they read the store (one indexed
    read) when nothing is to be collected; the gate asks ``cached`` first, which does no I/O.
    """

    def __init__(
        self,
        *,
        store: Store,
        source: Source,
        clock: Clock,
        ttl: timedelta | None = None,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        prepare: Prepare = payload_bytes,
        health: HealthRecorder | None = None,
        deferred: Deferred | None = None,
    ) -> None:
        if ttl is not None and ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        if memory_bytes < 0:
            raise ValueError("memory_bytes must be >= 0 (0 keeps nothing in memory)")
        self._store = store
        self._source = source
        self._serves = snapshot_names(source)
        self._clock = clock
        self._ttl = ttl
        self._memory: OrderedDict[FlightKey, Cached] = OrderedDict()
        self._memory_bytes = memory_bytes
        self._memory_used = 0
        self._prepare = prepare
        self._flights: dict[FlightKey, asyncio.Future[Snapshot]] = {}
        self._health = health
        self._deferred = deferred
        self.source_calls = 0
        self.cache_hits = 0
        self.flight_joins = 0

    @property
    def source_name(self) -> str:
        return self._source.name

    @property
    def source(self) -> Source:
        return self._source

    @property
    def snapshot_sources(self) -> frozenset[str]:
        """The ``Snapshot.source`` labels this service serves: those of its configured source."""
        return self._serves

    def serves(self, source: str | None) -> bool:
        """Whether data labelled ``source`` may be answered by this service (an unlabelled
        answer may not: where it came from is unknown)."""
        return source in self._serves

    def ttl(self, endpoint: EndpointSpec) -> timedelta:
        """How long a snapshot of ``endpoint`` answers before a new collection."""
        return self._ttl or timedelta(seconds=endpoint.ttl_seconds)

    async def get(self, query: Query) -> Snapshot:
        """The snapshot to answer with; raises ``CollectionError`` when collecting fails."""
        return (await self.serve(query)).snapshot

    @property
    def memory_used(self) -> int:
        """Bytes the in-memory cache counts now (``Cached.size`` of every entry)."""
        return self._memory_used

    @property
    def memory_entries(self) -> int:
        return len(self._memory)

    def cached(self, query: Query, *, max_age: timedelta | None = None) -> Cached | None:
        """A fresh snapshot this process holds in memory, without any I/O; else None.
        ``max_age`` as for ``serve``."""
        key = query.key
        remembered = self._memory.get(key)
        if (
            remembered is not None
            and remembered.source in self._serves
            and self._is_fresh(remembered.collected_at, query.endpoint, max_age)
        ):
            self._memory.move_to_end(key)
            self.cache_hits += 1
            return remembered
        return None

    async def serve(self, query: Query, *, max_age: timedelta | None = None) -> Served:
        """Like ``get``, also saying whether the snapshot was cached (cached answers may be
        priced differently).

        ``max_age`` is the caller's own limit (``Cache-Control: max-age=N``; zero for
        ``no-cache``): a stored snapshot answers only while younger than both it and the TTL.
        Single-flight still applies: a caller joins a collection under way, and only when the
        flight it joined answered from the store with a snapshot older than its limit does it
        start (or join) a second one, which then collects.

        A fresh snapshot comes from the store, not from memory, which keeps no payload text
        (``cached`` is the in-memory way, for callers that need only the prepared bytes).
        """
        key = query.key
        started = self._clock.now()
        joined = self._flights.get(key)
        snapshot = await self._fly(query, max_age, joined)
        if (
            max_age is not None
            and snapshot.collected_at < started
            and not self._is_fresh(snapshot.collected_at, query.endpoint, max_age)
        ):
            # The flight joined answered from the store, older than this caller accepts.
            again = self._flights.get(key)
            snapshot = await self._fly(query, max_age, again if again is not joined else None)
        return Served(snapshot, cached=snapshot.collected_at < started)

    async def _fly(
        self, query: Query, max_age: timedelta | None, flight: asyncio.Future[Snapshot] | None
    ) -> Snapshot:
        """Join ``flight``, or start the key's flight when there is none to join."""
        key = query.key
        if flight is None:
            flight = asyncio.ensure_future(self._load(query, max_age))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        else:
            self.flight_joins += 1
        # shield: one caller hanging up must not cancel the fetch the others are waiting for.
        return await asyncio.shield(flight)

    def _land(self, key: FlightKey, flight: asyncio.Future[Snapshot]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # mark retrieved even if every waiter went away

    async def _load(self, query: Query, max_age: timedelta | None = None) -> Snapshot:
        """The stored snapshot if fresh; else collect it, once across the cluster.

        On PostgreSQL several processes may miss at once: the first takes the key's advisory
        lock (``Store.collection_lock``) and collects; the others wait for the lock, then find
        its snapshot on re-reading and answer it (same ``recordTime``). If the holder failed,
        there is no snapshot: the next waiting process collects once itself (one flight per
        process, its askers share its answer), so a failure costs at most one more paced
        upstream call per waiting process and each answers its own 301.
        """
        stored = await self._fresh_stored(query, max_age)
        if stored is not None:
            return stored
        if self._deferred is not None:
            return await self._load_deferred(query, max_age)
        async with self._store.collection_lock(query.key):
            if not self._store.is_sqlite:
                # Another process may have collected while this one waited for the lock.
                stored = await self._fresh_stored(query, max_age)
                if stored is not None:
                    return stored
            return await self._collect_and_store(query)

    async def _load_deferred(self, query: Query, max_age: timedelta | None) -> Snapshot:
        """Queue mode (``PGY_COLLECT=queue``): a worker collects; this reads what it stored."""
        assert self._deferred is not None
        asked = self._clock.now()
        await self._deferred.collect(query, max_age)
        stored = await self._store.snapshots.latest(
            query.endpoint.name, query.user_id, query.scope_key, sources=self._serves
        )
        # With a caller's own limit (``no-cache`` is 0) no stored snapshot is young enough by
        # age: the one the job collected for it is, whatever its age by now.
        if stored is None or not (
            self._is_fresh(stored.collected_at, query.endpoint, max_age)
            or (
                max_age is not None
                and self._is_fresh(stored.collected_at, query.endpoint)
                and stored.collected_at >= asked - WORKER_CLOCK_SLACK
            )
        ):
            raise CollectionError(
                "The collection job finished without data fresh enough for this request from "
                "this server's sources (do the workers use the same --config?); retry later.",
                source=self._source.name,
            )
        self._remember(query, stored)
        return stored

    async def _fresh_stored(
        self, query: Query, max_age: timedelta | None = None
    ) -> Snapshot | None:
        stored = await self._store.snapshots.latest(
            query.endpoint.name, query.user_id, query.scope_key, sources=self._serves
        )
        if stored is not None and self._is_fresh(stored.collected_at, query.endpoint, max_age):
            self.cache_hits += 1
            self._remember(query, stored)
            return stored
        return None

    async def _collect_and_store(self, query: Query) -> Snapshot:
        self.source_calls += 1
        started = time.perf_counter()
        try:
            answered, data = await self._collect(query)
        except CollectionError:
            self._count(query, ok=False, seconds=time.perf_counter() - started)
            raise
        self._count(query, ok=True, seconds=time.perf_counter() - started)
        if not isinstance(data, dict):
            raise MalformedPayload(
                "The upstream answer had no data object.", source=self._source.name
            )
        try:
            payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise MalformedPayload(
                "The upstream answer could not be stored as JSON.", source=self._source.name
            ) from error
        snapshot = await self._store.snapshots.add(
            Snapshot(
                endpoint=query.endpoint.name,
                user_id=query.user_id,
                params_key=query.scope_key,
                collected_at=self._clock.now(),
                source=answered,
                payload=payload,
            )
        )
        self._remember(query, snapshot)
        return snapshot

    async def _collect(self, query: Query) -> tuple[str, dict[str, object]]:
        if isinstance(self._source, AttributedSource):
            return await self._source.fetch_attributed(query)
        return self._source.name, await self._source.fetch(query)

    def _count(self, query: Query, *, ok: bool, seconds: float) -> None:
        """Health: the endpoint's collection, and the source's when it is a single one (failover
        counts its members itself)."""
        if self._health is None:
            return
        endpoint = query.endpoint.name
        self._health.record_endpoint(ok=ok, endpoint=endpoint)
        if not isinstance(self._source, AttributedSource):
            self._health.record_source(
                self._source.name, ok=ok, latency_seconds=seconds, endpoint=endpoint
            )

    def _is_fresh(
        self, collected_at: datetime, endpoint: EndpointSpec, max_age: timedelta | None = None
    ) -> bool:
        age = self._clock.now() - collected_at
        return age < self.ttl(endpoint) and (max_age is None or age < max_age)

    def _remember(self, query: Query, snapshot: Snapshot) -> None:
        """Keep what a hit of ``snapshot`` needs, least recently used out past the byte bound.

        The key's older entry goes in any case (a newer snapshot was just collected or read): an
        entry larger than the whole bound is not kept, rather than leaving that older one to
        answer, or emptying the cache for it."""
        key = query.key
        memory = self._memory
        old = memory.get(key)
        if old is not None and old.id is not None and old.id == snapshot.id:
            memory.move_to_end(key)  # the same snapshot read again: nothing to prepare
            return
        if old is not None:
            del memory[key]
            self._memory_used -= old.size
        if self._memory_bytes == 0:
            return
        entry = Cached(
            id=snapshot.id,
            collected_at=snapshot.collected_at,
            source=snapshot.source,
            answer=self._prepare(snapshot),
        )
        size = entry.size
        if size > self._memory_bytes:
            return
        memory[key] = entry
        self._memory_used += size
        while self._memory_used > self._memory_bytes:
            _key, out = memory.popitem(last=False)
            self._memory_used -= out.size

    async def aclose(self) -> None:
        await self._source.aclose()


__all__ = ["Cached", "CollectionError", "MetricsService", "Prepare", "Served"]
