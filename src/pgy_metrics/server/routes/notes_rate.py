"""``GET /api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1``: the contract's endpoint.

This is the hot path, so it is a plain ASGI layer in front of the FastAPI application: requests
for this exact path never enter the framework's routing, dependency solving or response objects,
which together cost more than half of a cached answer's time. Parameters are parsed by hand so
that every bad input becomes the contract's code 400 with a sentence naming the parameter and its
allowed values (never FastAPI's 422). ``OPENAPI_OPERATION`` documents the endpoint instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE, NOTES_RATE_PATH
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, parse_user_id
from pgy_metrics.contract.params import Scope as MetricsScope
from pgy_metrics.server import answers
from pgy_metrics.sources.base import CollectionError
from pgy_metrics.store.money import Charge, ClaimState, Refusal, Reservation
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import BillingPlan, TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.server.app import Runtime

log = logging.getLogger("pgy_metrics.server")

_SINGLE_VALUED = frozenset(("token", "userId", *MetricsScope.PARAMS))


def _enum_param(name: str, values: type[Any], default: str, doc: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": doc,
        "schema": {"type": "string", "enum": [v.value for v in values], "default": default},
    }


OPENAPI_OPERATION: dict[str, Any] = {
    "summary": "Note Performance Metrics",
    "description": (
        "Medians of impressions, reads and interactions, rates, traffic sources and recent notes "
        "of one creator in one scope. Always HTTP 200; the outcome is the envelope's `code`."
    ),
    "operationId": "notes_rate_v1",
    "parameters": [
        {
            "name": "token",
            "in": "query",
            "required": True,
            "description": "API token.",
            "schema": {"type": "string"},
        },
        {
            "name": "userId",
            "in": "query",
            "required": True,
            "description": "Creator id: 24 lowercase hex characters.",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$", "example": USER_ID_EXAMPLE},
        },
        _enum_param("business", Business, "DAILY_NOTE", "Daily (日常) or sponsored (合作) notes."),
        _enum_param("noteType", NoteType, "PHOTO_TEXT_AND_VIDEO", "Note format filter."),
        _enum_param("dateType", DateType, "DAY_30", "Last 30 or 90 days."),
        _enum_param("advertiseSwitch", AdvertiseSwitch, "ALL", "All traffic or organic only."),
    ],
    "responses": {
        "200": {
            "description": "The envelope: code, message, data, recordTime, requestId.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}


class NotesRateEndpoint:
    """ASGI layer answering the endpoint; every other request goes on to ``app``.

    The order of checks is the contract's: parameters (400), token (100), permission (600), rate
    limit (302), quota (303), balance (601), collection (301). Money is reserved before the
    collection and captured (ledger row, counted call, stored idempotent answer: one transaction)
    only for a code-0 answer; any other outcome releases it.
    """

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.request_ids = answers.RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != NOTES_RATE_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_id = self.request_ids.new()
        try:
            body, headers = await self._answer(scope, request_id)
        except Exception:
            # The body says nothing of the cause; the traceback stays in the server's log.
            log.exception("unexpected error while answering request %s", request_id)
            body = answers.failure_body(
                BusinessCode.SERVER_ERROR,
                f"Internal server error; please retry later (request id {request_id}).",
                request_id=request_id,
            )
            headers = answers.headers(body, request_id)
        # Every body starts with {"code":N, so the code costs a slice, not a parse.
        self.runtime.answer_codes[int(body[8 : body.index(b",", 8)])] += 1
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _failure(
        code: BusinessCode,
        message: str,
        request_id: str,
        *extra: tuple[bytes, bytes],
    ) -> tuple[bytes, answers.Headers]:
        body = answers.failure_body(code, message, request_id=request_id)
        return body, answers.headers(body, request_id, *extra)

    async def _answer(self, scope: Scope, request_id: str) -> tuple[bytes, answers.Headers]:
        runtime = self.runtime
        query: dict[str, str] = {}
        param_error: ParamError | None = None
        try:
            raw_query = scope["query_string"].decode("latin-1")
            for name, value in parse_qsl(raw_query, keep_blank_values=True):
                if name in query and name in _SINGLE_VALUED:
                    raise ParamError(name, f"{name} was given more than once; pass it once.")
                query[name] = value
            user_id = parse_user_id(query.get("userId"))
            metrics_scope = MetricsScope.from_params(query)
        except ParamError as error:
            param_error = error

        token = query.get("token")
        record = await runtime.authenticator.authenticate(token) if token else None
        if param_error is not None:
            if record is not None and record.plan.rate_limit:
                # Invalid requests still count against the caller's rate limit.
                await runtime.limiter.hit(record.token_hash, record.plan.rate_limit)
            return self._failure(BusinessCode.INVALID_PARAMS, param_error.message, request_id)
        if not token:
            return self._failure(
                BusinessCode.INVALID_TOKEN,
                "token is required: pass your API token as the token query parameter.",
                request_id,
            )
        if record is None:
            return self._failure(
                BusinessCode.INVALID_TOKEN,
                "The token is unknown, revoked or expired; check it or ask your operator for one.",
                request_id,
            )
        plan = record.plan
        if plan.endpoints is not None and NOTES_RATE not in plan.endpoints:
            return self._failure(
                BusinessCode.PERMISSION_DENIED,
                f"This token may not call {NOTES_RATE}; it may call: "
                f"{', '.join(plan.endpoints) or 'nothing'}. Ask your operator to extend its plan.",
                request_id,
            )
        if plan.rate_limit:
            refused = await runtime.limiter.hit(record.token_hash, plan.rate_limit)
            if refused is not None:
                return self._failure(
                    BusinessCode.RATE_LIMITED,
                    f"Rate limit of {plan.rate_limit} exceeded; retry after "
                    f"{refused.retry_after} s.",
                    request_id,
                    *refused.headers(),
                )

        key = _header(scope, b"idempotency-key")
        if key is not None:
            if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
                return self._failure(
                    BusinessCode.INVALID_PARAMS,
                    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters long.",
                    request_id,
                )
            settled = await self._claim(record.id, key, user_id, metrics_scope, request_id)
            if settled is not None:
                return settled
        return await self._collect(record, user_id, metrics_scope, request_id, key)

    async def _claim(
        self, token_id: int, key: str, user_id: str, scope: MetricsScope, request_id: str
    ) -> tuple[bytes, answers.Headers] | None:
        """None when this request owns the key; else the answer to give (replay, 400, 301)."""
        runtime = self.runtime
        settings = runtime.settings
        fingerprint = hashlib.sha256(f"{NOTES_RATE}|{user_id}|{scope.key}".encode()).hexdigest()
        deadline = time.monotonic() + settings.idempotency_wait_seconds
        while True:
            now = runtime.clock.now()
            claim = await runtime.store.ledger.claim(
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
                if not runtime.service.serves(claim.source):
                    # The answer came from a source this server is no longer configured with
                    # (e.g. the sandbox before a switch to Pugongying): never repeat it, and
                    # never charge the key again. Nothing is collected or charged.
                    return self._failure(
                        BusinessCode.INVALID_PARAMS,
                        "This Idempotency-Key was answered with data from the "
                        f"{claim.source or 'unrecorded'} source, which this server no longer "
                        "uses; send the request with a new Idempotency-Key.",
                        request_id,
                    )
                return claim.response, _replayed_headers(claim.response, claim.source)
            if claim.state is ClaimState.MISMATCH:
                return self._failure(
                    BusinessCode.INVALID_PARAMS,
                    "This Idempotency-Key was used with other parameters; "
                    "use a new key for a different request.",
                    request_id,
                )
            if time.monotonic() >= deadline:
                return self._failure(
                    BusinessCode.COLLECTION_FAILED,
                    "A request with this Idempotency-Key is still running; retry later.",
                    request_id,
                )
            await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)

    async def _collect(
        self,
        record: TokenRecord,
        user_id: str,
        scope: MetricsScope,
        request_id: str,
        key: str | None,
    ) -> tuple[bytes, answers.Headers]:
        runtime = self.runtime
        ledger = runtime.store.ledger
        billing = runtime.billing
        plan = record.plan
        day = billing.day()

        async def give_back(reservation: Reservation | None) -> None:
            if reservation is not None:
                await ledger.release(reservation.request_id)
            if key is not None:
                await ledger.unclaim(token_id=record.id, key=key)

        in_hand = runtime.service.cached(user_id, scope)
        if in_hand is not None:
            return await self._charge_cached(record, in_hand, user_id, scope, request_id, key, day)

        reservation: Reservation | None = None
        if plan.metered or plan.daily_quota is not None:
            held = await ledger.reserve(
                request_id=request_id,
                token_id=record.id,
                day=day,
                price=billing.hold(plan, NOTES_RATE),
                metered=plan.metered,
                daily_quota=plan.daily_quota,
                at=runtime.clock.now(),
            )
            if held is Refusal.QUOTA:
                await give_back(None)
                return self._quota_used_up(plan, day, request_id)
            if held is Refusal.BALANCE:
                await give_back(None)
                return self._insufficient(plan, request_id)
            reservation = held

        try:
            served = await runtime.service.serve(user_id, scope)
        except CollectionError as error:
            await give_back(reservation)
            log.warning(
                "collection failed for %s %s from %s: %s",
                user_id,
                scope.key,
                error.source,
                error.message,
            )
            return self._failure(BusinessCode.COLLECTION_FAILED, error.message, request_id)
        except BaseException:
            await _quietly(give_back(reservation))
            raise

        snapshot = served.snapshot
        body, source = answers.SNAPSHOT_ANSWERS.body(snapshot, runtime.settings.zone, request_id)
        charge = Charge(
            request_id=request_id,
            token_id=record.id,
            amount=billing.price(plan, NOTES_RATE, cached=served.cached),
            day=day,
            endpoint=NOTES_RATE,
            user_id=user_id,
            scope_key=scope.key,
            cached=served.cached,
            at=runtime.clock.now(),
        )
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
            return self._insufficient(plan, request_id)
        return body, answers.headers(body, request_id, (b"x-pgy-source", source))

    async def _charge_cached(
        self,
        record: TokenRecord,
        snapshot: Snapshot,
        user_id: str,
        scope: MetricsScope,
        request_id: str,
        key: str | None,
        day: str,
    ) -> tuple[bytes, answers.Headers]:
        """A cached answer: nothing to collect, so quota, balance and ledger in one step."""
        runtime = self.runtime
        plan = record.plan
        body, source = answers.SNAPSHOT_ANSWERS.body(snapshot, runtime.settings.zone, request_id)
        charge = Charge(
            request_id=request_id,
            token_id=record.id,
            amount=runtime.billing.price(plan, NOTES_RATE, cached=True),
            day=day,
            endpoint=NOTES_RATE,
            user_id=user_id,
            scope_key=scope.key,
            cached=True,
            at=runtime.clock.now(),
        )
        refused = await runtime.store.ledger.charge(
            charge,
            metered=plan.metered,
            daily_quota=plan.daily_quota,
            idempotency_key=key,
            response=body,
            source=snapshot.source,
        )
        if refused is not None and key is not None:
            await runtime.store.ledger.unclaim(token_id=record.id, key=key)
        if refused is Refusal.QUOTA:
            return self._quota_used_up(plan, day, request_id)
        if refused is Refusal.BALANCE:
            return self._insufficient(plan, request_id)
        return body, answers.headers(body, request_id, (b"x-pgy-source", source))

    def _quota_used_up(
        self, plan: BillingPlan, day: str, request_id: str
    ) -> tuple[bytes, answers.Headers]:
        return self._failure(
            BusinessCode.DAILY_QUOTA_EXCEEDED,
            f"The daily quota of {plan.daily_quota} calls is used up for {day}; it resets at "
            f"midnight {self.runtime.settings.quota_time_zone}.",
            request_id,
        )

    def _insufficient(self, plan: BillingPlan, request_id: str) -> tuple[bytes, answers.Headers]:
        price = self.runtime.billing.hold(plan, NOTES_RATE)
        return self._failure(
            BusinessCode.INSUFFICIENT_BALANCE,
            f"The balance is below the price of this call ({price} credits); "
            "ask your operator to top it up.",
            request_id,
        )


MAX_IDEMPOTENCY_KEY = 200
IDEMPOTENCY_POLL_SECONDS = 0.02
"""How often a repeat looks whether the first request with its key has finished."""


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None


def _replayed_headers(body: bytes, source: str | None) -> answers.Headers:
    request_id = str(json.loads(body).get("requestId") or "")
    extra = [(b"idempotent-replayed", b"true")]
    if source:
        extra.append((b"x-pgy-source", source.encode()))
    return answers.headers(body, request_id, *extra)


async def _quietly(action: Awaitable[None]) -> None:
    """Run clean-up while another error propagates; never let it mask that error."""
    try:
        await action
    except Exception:
        log.exception("clean-up after a failed request failed too")
