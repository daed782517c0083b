"""What fetching a pool costs (``quote``) and the fetch itself, a background task of the server
process (``PoolFetches``), every call through the gate as the holder's API calls are.

A pool fetches, per member, the notes-rate scopes the benchmark reads
(``analytics.scopes.ANALYSIS_SCOPES``: 8 of the 24) and the profile with prices
(``blogger_profile``, which plans read): 9 calls a creator, no more. Members already fetched
are not quoted or fetched again. Each call's ``Idempotency-Key`` is
``pool:<id>:<nonce>:<member>:<call>`` with the nonce kept on the pool, so a resumed fetch
(after a restart, or a second click) replays what was paid instead of paying twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import BLOGGER_PROFILE, NOTES_RATE, Query
from pgy_metrics.contract.params import Scope
from pgy_metrics.store.pools import DONE, FETCHING, PoolRecord, PoolRepository
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server.console")

CONCURRENT_MEMBERS = 3
"""Members fetched at once: a pool of hundreds must not crowd out the holder's other calls or
the account pool's pace."""
HEARTBEAT = timedelta(seconds=5)
STALE = timedelta(seconds=20)
"""A fetch whose heartbeat is older than this is no longer running (its process stopped)."""
REVOKED = "the token was revoked: nothing fetched"
INTERRUPTED = "interrupted"
"""The state shown for a pool whose fetch stopped before it finished (not stored: derived
from a stale heartbeat), with a Resume button."""


def pool_scopes() -> tuple[Scope, ...]:
    """The notes-rate scopes a pool member is fetched for (the analytics' eight)."""
    from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES

    return ANALYSIS_SCOPES


def member_queries(runtime: Runtime, user_id: str) -> list[Query]:
    """The calls one member costs: the analysis scopes of notes rate, then the profile."""
    notes = runtime.endpoints[NOTES_RATE]
    queries = [notes.query(user_id, **scope.api_params()) for scope in pool_scopes()]
    profile = runtime.endpoints.get(BLOGGER_PROFILE)
    if profile is not None:
        queries.extend(profile.scopes(user_id))
    return queries


@dataclass(frozen=True, slots=True)
class PoolQuote:
    """What fetching the members not yet fetched costs the holder now."""

    members: int
    calls: int
    cached: int
    total: int
    refused: tuple[str, ...]
    """Endpoints the token's plan does not allow (skipped)."""

    @property
    def fresh(self) -> int:
        return self.calls - self.cached


async def _stored(
    runtime: Runtime, user_ids: Sequence[str]
) -> dict[tuple[str, str, str], Snapshot]:
    """The latest stored snapshot of every call of these members, by (endpoint, creator,
    scope key): two queries for the whole pool, not one per call."""
    repository = PoolRepository(runtime.store.database)
    keys = [scope.key for scope in pool_scopes()]
    found = await repository.snapshots(NOTES_RATE, user_ids, keys)
    if BLOGGER_PROFILE in runtime.endpoints:
        found += await repository.snapshots(BLOGGER_PROFILE, user_ids)
    return {(s.endpoint, s.user_id, s.params_key): s for s in found}


def _in_hand(runtime: Runtime, query: Query, stored: Snapshot | None) -> bool:
    """Whether the gate would answer ``query`` from a cached snapshot now (as the creator
    page's quote decides: in memory, or stored by a served source within its freshness)."""
    service = runtime.service
    if service.cached(query) is not None:
        return True
    if stored is None or not service.serves(stored.source):
        return False
    return runtime.clock.now() - stored.collected_at < service.ttl(query.endpoint)


