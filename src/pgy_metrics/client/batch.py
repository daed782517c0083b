"""Batch fetching: many creators x scopes with a concurrency limit, a client-side rate limit, a
budget of billable calls that is never exceeded, and a SQLite checkpoint that makes a re-run skip
what was fetched and reuse the Idempotency-Key of what was in flight.

``AsyncClient.batch(...)`` returns an ``AsyncBatch``, ``Client.batch(...)`` a ``Batch``; both
yield ``BatchItem`` as calls complete and keep running totals in ``.stats``. One scheduler
(``_schedule``) serves both: the sync twin runs it on a private event loop, sending each call
through the blocking client on a thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from pydantic import ValidationError

from pgy_metrics.client import _constants as C
from pgy_metrics.client._base import EndpointResult, NotesRateResult
from pgy_metrics.client._closing import AsyncClosing, Closing
from pgy_metrics.client._exceptions import (
    APIConnectionError,
    APIError,
    InvalidParams,
    PgyError,
    ProtocolError,
    error_for_code,
)
from pgy_metrics.client.checkpoint import Checkpoint, CheckpointRow, ItemState
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE, Registry
from pgy_metrics.contract.models import NotesRateData
from pgy_metrics.contract.params import ParamError, Scope, parse_user_id

DEFAULT_CONCURRENCY: Final = 8
"""Calls in flight at once."""

ACCOUNT_CODES: Final = frozenset(
    {
        BusinessCode.INVALID_TOKEN,
        BusinessCode.DAILY_QUOTA_EXCEEDED,
        BusinessCode.PERMISSION_DENIED,
        BusinessCode.INSUFFICIENT_BALANCE,
    }
)
"""Refusals about the token, not the creator: every further call would get the same answer, so
the batch stops scheduling; the items are retried by the next run (after a top-up, the next day,
a new token), since nothing is wrong with them."""

RERUN_CODES: Final = C.RETRYABLE_CODES | C.RATE_LIMITED_CODES | ACCOUNT_CODES
"""Failed items with these codes are sent again by the next run over the same checkpoint; any
other code (400, codes outside the contract) is final and is reported from the checkpoint."""


@dataclass(frozen=True, slots=True)
class EndpointScope:
    """One endpoint other than notes rate in one scope (its parameters by their API names,
    every one explicit): what a batch fetches for every creator beside notes-rate ``Scope``s.
    Build it with ``EndpointScope.of("fans_history", dateType="DAY_90")``."""

    endpoint: str
    params: tuple[tuple[str, str], ...]
    """``(API name, value)`` of each of the endpoint's parameters, in the registry's order."""

    @classmethod
    def of(cls, endpoint: str, *, endpoints: Registry = ENDPOINTS, **params: str) -> EndpointScope:
        """Validated against the registry (``InvalidParams`` naming the bad name or value);
        parameters not given take their defaults."""
        spec = endpoints.get(endpoint)
        if spec is None or endpoint == NOTES_RATE:
            allowed = ", ".join(name for name in endpoints if name != NOTES_RATE)
            raise InvalidParams(
                f"endpoint must be one of {allowed} (notes rate takes a Scope); got {endpoint!r}.",
                param="endpoint",
            )
        unknown = sorted(set(params) - {p.name for p in spec.params})
        if unknown:
            allowed = ", ".join(p.name for p in spec.params) or "none"
            raise InvalidParams(
                f"{endpoint} has no parameter {', '.join(unknown)}; it has: {allowed}.",
                param=unknown[0],
            )
        try:
            values = tuple((p.name, p.parse(params.get(p.name)).value) for p in spec.params)
        except ParamError as error:
            raise InvalidParams(error.message, param=error.param) from None
        return cls(endpoint, values)

    @property
    def key(self) -> str:
        """The checkpoint key: ``<endpoint>.<scope key>``, e.g. ``fans_history.DAY_30.FANS_TOTAL``
        or ``fans_profile.-`` (never equal to a notes-rate scope key)."""
        return f"{self.endpoint}.{'.'.join(v for _, v in self.params) or '-'}"

    @property
    def label(self) -> str:
        return self.key


AnyScope = Scope | EndpointScope
"""What a batch fetches per creator: a notes-rate scope or another endpoint's scope."""
BatchResult = NotesRateResult | EndpointResult
"""A notes-rate answer, typed; any other endpoint's answer, ``data`` as received."""

