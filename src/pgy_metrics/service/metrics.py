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
from dataclasses import dataclass
from datetime import timedelta
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

DEFAULT_MEMORY_ENTRIES = 10_000
"""Latest snapshots kept in process memory, so a cached hit costs no database round trip."""

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
    """

    def __init__(
        self,
        *,
        store: Store,
        source: Source,
        clock: Clock,
        ttl: timedelta | None = None,
        memory_entries: int = DEFAULT_MEMORY_ENTRIES,
        health: HealthRecorder | None = None,
        deferred: Deferred | None = None,
    ) -> None:
        if ttl is not None and ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._store = store
        self._source = source
        self._serves = snapshot_names(source)
        self._clock = clock
        self._ttl = ttl
        self._memory: OrderedDict[FlightKey, Snapshot] = OrderedDict()
        self._memory_entries = memory_entries
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

    def cached(self, query: Query, *, max_age: timedelta | None = None) -> Snapshot | None:
        """A fresh snapshot this process holds in memory, without any I/O; else None.
        ``max_age`` as for ``serve``."""
        remembered = self._memory.get(query.key)
        if (
            remembered is not None
            and remembered.source in self._serves
            and self._is_fresh(remembered, query.endpoint, max_age)
        ):
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
        """
        key = query.key
        remembered = self._memory.get(key)
        if (
            remembered is not None
            and remembered.source in self._serves
            and self._is_fresh(remembered, query.endpoint, max_age)
        ):
            self._memory.move_to_end(key)
            self.cache_hits += 1
            return Served(remembered, cached=True)
        started = self._clock.now()
        joined = self._flights.get(key)
        snapshot = await self._fly(query, max_age, joined)
        if (
            max_age is not None
            and snapshot.collected_at < started
            and not self._is_fresh(snapshot, query.endpoint, max_age)
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
            self._is_fresh(stored, query.endpoint, max_age)
            or (
                max_age is not None
                and self._is_fresh(stored, query.endpoint)
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
        if stored is not None and self._is_fresh(stored, query.endpoint, max_age):
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
        self, snapshot: Snapshot, endpoint: EndpointSpec, max_age: timedelta | None = None
    ) -> bool:
        age = self._clock.now() - snapshot.collected_at
        return age < self.ttl(endpoint) and (max_age is None or age < max_age)

    def _remember(self, query: Query, snapshot: Snapshot) -> None:
        key = query.key
        self._memory[key] = snapshot
        self._memory.move_to_end(key)
        while len(self._memory) > self._memory_entries:
            self._memory.popitem(last=False)

    async def aclose(self) -> None:
        await self._source.aclose()


__all__ = ["CollectionError", "MetricsService", "Served"]