async def quote(runtime: Runtime, holder: TokenRecord, user_ids: Sequence[str]) -> PoolQuote:
    plan = holder.plan
    allowed = plan.endpoints
    calls = cached = total = 0
    refused: dict[str, None] = {}
    stored = await _stored(runtime, user_ids)
    for user_id in user_ids:
        for query in member_queries(runtime, user_id):
            spec = query.endpoint
            if allowed is not None and spec.permission not in allowed:
                refused[spec.name] = None
                continue
            in_hand = _in_hand(runtime, query, stored.get((spec.name, user_id, query.scope_key)))
            calls += 1
            cached += int(in_hand)
            total += runtime.billing.price(plan, spec.price_key, cached=in_hand)
    return PoolQuote(len(user_ids), calls, cached, total, tuple(refused))


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _failure(query: Query, code: BusinessCode, message: str | None) -> str:
    return f"{query.endpoint.name} {query.scope_key or ''}: {int(code)} {message or ''}".strip()


class PoolFetches:
    """The pool fetches running in this process, by pool id (a strong reference to each
    task, so none is collected mid-fetch)."""

    def __init__(self) -> None:
        self.running: dict[int, asyncio.Task[None]] = {}

    def state_of(self, pool: PoolRecord, runtime: Runtime) -> str:
        """The stored state, or ``interrupted`` for a fetch no process is running any more."""
        if pool.state != FETCHING or pool.id in self.running:
            return pool.state
        beat = pool.heartbeat_at
        if beat is None or runtime.clock.now() - beat > STALE:
            return INTERRUPTED
        return FETCHING  # another process's fetch, still beating

    async def start(self, runtime: Runtime, holder: TokenRecord, pool_id: int) -> bool:
        """Claim the pool's fetch and run it in the background; False when a fetch already
        holds it."""
        repository = PoolRepository(runtime.store.database)
        now = runtime.clock.now()
        nonce = await repository.start(
            pool_id, nonce=new_nonce(), now=now, stale_before=now - STALE
        )
        if nonce is None:
            return False
        task = asyncio.create_task(self._run(runtime, holder, pool_id, nonce))
        self.running[pool_id] = task
        task.add_done_callback(lambda _done: self.running.pop(pool_id, None))
        return True

    async def _run(self, runtime: Runtime, holder: TokenRecord, pool_id: int, nonce: str) -> None:
        repository = PoolRepository(runtime.store.database)
        beating = asyncio.create_task(self._beat(runtime, repository, pool_id))
        try:
            members = await repository.members(pool_id)
            slots = asyncio.Semaphore(CONCURRENT_MEMBERS)

            async def one(user_id: str) -> None:
                async with slots:
                    # The token as it is now: one revoked (or re-planned) mid-fetch is seen.
                    current = await runtime.store.tokens.by_name(holder.name)
                    if current is None or not current.active:
                        failed: str | None = REVOKED
                    else:
                        failed = await fetch_member(runtime, current, pool_id, nonce, user_id)
                    await repository.mark(pool_id, user_id, failed=failed, now=runtime.clock.now())

            await asyncio.gather(*(one(m.user_id) for m in members if m.status != DONE))
            await repository.finish(pool_id)
        except Exception:
            log.exception("the console's fetch of pool %s stopped", pool_id)
        finally:
            beating.cancel()

    @staticmethod
    async def _beat(runtime: Runtime, repository: PoolRepository, pool_id: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            await repository.beat(pool_id, runtime.clock.now())


async def fetch_member(
    runtime: Runtime, holder: TokenRecord, pool_id: int, nonce: str, user_id: str
) -> str | None:
    """Every allowed call of one member through the gate; None when all succeeded, else the
    first failure (endpoint, scope, code, message)."""
    allowed = holder.plan.endpoints
    failure: str | None = None
    for index, query in enumerate(member_queries(runtime, user_id)):
        if allowed is not None and query.endpoint.permission not in allowed:
            continue
        outcome = await runtime.gate.call(
            query.endpoint,
            query.api_params(),
            request_id="console-" + secrets.token_hex(12),
            idempotency_key=f"pool:{pool_id}:{nonce}:{user_id}:{index}",
            holder=holder,
        )
        if outcome.code is not BusinessCode.SUCCESS and failure is None:
            failure = _failure(query, outcome.code, outcome.message)
    return failure


def problems_json(problems: Sequence[tuple[int, str, str]]) -> str:
    return json.dumps([list(problem) for problem in problems], ensure_ascii=False)