Call = Callable[[str, AnyScope, str], Awaitable[BatchResult]]
"""Sends one call: (user id, scope, Idempotency-Key) -> result, raising a ``PgyError``."""


class NotAttempted(PgyError):
    """The batch did not send this call (``reason`` says why); nothing was billed."""

    def __init__(self, message: str, *, cause: PgyError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.code: int | None = cause.code if isinstance(cause, APIError) else None


class BudgetReached(NotAttempted):
    """``max_billable_calls`` is used up (counting calls that may have been billed)."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """The outcome of one (creator, scope) of a batch; ``scope`` is a notes-rate ``Scope`` or
    another endpoint's ``EndpointScope``."""

    user_id: str
    scope: AnyScope
    result: BatchResult | None
    error: PgyError | None
    billable: bool
    """A new code-0 answer: charged by this call (a replayed answer is not a new charge)."""
    from_checkpoint: bool
    """Read from the checkpoint of an earlier run, without any request."""

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def endpoint(self) -> str:
        return self.scope.endpoint if isinstance(self.scope, EndpointScope) else NOTES_RATE


@dataclass(slots=True)
class BatchStats:
    """Running totals of a batch; final once the iteration ends."""

    ok: int = 0
    failed: int = 0
    failed_by_code: Counter[int | None] = field(default_factory=Counter)
    """Failures by business code (None: transport or protocol errors, invalid user ids)."""
    billable_calls: int = 0
    uncertain_calls: int = 0
    """Calls sent whose answer never came (timeouts): they may have been billed, so the budget
    counts them."""
    from_checkpoint: int = 0
    not_attempted: int = 0
    duplicates: int = 0
    """Repeated user ids in the input, fetched once."""
    budget_reached: bool = False
    stopped_by: APIError | None = None
    """The account-level refusal (100, 303, 600, 601) that stopped scheduling, if any."""

    @property
    def spent(self) -> int:
        """What counts against ``max_billable_calls``."""
        return self.billable_calls + self.uncertain_calls


@dataclass(frozen=True, slots=True)
class BatchOptions:
    scopes: tuple[AnyScope, ...]
    concurrency: int
    rate: float | None
    max_billable_calls: int | None
    checkpoint: Path | None

    @classmethod
    def checked(
        cls,
        *,
        scopes: Iterable[AnyScope],
        concurrency: int,
        rate: float | None,
        max_billable_calls: int | None,
        checkpoint: str | Path | None,
    ) -> BatchOptions:
        """Validate everything before anything is sent."""
        scope_list = tuple(dict.fromkeys(scopes))
        if not scope_list or not all(isinstance(s, Scope | EndpointScope) for s in scope_list):
            raise InvalidParams(
                "scopes must be one or more pgy_metrics.Scope or client.batch.EndpointScope.",
                param="scopes",
            )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidParams(
                f"concurrency must be an int >= 1; got {concurrency!r}.", param="concurrency"
            )
        if rate is not None and (isinstance(rate, bool) or not rate > 0):
            raise InvalidParams(
                f"rate must be > 0 requests per second or None; got {rate!r}.", param="rate"
            )
        if max_billable_calls is not None and (
            isinstance(max_billable_calls, bool)
            or not isinstance(max_billable_calls, int)
            or max_billable_calls < 0
        ):
            raise InvalidParams(
                f"max_billable_calls must be an int >= 0 or None; got {max_billable_calls!r}.",
                param="max_billable_calls",
            )
        return cls(
            scopes=scope_list,
            concurrency=concurrency,
            rate=float(rate) if rate is not None else None,
            max_billable_calls=max_billable_calls,
            checkpoint=Path(checkpoint) if checkpoint is not None else None,
        )


# --- outcomes ------------------------------------------------------------------------------------


def _failure_facts(error: PgyError) -> tuple[int | None, bool, bool]:
    """(code, sent again by the next run?, may have been billed?) of a failed call."""
    if isinstance(error, APIError):
        return error.code, error.code in RERUN_CODES, False
    if isinstance(error, APIConnectionError):
        return None, True, error.request_sent
    if isinstance(error, ProtocolError):
        gateway = error.status_code in C.GATEWAY_STATUSES
        return error.code, gateway, gateway
    return None, False, False


def _result_from_row(row: CheckpointRow, scope: AnyScope) -> BatchResult:
    envelope = row.envelope or {}
    record_time = envelope.get("recordTime")
    answered: dict[str, Any] = {
        "record_time": record_time if isinstance(record_time, str) else None,
        "request_id": row.request_id,
        "source": row.source,
        "retries_taken": 0,
        "replayed": False,
        "idempotency_key": row.idempotency_key,
        "envelope": envelope,
    }
    if isinstance(scope, EndpointScope):
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise ValueError("a done checkpoint row without data")
        return EndpointResult(
            endpoint=scope.endpoint,
            user_id=row.user_id,
            params={"userId": row.user_id, **dict(scope.params)},
            data=data,
            **answered,
        )
    return NotesRateResult(
        user_id=row.user_id,
        scope=scope,
        data=NotesRateData.from_raw(envelope.get("data") or {}),
        **answered,
    )


def _error_from_row(row: CheckpointRow) -> PgyError:
    message = row.message or "failed in an earlier run"
    if row.code is not None and row.error != ProtocolError.__name__:
        return error_for_code(row.code, message, request_id=row.request_id)
    return ProtocolError(message, request_id=row.request_id, code=row.code)


# --- the scheduler ------------------------------------------------------------------------------


class SeenIds:
    """Which creators of the input were already scheduled, so a repeated id is fetched once.

    In memory as 12-byte keys (an id is 24 hex characters) when there is no checkpoint; with a
    checkpoint, in a temporary table of its SQLite file, so memory stays flat however long the
    input is.
    """

    def __init__(self, checkpoint: Checkpoint | None) -> None:
        self._checkpoint = checkpoint
        self._keys: set[bytes] = set()

    def first_sighting(self, user_id: str) -> bool:
        if self._checkpoint is not None:
            return self._checkpoint.first_sighting(user_id)
        key = bytes.fromhex(user_id)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


def _pairs(
    user_ids: Iterable[str], scopes: tuple[AnyScope, ...], stats: BatchStats, seen: SeenIds
) -> Iterator[tuple[str, AnyScope] | BatchItem]:
    """Each (creator, scope) in input order, read lazily; a bad user id is an error item."""
    for user_id in user_ids:
        try:
            checked = parse_user_id(user_id if isinstance(user_id, str) else None, param="user_id")
        except ParamError as error:
            for scope in scopes:
                yield BatchItem(
                    user_id=str(user_id),
                    scope=scope,
                    result=None,
                    error=InvalidParams(error.message, param="user_id"),
                    billable=False,
                    from_checkpoint=False,
                )
            continue
        if not seen.first_sighting(checked):
            stats.duplicates += 1
            continue
        for scope in scopes:
            yield checked, scope


RATE_WINDOW_SECONDS = 1.0
RATE_MARGIN_SECONDS = 0.03
"""Slack added to the rolling window: requests sent evenly can still arrive bunched (thread
hand-off, network), and the server counts arrivals. 30 ms keeps 20/s at 97 % of the allowance."""


class RatePacer:
    """Requests at most ``rate`` per second, both ways a server may count them.

    Sends are spaced by ``1 / rate`` (a leaky bucket of one), and no ``ceil(rate)`` consecutive
    sends fit in one second plus a margin, so a rolling-window limit on the server (ours is a
    moving window) is never crossed by jitter between sending and arriving.

    Every attempt goes through it, retries included: the batch hands it to the client as the
    call's ``before_attempt`` hook, so a retry after a 302 waits its turn like any other send.
    Callers wait in turn (a lock held across the wait) and each send is recorded at the time it
    actually leaves, not the time it was planned for: a waiter woken late on a busy machine then
    pushes the next ones back instead of letting them bunch up behind it. ``acquire`` serves
    coroutines, ``wait`` the sync client's worker threads; one batch uses one of the two.
    """

    def __init__(self, rate: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._spacing = 1 / rate
        self._recent: deque[float] = deque(maxlen=max(1, math.ceil(rate)))
        self._monotonic = monotonic
        self._task_lock = asyncio.Lock()
        self._thread_lock = threading.Lock()

    def next_delay(self) -> float:
        """Seconds until the next send may leave (0 when it may leave now)."""
        now = self._monotonic()
        slot = now
        if self._recent:
            slot = max(slot, self._recent[-1] + self._spacing)
        if len(self._recent) == self._recent.maxlen:
            slot = max(slot, self._recent[0] + RATE_WINDOW_SECONDS + RATE_MARGIN_SECONDS)
        return slot - now

    def record(self) -> None:
        """A send leaves now."""
        self._recent.append(self._monotonic())

    async def acquire(self) -> None:
        async with self._task_lock:
            delay = self.next_delay()
            if delay > 0:
                await asyncio.sleep(delay)
            self.record()

    def wait(self) -> None:
        """The blocking twin of ``acquire``."""
        with self._thread_lock:
            delay = self.next_delay()
            if delay > 0:
                time.sleep(delay)
            self.record()


async def _schedule(
    call: Call, user_ids: Iterable[str], options: BatchOptions, stats: BatchStats
) -> AsyncGenerator[BatchItem, None]:
    budget = options.max_billable_calls
    checkpoint = Checkpoint(options.checkpoint) if options.checkpoint is not None else None
    running: set[asyncio.Task[BatchItem]] = set()

    def count(item: BatchItem) -> BatchItem:
        if item.ok:
            stats.ok += 1
        elif isinstance(item.error, NotAttempted):
            stats.not_attempted += 1
        else:
            stats.failed += 1
            stats.failed_by_code[getattr(item.error, "code", None)] += 1
        if item.from_checkpoint:
            stats.from_checkpoint += 1
        return item

    async def one(user_id: str, scope: AnyScope, key: str) -> BatchItem:
        try:
            result = await call(user_id, scope, key)
        except PgyError as error:
            code, rerun, maybe_billed = _failure_facts(error)
            if maybe_billed:
                stats.uncertain_calls += 1
            if isinstance(error, APIError) and error.code in ACCOUNT_CODES:
                stats.stopped_by = stats.stopped_by or error
            if checkpoint is not None:
                checkpoint.mark_failed(
                    user_id,
                    scope.key,
                    code=code,
                    error=type(error).__name__,
                    message=getattr(error, "message", str(error)),
                    request_id=getattr(error, "request_id", None),
                    retryable=rerun,
                )
            return BatchItem(user_id, scope, None, error, False, False)
        billable = not result.replayed
        if billable:
            stats.billable_calls += 1
        if checkpoint is not None:
            checkpoint.mark_done(user_id, scope.key, envelope=result.envelope, source=result.source)
        return BatchItem(user_id, scope, result, None, billable, False)

    def finished() -> list[BatchItem]:
        done = [task for task in running if task.done()]
        running.difference_update(done)
        return [count(task.result()) for task in done]

    def refusal(user_id: str, scope: AnyScope) -> BatchItem | None:
        """Why this call may not start, as an item; None when it may."""
        if stats.stopped_by is not None:
            error: NotAttempted = NotAttempted(
                f"Not sent: the server refused the token ({stats.stopped_by}).",
                cause=stats.stopped_by,
            )
        elif budget is not None and stats.spent >= budget:
            stats.budget_reached = True
            error = BudgetReached(f"Not sent: the budget of {budget} billable calls is used up.")
        else:
            return None
        return BatchItem(user_id, scope, None, error, False, False)

    try:
        for pair in _pairs(user_ids, options.scopes, stats, SeenIds(checkpoint)):
            if isinstance(pair, BatchItem):
                yield count(pair)
                continue
            user_id, scope = pair
            row = checkpoint.get(user_id, scope.key) if checkpoint is not None else None
            if row is not None and row.state is ItemState.DONE:
                try:
                    result = _result_from_row(row, scope)
                except (ValidationError, ValueError):  # pragma: no cover (written from an answer)
                    row = None
                else:
                    yield count(BatchItem(user_id, scope, result, None, False, True))
                    continue
            if row is not None and row.state is ItemState.FAILED and not row.retryable:
                yield count(BatchItem(user_id, scope, None, _error_from_row(row), False, True))
                continue
            # Wait for a free slot: the concurrency limit, and the budget counting every call in
            # flight as billable, so the budget can never be exceeded.
            while True:
                for item in finished():
                    yield item
                budget_full = budget is not None and stats.spent + len(running) >= budget
                if not running or not (len(running) >= options.concurrency or budget_full):
                    break
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            refused = refusal(user_id, scope)
            if refused is not None:
                yield count(refused)
                continue
            # A pending or retryable failed row keeps its key: a server that honours keys
            # replays an answer it already charged for instead of charging again.
            key = row.idempotency_key if row is not None else uuid.uuid4().hex
            if checkpoint is not None:
                checkpoint.mark_pending(user_id, scope.key, key)  # committed before sending
            running.add(asyncio.ensure_future(one(user_id, scope, key)))
        while running:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for item in finished():
                yield item
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if checkpoint is not None:
            checkpoint.close()


# --- the two twins -------------------------------------------------------------------------------


class AsyncBatch(AsyncClosing):
    """An async iterator of ``BatchItem`` in completion order; ``stats`` holds the totals.

    Leaving the loop early (``break``, an exception, Ctrl-C) cancels the calls in flight; their
    checkpoint rows stay ``pending`` with their keys for the next run.
    """

    def __init__(self, call: Call, user_ids: Iterable[str], options: BatchOptions) -> None:
        self.options = options
        self.stats = BatchStats()
        self._items = _schedule(call, user_ids, options, self.stats)

    def __aiter__(self) -> AsyncBatch:
        return self

    async def __anext__(self) -> BatchItem:
        return await anext(self._items)

    async def aclose(self) -> None:
        await self._items.aclose()


class NotesRateCaller(Protocol):
    """What ``Batch`` needs of a client (``Client`` is one): blocking notes-rate and generic
    calls."""

    def notes_rate(
        self,
        user_id: str,
        *,
        scope: Scope | None = None,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> NotesRateResult: ...

    def call(
        self,
        endpoint: str,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
        **params: str,
    ) -> EndpointResult: ...


class AsyncNotesRateCaller(Protocol):
    """What ``async_batch`` needs of a client (``AsyncClient`` is one)."""

    async def notes_rate(
        self,
        user_id: str,
        *,
        scope: Scope | None = None,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], Awaitable[None]] | None = None,
    ) -> NotesRateResult: ...

    async def call(
        self,
        endpoint: str,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], Awaitable[None]] | None = None,
        **params: str,
    ) -> EndpointResult: ...


