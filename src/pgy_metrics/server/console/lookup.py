"""The creator page's two steps: what a look-up will cost (``quote``), then the look-up itself
(``fetch``), every call through the gate exactly as an API call.

A look-up is every scope of notes rate, the sibling endpoints (profile and prices, data summary,
fans summary, fans profile, fans history) and the history of the headline scope. The quote
prices each call as the gate would: the cached price where a fresh snapshot is in hand (the
process's memory or the store, of a source this server serves), else the fresh price; calls the
token's plan does not allow are listed and skipped. Nothing is fetched before the visitor
confirms a quote; a confirmation carries a nonce that becomes each call's ``Idempotency-Key``,
so submitting the same form twice replays the answers instead of paying twice.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE, EndpointSpec, Query
from pgy_metrics.contract.history import HISTORY
from pgy_metrics.contract.params import Scope
from pgy_metrics.store.tokens import TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

HEADLINE = Scope()
"""The scope the page opens, benchmarks and charts history on (the site's default filters)."""
CONCURRENT_CALLS = 4
"""Calls of one look-up in flight at once: enough to hide latency, few enough to leave the
account pool's pace to other callers."""


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One call of a look-up and what it will cost."""

    endpoint: EndpointSpec | None
    """None for the history call."""
    query: Query
    cached: bool
    price: int
    allowed: bool


@dataclass(frozen=True, slots=True)
class Quote:
    user_id: str
    lines: tuple[QuoteLine, ...]

    @property
    def total(self) -> int:
        """Credits the allowed calls cost at most (a fresh snapshot may have appeared since:
        then a call costs its cached price, never more)."""
        return sum(line.price for line in self.lines if line.allowed)

    @property
    def fresh_calls(self) -> int:
        return sum(1 for line in self.lines if line.allowed and not line.cached)

    @property
    def cached_calls(self) -> int:
        return sum(1 for line in self.lines if line.allowed and line.cached)

    @property
    def refused(self) -> tuple[str, ...]:
        """Endpoints the token's plan does not allow (skipped)."""
        return tuple(
            dict.fromkeys(
                line.endpoint.name if line.endpoint else HISTORY
                for line in self.lines
                if not line.allowed
            )
        )


def lookup_queries(runtime: Runtime, user_id: str) -> list[Query]:
    """Every call of a look-up but history: each notes-rate scope, then each other endpoint's
    every parameter combination (most have none)."""
    queries: list[Query] = []
    for spec in runtime.endpoints.values():
        queries.extend(spec.scopes(user_id))
    return queries


async def _in_hand(runtime: Runtime, query: Query) -> bool:
    """Whether the gate would answer this query from a cached snapshot now."""
    service = runtime.service
    if service.cached(query) is not None:
        return True
    stored = await runtime.store.snapshots.latest(
        query.endpoint.name, query.user_id, query.scope_key
    )
    if stored is None or not service.serves(stored.source):
        return False
    return runtime.clock.now() - stored.collected_at < service.ttl(query.endpoint)


async def quote(runtime: Runtime, holder: TokenRecord, user_id: str) -> Quote:
    """What looking ``user_id`` up costs ``holder`` now, call by call."""
    billing = runtime.billing
    plan = holder.plan
    allowed = plan.endpoints
    lines: list[QuoteLine] = []
    for query in lookup_queries(runtime, user_id):
        spec = query.endpoint
        cached = await _in_hand(runtime, query)
        lines.append(
            QuoteLine(
                spec,
                query,
                cached,
                billing.price(plan, spec.price_key, cached=cached),
                allowed is None or spec.permission in allowed,
            )
        )
    headline = runtime.endpoints[NOTES_RATE].query(user_id, **HEADLINE.api_params())
    lines.append(
        QuoteLine(
            None,
            headline,
            False,
            billing.price(plan, HISTORY, cached=False),
            allowed is None or HISTORY in allowed,
        )
    )
    return Quote(user_id, tuple(lines))


@dataclass(frozen=True, slots=True)
class Answer:
    """One call's outcome as the page shows it."""

    query: Query
    code: BusinessCode
    message: str | None
    data: Any
    record_time: str | None
    charged: int


@dataclass
class Lookup:
    """Everything one confirmed look-up answered."""

    user_id: str
    answers: list[Answer] = field(default_factory=list)
    history: Answer | None = None

    @property
    def charged(self) -> int:
        extra = self.history.charged if self.history is not None else 0
        return sum(answer.charged for answer in self.answers) + extra

    def of(self, endpoint: str) -> list[Answer]:
        return [answer for answer in self.answers if answer.query.endpoint.name == endpoint]

    def data_of(self, endpoint: str) -> Mapping[str, Any] | None:
        """The ``data`` of an endpoint without parameters, when its call succeeded."""
        for answer in self.of(endpoint):
            if answer.code is BusinessCode.SUCCESS and isinstance(answer.data, Mapping):
                return answer.data
        return None


def _request_id() -> str:
    """A new request id per call (the ledger's key): a resubmitted form is deduplicated by its
    idempotency keys, not by request ids."""
    return "console-" + secrets.token_hex(12)


def _answer(query: Query, outcome: Any) -> Answer:
    data: Any = None
    record_time: str | None = None
    if outcome.body is not None:
        envelope = json.loads(outcome.body)
        data = envelope.get("data")
        record_time = envelope.get("recordTime")
    return Answer(query, outcome.code, outcome.message, data, record_time, outcome.charged)


async def fetch(runtime: Runtime, holder: TokenRecord, given: Quote, nonce: str) -> Lookup:
    """Run the allowed calls of a confirmed quote through the gate, as ``holder``."""
    gate = runtime.gate
    result = Lookup(given.user_id)
    slots = asyncio.Semaphore(CONCURRENT_CALLS)

    async def call(index: int, line: QuoteLine) -> Answer:
        async with slots:
            query = line.query
            outcome = await gate.call(
                query.endpoint,
                query.api_params(),
                request_id=_request_id(),
                idempotency_key=f"console:{nonce}:{index}",
                holder=holder,
            )
            return _answer(query, outcome)

    calls = [
        call(index, line)
        for index, line in enumerate(given.lines)
        if line.allowed and line.endpoint is not None
    ]
    result.answers = list(await asyncio.gather(*calls))
    history = next((line for line in given.lines if line.endpoint is None), None)
    if history is not None and history.allowed:
        outcome = await gate.history(
            history.query.api_params(), request_id=_request_id(), holder=holder
        )
        result.history = _answer(history.query, outcome)
    return result
