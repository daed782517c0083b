"""The gate: the whole flow of one API call, free of HTTP.

validate → authenticate → permission → rate limit → idempotency → (cached: quota, balance and
ledger in one step) → reserve (quota, balance) → collect (the metrics service) → capture or
release, and an ``Outcome`` that says everything the edge needs to answer: the business code,
the message, the snapshot to answer with (or a stored idempotent answer), the source, and the
refusing rate limit for its headers.

The order of checks is the contract's: parameters (400), token (100), permission (600), rate
limit (302), quota (303), balance (601), collection (301). Money is reserved before the
collection and captured (ledger row, counted call, stored idempotent answer: one transaction)
only for a code-0 answer; any other outcome releases it.

``Gate.history`` (``GET /api/history``) passes the same admission steps (``_admit``) with the
permission and price key ``history``, then reads stored snapshots and charges in one step; it
never collects.

The stored idempotent answer must be the exact bytes the caller received, so the gate asks the
edge's encoder for them (``SuccessEncoder``): the wire format stays at the edge, and the gate
stores what it is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Protocol, TypeVar

from pgy_metrics.clock import Clock
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import ENDPOINTS, EndpointSpec, Query, Registry
from pgy_metrics.contract.envelope import encode_envelope, format_record_time
from pgy_metrics.contract.history import HISTORY, HistoryRequest, parse_history
from pgy_metrics.contract.http import idempotency_key_problem
from pgy_metrics.contract.params import ParamError
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.limits import RateLimited, RateLimiter
from pgy_metrics.service.metrics import Cached, MetricsService
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import Authenticator
from pgy_metrics.sources.base import CollectionError
from pgy_metrics.store.database import Store
from pgy_metrics.store.money import Charge, ClaimState, Refusal, Reservation
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import BillingPlan, TokenRecord

log = logging.getLogger("pgy_metrics.service")

IDEMPOTENCY_POLL_SECONDS = 0.02
"""How often a repeat looks whether the first request with its key has finished."""

P = TypeVar("P")


class Encoder(Protocol):
    """The edge's wire format of success answers (``server.answers.SuccessEncoder``)."""

    def prepare(self, snapshot: Snapshot) -> bytes:
        """What every answer of ``snapshot`` shares, made once: the metrics service keeps it in
        memory (``Cached.answer``) for cached hits."""
        ...

    def __call__(self, snapshot: Snapshot | Cached, request_id: str) -> bytes:
        """The success answer's bytes (what an idempotent replay stores)."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call came to. For code 0 ``snapshot`` (and ``body``, its encoded answer) or,
    for an idempotent replay, ``body`` alone (the stored bytes, ``replayed``).

    ``charged`` is what this answer put on the token's ledger (the ``Charge.amount`` of its
    ledger row, whether or not the plan is metered): the price for a charged code-0 answer, 0 for
    everything else (a replay is not charged again, a refusal or failure is never charged)."""

    code: BusinessCode
    message: str | None = None
    snapshot: Snapshot | Cached | None = None
    body: bytes | None = None
    source: str | None = None
    replayed: bool = False
    rate_limited: RateLimited | None = None
    charged: int = 0

    @property
    def ok(self) -> bool:
        return self.code is BusinessCode.SUCCESS