class Batch(Closing):
    """The blocking twin of ``AsyncBatch``: the same scheduler on a private event loop, each call
    sent by the blocking client on a pool of ``concurrency`` threads. Iterate it from a thread
    that is not running an event loop."""

    def __init__(
        self, client: NotesRateCaller, user_ids: Iterable[str], options: BatchOptions
    ) -> None:
        self.options = options
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="pgy-batch")
        self._runner = asyncio.Runner()

        pacer = RatePacer(options.rate) if options.rate is not None else None

        async def call(user_id: str, scope: AnyScope, key: str) -> BatchResult:
            hook = pacer.wait if pacer is not None else None
            send: Callable[[], BatchResult]
            if isinstance(scope, EndpointScope):
                send = functools.partial(
                    client.call,
                    scope.endpoint,
                    user_id,
                    idempotency_key=key,
                    before_attempt=hook,
                    **dict(scope.params),
                )
            else:
                send = functools.partial(
                    client.notes_rate,
                    user_id,
                    scope=scope,
                    idempotency_key=key,
                    before_attempt=hook,
                )
            return await asyncio.get_running_loop().run_in_executor(self._pool, send)

        self._batch = AsyncBatch(call, user_ids, options)
        self.stats = self._batch.stats
        self._closed = False

    def __iter__(self) -> Batch:
        return self

    def __next__(self) -> BatchItem:
        if self._closed:
            raise StopIteration
        try:
            return self._runner.run(self._batch.__anext__())
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop: calls in flight are abandoned (their rows stay pending for the next run)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._runner.run(self._batch.aclose())
        finally:
            self._runner.close()
            self._pool.shutdown(wait=False, cancel_futures=True)


def async_batch(
    client: AsyncNotesRateCaller, user_ids: Iterable[str], options: BatchOptions
) -> AsyncBatch:
    pacer = RatePacer(options.rate) if options.rate is not None else None

    async def call(user_id: str, scope: AnyScope, key: str) -> BatchResult:
        hook = pacer.acquire if pacer is not None else None
        if isinstance(scope, EndpointScope):
            return await client.call(
                scope.endpoint,
                user_id,
                idempotency_key=key,
                before_attempt=hook,
                **dict(scope.params),
            )
        return await client.notes_rate(
            user_id, scope=scope, idempotency_key=key, before_attempt=hook
        )

    return AsyncBatch(call, user_ids, options)
