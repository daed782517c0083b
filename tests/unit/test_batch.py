"""Batch fetching without a network: a fake server behind httpx.MockTransport that charges per
call and honours Idempotency-Key as ours does. Every case runs on ``Client.batch`` (threads on a
private loop) and ``AsyncClient.batch`` alike."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from pgy_metrics.client import (
    AsyncClient,
    BatchItem,
    BatchStats,
    BudgetReached,
    Client,
    InsufficientBalance,
    InvalidParams,
    NotAttempted,
)
from pgy_metrics.client.checkpoint import Checkpoint, ItemState
from pgy_metrics.contract import Business, Scope
from tests.unit.test_client import BASE, TOKEN, ours

USERS = [f"{index:024x}" for index in range(1, 31)]
TWO_SCOPES = (Scope(), Scope(business=Business.COOPERATE_NOTE))


class FakeServer:
    """Charges each new code-0 answer once; a repeated key replays the first answer free.

    ``codes`` maps a user id to the code it answers; ``delays`` to seconds before answering."""

    def __init__(
        self,
        *,
        codes: dict[str, int] | None = None,
        delays: dict[str, float] | None = None,
        rate_limited_first: set[str] | None = None,
    ) -> None:
        self.codes = codes or {}
        self.rate_limited_first = set(rate_limited_first or ())
        """Ids answered 302 (Retry-After: 1) on their first request."""
        self.delays = delays or {}
        self.lock = threading.Lock()
        self.charges: Counter[tuple[str, str]] = Counter()
        self.answered: dict[str, tuple[str, str]] = {}
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.peak = 0
        self.times: list[float] = []

    def pair(self, request: httpx.Request) -> tuple[str, str]:
        params = request.url.params
        scope = Scope.from_params(dict(params))
        return params["userId"], scope.key

    def enter(self, request: httpx.Request) -> float:
        with self.lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        return self.delays.get(request.url.params["userId"], 0.0)

    def leave(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.in_flight -= 1
            user, scope = self.pair(request)
            if user in self.rate_limited_first:
                self.rate_limited_first.discard(user)
                return ours(302, headers={"Retry-After": "1"})
            code = self.codes.get(user, 0)
            if code != 0:
                return ours(code)
            key = request.headers["Idempotency-Key"]
            if key in self.answered:
                assert self.answered[key] == (user, scope)
                return ours(0, headers={"Idempotent-Replayed": "true"})
            self.answered[key] = (user, scope)
            self.charges[(user, scope)] += 1
            return ours(0)

    def sync_handler(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.enter(request) or 0.002)  # let calls overlap
        return self.leave(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.enter(request) or 0.002)
        return self.leave(request)

    @property
    def keys(self) -> list[str]:
        return [request.headers["Idempotency-Key"] for request in self.requests]


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1):
        yield


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def run(
    kind: str,
    server: FakeServer,
    user_ids: Iterable[str],
    *,
    stop_after: int | None = None,
    **options: Any,
) -> tuple[list[BatchItem], BatchStats]:
    """Run a batch to its end (or leave it after ``stop_after`` items, as a crash would)."""
    items: list[BatchItem] = []
    if kind == "sync":
        with Client(
            TOKEN, base_url=BASE, transport=httpx.MockTransport(server.sync_handler)
        ) as client:
            with client.batch(user_ids, **options) as batch:
                for item in batch:
                    items.append(item)
                    if len(items) == stop_after:
                        break
            return items, batch.stats

    async def main() -> BatchStats:
        transport = httpx.MockTransport(server.async_handler)
        async with AsyncClient(TOKEN, base_url=BASE, transport=transport) as client:
            async with client.batch(user_ids, **options) as batch:
                async for item in batch:
                    items.append(item)
                    if len(items) == stop_after:
                        break
            return batch.stats

    return items, asyncio.run(main())


def test_every_pair_once_with_typed_results(kind: str) -> None:
    server = FakeServer()
    items, stats = run(kind, server, USERS[:10], scopes=TWO_SCOPES)
    assert sorted((i.user_id, i.scope.key) for i in items) == sorted(
        (u, s.key) for u in USERS[:10] for s in TWO_SCOPES
    )
    assert all(i.ok and i.billable and not i.from_checkpoint for i in items)
    assert all(i.result is not None and i.result.data.note_number == 3 for i in items)
    assert stats.ok == 20 and stats.billable_calls == 20 and stats.failed == 0
    assert set(server.charges.values()) == {1}
    assert len(set(server.keys)) == 20


def test_results_come_as_they_complete(kind: str) -> None:
    server = FakeServer(delays={USERS[0]: 0.3})
    items, _ = run(kind, server, USERS[:4], concurrency=4)
    assert items[-1].user_id == USERS[0]


def test_concurrency_limit_is_respected(kind: str) -> None:
    server = FakeServer()
    run(kind, server, USERS, concurrency=3)
    assert len(server.requests) == 30
    assert 1 < server.peak <= 3


def test_rate_limit_spaces_the_requests(kind: str) -> None:
    server = FakeServer()
    started = time.monotonic()
    run(kind, server, USERS[:11], concurrency=8, rate=50)
    # 11 requests at 50/s need at least 10 intervals of 20 ms; only a lower bound is asserted.
    assert time.monotonic() - started >= 0.18
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert sum(gaps) >= 0.18


@pytest.mark.parametrize("budget", [0, 1, 7, 29])
def test_budget_is_never_exceeded_under_concurrency(kind: str, budget: int) -> None:
    server = FakeServer()
    items, stats = run(kind, server, USERS, concurrency=8, max_billable_calls=budget)
    assert server.charges.total() == budget == stats.billable_calls
    assert sum(i.billable for i in items) == budget
    skipped = [i for i in items if isinstance(i.error, BudgetReached)]
    assert len(skipped) == 30 - budget == stats.not_attempted
    assert stats.budget_reached
    assert len(items) == 30


def test_a_budget_larger_than_the_work_is_not_reached(kind: str) -> None:
    items, stats = run(kind, FakeServer(), USERS[:5], max_billable_calls=5)
    assert stats.ok == 5 and not stats.budget_reached and len(items) == 5


def test_checkpoint_skips_what_was_fetched(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite3"
    server = FakeServer()
    first, _ = run(kind, server, USERS[:6], scopes=TWO_SCOPES, checkpoint=path)
    assert len(server.requests) == 12
    again, stats = run(kind, server, USERS[:6], scopes=TWO_SCOPES, checkpoint=path)
    assert len(server.requests) == 12  # nothing sent
    assert all(i.from_checkpoint and i.ok and not i.billable for i in again)
    assert stats.from_checkpoint == 12 and stats.billable_calls == 0
    by_pair = {(i.user_id, i.scope): i.result for i in first}
    for item in again:
        assert item.result is not None
        before = by_pair[(item.user_id, item.scope)]
        assert before is not None
        assert item.result.envelope == before.envelope
        assert item.result.data == before.data


def test_a_pending_row_is_resent_with_the_same_key(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite3"
    server = FakeServer()
    # The previous run sent this key and died before the answer: the server charged it.
    with Checkpoint(path) as checkpoint:
        checkpoint.mark_pending(USERS[0], Scope().key, "key-of-the-dead-run")
    server.answered["key-of-the-dead-run"] = (USERS[0], Scope().key)
    server.charges[(USERS[0], Scope().key)] = 1

    items, stats = run(kind, server, USERS[:3], checkpoint=path)
    assert "key-of-the-dead-run" in server.keys
    (replayed,) = [i for i in items if i.user_id == USERS[0]]
    assert replayed.ok and not replayed.billable and replayed.result is not None
    assert replayed.result.replayed
    assert stats.billable_calls == 2
    assert set(server.charges.values()) == {1}


def test_interrupted_run_then_rerun_pays_each_pair_once(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite3"
    server = FakeServer(delays={USERS[5]: 0.2, USERS[6]: 0.2})
    first, _ = run(kind, server, USERS[:12], concurrency=4, checkpoint=path, stop_after=3)
    with Checkpoint(path) as checkpoint:
        counts = checkpoint.counts()
    assert counts[ItemState.DONE] >= 3
    rest, _ = run(kind, server, USERS[:12], concurrency=4, checkpoint=path)
    assert sorted(i.user_id for i in rest) == USERS[:12]
    assert all(i.ok for i in rest)
    assert server.charges.total() == 12 and set(server.charges.values()) == {1}
    fetched_before = {i.user_id for i in first}
    assert {i.user_id for i in rest if i.from_checkpoint} >= fetched_before


def test_final_failures_are_recorded_and_not_resent(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite3"
    server = FakeServer(codes={USERS[0]: 400, USERS[1]: 301})
    items, stats = run(kind, server, USERS[:3], checkpoint=path)
    assert stats.failed == 2 and stats.failed_by_code == Counter({400: 1, 301: 1})
    assert sum(i.ok for i in items) == 1
    sent = len(server.requests)

    server.codes = {}
    again, stats = run(kind, server, USERS[:3], checkpoint=path)
    resent = [r.url.params["userId"] for r in server.requests[sent:]]
    assert resent == [USERS[1]]  # 301 is retried by the next run; 400 is final
    final = {i.user_id: i for i in again}
    assert isinstance(final[USERS[0]].error, InvalidParams)
    assert final[USERS[0]].from_checkpoint
    assert final[USERS[1]].ok and not final[USERS[1]].from_checkpoint
    assert stats.from_checkpoint == 2


def test_an_account_refusal_stops_scheduling(kind: str) -> None:
    server = FakeServer(codes=dict.fromkeys(USERS, 601))
    items, stats = run(kind, server, USERS, concurrency=2)
    assert len(items) == 30
    assert len(server.requests) <= 2
    assert isinstance(stats.stopped_by, InsufficientBalance)
    assert stats.not_attempted == 30 - len(server.requests)
    assert all(
        isinstance(i.error, NotAttempted)
        for i in items
        if not isinstance(i.error, InsufficientBalance)
    )


def test_bad_and_repeated_user_ids_are_reported_not_sent(kind: str) -> None:
    server = FakeServer()
    items, stats = run(kind, server, [USERS[0], "nope", USERS[0], USERS[1]])
    bad = [i for i in items if i.error is not None]
    assert [(i.user_id, type(i.error)) for i in bad] == [("nope", InvalidParams)]
    assert stats.duplicates == 1 and stats.ok == 2
    assert len(server.requests) == 2


def test_repeats_are_found_in_the_checkpoint_per_run(kind: str, tmp_path: Path) -> None:
    """With a checkpoint the seen ids live in its SQLite file (flat memory), and each run starts
    with none seen: a re-run reads its pairs from the checkpoint, it does not call them repeats."""
    server, path = FakeServer(), tmp_path / "run.checkpoint"
    ids = [USERS[0], USERS[1], USERS[0], USERS[2], USERS[1]]
    _, first = run(kind, server, ids, checkpoint=path)
    assert (first.duplicates, first.ok, len(server.requests)) == (2, 3, 3)
    items, second = run(kind, server, ids, checkpoint=path)
    assert (second.duplicates, second.from_checkpoint, len(server.requests)) == (2, 3, 3)
    assert [i.user_id for i in items] == [USERS[0], USERS[1], USERS[2]]


def test_streamed_input_is_consumed_lazily(kind: str) -> None:
    """A generator of ids is read as the batch goes, never materialised up front."""
    server, pulled = FakeServer(), []

    def ids() -> Iterator[str]:
        for user_id in USERS[:6]:
            pulled.append(user_id)
            yield user_id

    items, _ = run(kind, server, ids(), stop_after=1, concurrency=1)
    assert len(items) == 1 and len(pulled) < 6


@pytest.mark.parametrize(
    "options",
    [
        {"concurrency": 0},
        {"rate": 0},
        {"max_billable_calls": -1},
        {"scopes": ()},
        {"scopes": ("DAILY_NOTE",)},
    ],
)
def test_bad_options_raise_before_anything_is_sent(kind: str, options: dict[str, Any]) -> None:
    server = FakeServer()
    with pytest.raises(InvalidParams):
        run(kind, server, USERS[:2], **options)
    assert server.requests == []


def test_checkpoint_file_is_wal_and_committed_per_item(tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite3"
    with Checkpoint(path) as checkpoint:
        checkpoint.mark_pending(USERS[0], Scope().key, "k1")
        # Another connection (another process after a kill -9) sees it at once.
        with sqlite3.connect(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert other.execute("SELECT state, idempotency_key FROM batch_items").fetchall() == [
                ("pending", "k1")
            ]


def test_rate_pacer_never_lets_ceil_rate_sends_into_one_second() -> None:
    """A burst of sends on a fake clock: spaced by 1/rate, and any ceil(rate) + 1 consecutive
    sends span more than the one-second window."""
    import itertools

    from pgy_metrics.client.batch import RatePacer

    clock = [100.0]
    pacer = RatePacer(50, monotonic=lambda: clock[0])
    sent: list[float] = []
    for _ in range(120):
        clock[0] += pacer.next_delay()
        pacer.record()
        sent.append(clock[0])
    assert all(later - earlier > 1.0 for earlier, later in zip(sent, sent[50:], strict=False))
    assert all(b - a >= 1 / 50 - 1e-9 for a, b in itertools.pairwise(sent))
    assert sent[0] == 100.0  # an idle pacer does not delay the first send


def test_rate_pacer_counts_a_late_send_from_when_it_left() -> None:
    """A sender woken 40 ms late pushes the next sends back: spacing is kept from the actual
    departure, so late senders cannot bunch up inside one window."""
    from pgy_metrics.client.batch import RatePacer

    clock = [0.0]
    pacer = RatePacer(10, monotonic=lambda: clock[0])
    pacer.record()
    clock[0] += pacer.next_delay() + 0.040  # woke late
    pacer.record()
    late = clock[0]
    assert abs(pacer.next_delay() - 0.1) < 1e-9
    clock[0] = late + 0.1
    assert pacer.next_delay() == 0


def test_retries_after_a_302_go_through_the_pacer(kind: str) -> None:
    """The batch hands its pacer to every attempt: a call answered 302 and then 0 books two
    slots, so a retry cannot jump the client-side rate limit."""
    from pgy_metrics.client import batch as batch_module

    booked: list[int] = []
    original = batch_module.RatePacer.record

    def counting(self: batch_module.RatePacer) -> None:
        booked.append(1)
        original(self)

    server = FakeServer(rate_limited_first={USERS[0]})
    with stamina.set_testing(True, attempts=3), pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module.RatePacer, "record", counting)
        _, stats = run(kind, server, USERS[:3], rate=1000.0)
    assert stats.ok == 3 and len(server.requests) == 4
    assert len(booked) == 4  # 3 first attempts + 1 retry