class Gate:
    """Runs calls of any registered endpoint; one per server process."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        service: MetricsService,
        authenticator: Authenticator,
        billing: Billing,
        limiter: RateLimiter,
        clock: Clock,
        encode: Encoder,
        endpoints: Registry = ENDPOINTS,
    ) -> None:
        self._settings = settings
        self._store = store
        self._service = service
        self._authenticator = authenticator
        self._billing = billing
        self._limiter = limiter
        self._clock = clock
        self._encode = encode
        self._endpoints = endpoints
        self.codes: Counter[int] = Counter()
        """Outcomes by business code (for /metrics)."""

    async def call(
        self,
        endpoint: EndpointSpec,
        params: Mapping[str, str],
        *,
        request_id: str,
        idempotency_key: str | None = None,
        repeated: str | None = None,
        max_age: timedelta | None = None,
        client: tuple[str, int] | None = None,
        holder: TokenRecord | None = None,
    ) -> Outcome:
        """One call of ``endpoint`` with its query parameters (``token`` among them).

        ``repeated`` names a parameter the caller sent more than once (a 400). ``max_age`` is
        the caller's freshness limit (``Cache-Control``; see ``MetricsService.serve``): a
        snapshot at least that old is collected anew and priced as a fresh call. Raises only on
        a bug or an outage (the edge answers 500 then); every business outcome is returned.
        ``client`` is the caller's (address, port), for ``PGY_FAILED_TOKEN_LIMIT``.
        ``holder`` is a token the caller authenticated already (the web console's session):
        it stands for ``token``, and every other step is the same.
        """
        outcome = await self._call(
            endpoint, params, request_id, idempotency_key, repeated, max_age, client, holder
        )
        self.codes[outcome.code] += 1
        return outcome

    async def history(
        self,
        params: Mapping[str, str],
        *,
        request_id: str,
        repeated: str | None = None,
        client: tuple[str, int] | None = None,
        holder: TokenRecord | None = None,
    ) -> Outcome:
        """``GET /api/history``: every stored collection of one creator and scope, oldest first.

        The same checks as any call (parameters, token, permission ``history``, rate limit),
        then a one-step charge of the ``history`` price key (quota and balance as for a cached
        answer: nothing is collected, so nothing needs reserving). Only snapshots of the sources
        this server serves are read, as for a call. ``body`` is the whole envelope.
        """
        outcome = await self._history(params, request_id, repeated, client, holder)
        self.codes[outcome.code] += 1
        return outcome

    async def _history(
        self,
        params: Mapping[str, str],
        request_id: str,
        repeated: str | None,
        client: tuple[str, int] | None,
        holder: TokenRecord | None = None,
    ) -> Outcome:
        zone = self._settings.zone
        admitted = await self._admit(
            params,
            repeated,
            lambda given: parse_history(given, self._endpoints, zone),
            HISTORY,
            client,
            holder,
        )
        if isinstance(admitted, Outcome):
            return admitted
        record, asked = admitted
        query = asked.query
        snapshots = await self._store.snapshots.history(
            query.endpoint.name, query.user_id, query.scope_key
        )
        points = [
            snapshot
            for snapshot in snapshots
            if self._service.serves(snapshot.source)
            and (asked.since is None or snapshot.collected_at >= asked.since)
        ]
        body = history_envelope(asked, points, zone=zone, request_id=request_id)
        plan = record.plan
        day = self._billing.day()
        price = self._billing.price(plan, HISTORY, cached=False)
        refusal = await self._store.ledger.charge(
            Charge(
                request_id=request_id,
                token_id=record.id,
                amount=price,
                day=day,
                endpoint=HISTORY,
                user_id=query.user_id,
                scope_key=query.scope_key,
                cached=False,
                at=self._clock.now(),
            ),
            metered=plan.metered,
            daily_quota=plan.daily_quota,
        )
        if refusal is not None:
            return self._refusal(refusal, plan, HISTORY, day)
        return Outcome(BusinessCode.SUCCESS, body=body, charged=price)

    async def _call(
        self,
        endpoint: EndpointSpec,
        params: Mapping[str, str],
        request_id: str,
        key: str | None,
        repeated: str | None,
        max_age: timedelta | None,
        client: tuple[str, int] | None,
        holder: TokenRecord | None = None,
    ) -> Outcome:
        admitted = await self._admit(
            params, repeated, endpoint.parse, endpoint.permission, client, holder
        )
        if isinstance(admitted, Outcome):
            return admitted
        record, query = admitted
        if key is not None:
            problem = idempotency_key_problem(key)
            if problem is not None:
                return Outcome(BusinessCode.INVALID_PARAMS, problem)
            settled = await self._claim(record.id, key, query)
            if settled is not None:
                return settled
        return await self._collect(record, query, request_id, key, max_age)

    async def _admit(
        self,
        params: Mapping[str, str],
        repeated: str | None,
        parse: Callable[[Mapping[str, str]], P],
        permission: str,
        client: tuple[str, int] | None = None,
        holder: TokenRecord | None = None,
    ) -> tuple[TokenRecord, P] | Outcome:
        """The checks every call passes before anything is collected or read, in the contract's
        order: parameters (400), token (100), permission (600), rate limit (302). The parsed
        request and the token's record, or the refusing outcome.

        A token that is given but unknown, revoked or expired counts against the client
        address's ``PGY_FAILED_TOKEN_LIMIT``; past it, such requests are answered 302 (with
        ``Retry-After``) instead of 100. Nothing else is counted or refused there: a valid
        token from the same address is served, and another address has its own window."""
        parsed: P | None = None
        param_error: ParamError | None = None
        try:
            if repeated is not None:
                raise ParamError(repeated, f"{repeated} was given more than once; pass it once.")
            parsed = parse(params)
        except ParamError as error:
            param_error = error

        token = params.get("token")
        if holder is not None:
            record: TokenRecord | None = holder if holder.active else None
        else:
            record = await self._authenticator.authenticate(token) if token else None
        if param_error is not None:
            if record is not None and record.plan.rate_limit:
                # Invalid requests still count against the caller's rate limit.
                await self._limiter.hit(record.token_hash, record.plan.rate_limit)
            return Outcome(BusinessCode.INVALID_PARAMS, param_error.message)
        assert parsed is not None
        if not token and holder is None:
            return Outcome(
                BusinessCode.INVALID_TOKEN,
                "token is required: pass your API token as the token query parameter.",
            )
        if record is None:
            limit = self._settings.failed_token_limit
            if limit and client is not None:
                limited = await self._limiter.hit_failed_token(client[0], limit)
                if limited is not None:
                    return Outcome(
                        BusinessCode.RATE_LIMITED,
                        f"Too many requests with an unknown token from this address (limit "
                        f"{limit}); retry after {limited.retry_after} s with a valid token.",
                        rate_limited=limited,
                    )
            return Outcome(
                BusinessCode.INVALID_TOKEN,
                "The token is unknown, revoked or expired; check it or ask your operator for one.",
            )
        plan = record.plan
        if plan.endpoints is not None and permission not in plan.endpoints:
            return Outcome(
                BusinessCode.PERMISSION_DENIED,
                f"This token may not call {permission}; it may call: "
                f"{', '.join(plan.endpoints) or 'nothing'}. Ask your operator to extend its plan.",
            )
        if plan.rate_limit:
            limited = await self._limiter.hit(record.token_hash, plan.rate_limit)
            if limited is not None:
                return Outcome(
                    BusinessCode.RATE_LIMITED,
                    f"Rate limit of {plan.rate_limit} exceeded; retry after "
                    f"{limited.retry_after} s.",
                    rate_limited=limited,
                )
        return record, parsed

    async def _claim(self, token_id: int, key: str, query: Query) -> Outcome | None:
        """None when this request owns the key; else the outcome (replay, 400, 301)."""
        settings = self._settings
        ledger = self._store.ledger
        fingerprint = hashlib.sha256("|".join(query.key).encode()).hexdigest()
        deadline = time.monotonic() + settings.idempotency_wait_seconds
        while True:
            now = self._clock.now()
            claim = await ledger.claim(
                token_id=token_id,
                key=key,
                fingerprint=fingerprint,
                at=now,
                expired_before=now - timedelta(hours=settings.idempotency_retention_hours),
                stale_before=now - timedelta(seconds=settings.idempotency_stale_seconds),
            )
            if claim.state is ClaimState.OWNER:
                return None
            if claim.state is ClaimState.REPLAY and claim.response is not None:
                if not self._service.serves(claim.source):
                    # The answer came from a source this server is no longer configured with
                    # (e.g. the sandbox before a switch to Pugongying): never repeat it, and
                    # never charge the key again. Nothing is collected or charged.
                    return Outcome(
                        BusinessCode.INVALID_PARAMS,
                        "This Idempotency-Key was answered with data from the "
                        f"{claim.source or 'unrecorded'} source, which this server no longer "
                        "uses; send the request with a new Idempotency-Key.",
                    )
                return Outcome(
                    BusinessCode.SUCCESS, body=claim.response, source=claim.source, replayed=True
                )
            if claim.state is ClaimState.MISMATCH:
                return Outcome(
                    BusinessCode.INVALID_PARAMS,
                    "This Idempotency-Key was used with other parameters; "
                    "use a new key for a different request.",
                )
            if time.monotonic() >= deadline:
                return Outcome(
                    BusinessCode.COLLECTION_FAILED,
                    "A request with this Idempotency-Key is still running; retry later.",
                )
            await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)

    async def _collect(
        self,
        record: TokenRecord,
        query: Query,
        request_id: str,
        key: str | None,
        max_age: timedelta | None,
    ) -> Outcome:
        ledger = self._store.ledger
        billing = self._billing
        plan = record.plan
        price_key = query.endpoint.price_key
        day = billing.day()

        async def give_back(reservation: Reservation | None) -> None:
            if reservation is not None:
                await ledger.release(reservation.request_id)
            if key is not None:
                await ledger.unclaim(token_id=record.id, key=key)

        in_hand = self._service.cached(query, max_age=max_age)
        if in_hand is not None:
            return await self._charge_cached(record, in_hand, query, request_id, key, day)

        reservation: Reservation | None = None
        if plan.metered or plan.daily_quota is not None:
            held = await ledger.reserve(
                request_id=request_id,
                token_id=record.id,
                day=day,
                price=billing.hold(plan, price_key),
                metered=plan.metered,
                daily_quota=plan.daily_quota,
                at=self._clock.now(),
            )
            if held is Refusal.QUOTA or held is Refusal.BALANCE:
                await give_back(None)
                return self._refusal(held, plan, price_key, day)
            reservation = held

        try:
            served = await self._service.serve(query, max_age=max_age)
        except CollectionError as error:
            await give_back(reservation)
            log.warning(
                "collection failed for %s from %s: %s",
                query.describe(),
                error.source,
                error.message,
            )
            return Outcome(BusinessCode.COLLECTION_FAILED, error.message)
        except BaseException:
            await _quietly(give_back(reservation))
            raise

        snapshot = served.snapshot
        body = self._encode(snapshot, request_id)
        charge = self._charge(record, query, request_id, day, cached=served.cached)
        try:
            captured = await ledger.capture(
                charge,
                metered=plan.metered,
                reserved=reservation is not None,
                idempotency_key=key,
                response=body,
                source=snapshot.source,
            )
        except BaseException:
            await _quietly(give_back(reservation))
            raise
        if not captured:  # the reservation was reaped and the balance ran dry meanwhile
            await give_back(None)
            return self._refusal(Refusal.BALANCE, plan, price_key, day)
        return Outcome(
            BusinessCode.SUCCESS,
            snapshot=snapshot,
            body=body,
            source=snapshot.source,
            charged=charge.amount,
        )

    async def _charge_cached(
        self,
        record: TokenRecord,
        snapshot: Cached,
        query: Query,
        request_id: str,
        key: str | None,
        day: str,
    ) -> Outcome:
        """A cached answer: nothing to collect, so quota, balance and ledger in one step."""
        plan = record.plan
        ledger = self._store.ledger
        body = self._encode(snapshot, request_id)
        charge = self._charge(record, query, request_id, day, cached=True)
        refusal = await ledger.charge(
            charge,
            metered=plan.metered,
            daily_quota=plan.daily_quota,
            idempotency_key=key,
            response=body,
            source=snapshot.source,
        )
        if refusal is not None:
            if key is not None:
                await ledger.unclaim(token_id=record.id, key=key)
            return self._refusal(refusal, plan, query.endpoint.price_key, day)
        return Outcome(
            BusinessCode.SUCCESS,
            snapshot=snapshot,
            body=body,
            source=snapshot.source,
            charged=charge.amount,
        )

    def _charge(
        self, record: TokenRecord, query: Query, request_id: str, day: str, *, cached: bool
    ) -> Charge:
        return Charge(
            request_id=request_id,
            token_id=record.id,
            amount=self._billing.price(record.plan, query.endpoint.price_key, cached=cached),
            day=day,
            endpoint=query.endpoint.name,
            user_id=query.user_id,
            scope_key=query.scope_key,
            cached=cached,
            at=self._clock.now(),
        )

    def _refusal(self, refusal: Refusal, plan: BillingPlan, price_key: str, day: str) -> Outcome:
        if refusal is Refusal.QUOTA:
            return Outcome(
                BusinessCode.DAILY_QUOTA_EXCEEDED,
                f"The daily quota of {plan.daily_quota} calls is used up for {day}; it resets "
                f"at midnight {self._settings.quota_time_zone}.",
            )
        price = self._billing.hold(plan, price_key)
        return Outcome(
            BusinessCode.INSUFFICIENT_BALANCE,
            f"The balance is below the price of this call ({price} credits); "
            "ask your operator to top it up.",
        )


async def _quietly(action: Awaitable[None]) -> None:
    """Run clean-up while another error propagates; never let it mask that error."""
    try:
        await action
    except Exception:
        log.exception("clean-up after a failed request failed too")


def history_envelope(
    asked: HistoryRequest, points: list[Snapshot], *, zone: tzinfo, request_id: str
) -> bytes:
    """The envelope of a history answer: ``data`` = userId, scope and points (oldest first),
    ``recordTime`` that of the newest point (null when there is none)."""
    fields = asked.fields
    items: list[str] = []
    for snapshot in points:
        if fields is None:
            data = snapshot.payload
        else:
            whole = json.loads(snapshot.payload)
            data = json.dumps(
                {name: whole.get(name) for name in fields},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        head = json.dumps(
            {
                "recordTime": format_record_time(snapshot.collected_at, zone),
                "source": snapshot.source,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        items.append(f'{head[:-1]},"data":{data}}}')
    head = json.dumps(
        {"userId": asked.query.user_id, "scope": asked.scope()},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    data_json = f'{head[:-1]},"points":[{",".join(items)}]}}'
    return encode_envelope(
        code=BusinessCode.SUCCESS,
        message=None,
        data_json=data_json.encode(),
        record_time=format_record_time(points[-1].collected_at, zone) if points else None,
        request_id=request_id,
    )
