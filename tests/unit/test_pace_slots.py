"""Scheduled slots and the last-moment guard (``service.pace_slots``) on the machine's Redis, each
test under its own key prefix (deleted afterwards)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import coredis
import pytest

from pgy_metrics.service.account_pool import RedisAccountPool
from pgy_metrics.service.pace_slots import (
    GUARD_SECONDS,
    SLOT_MARGIN,
    SlotPacer,
    SlotsFull,
    window,
)
from pgy_metrics.sources.pool import PoolUnavailable

MICROS = 1_000_000


@pytest.fixture
async def redis(redis_url: str) -> Any:
    return coredis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
async def prefix(redis: Any) -> AsyncIterator[str]:
    name = f"pgy-test-pace-{uuid.uuid4().hex[:12]}"
    yield name
    keys = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if keys:
        await redis.delete(keys)


def interval(rate: float) -> int:
    return round(MICROS / rate * (1 + SLOT_MARGIN))


def test_the_window_is_ceil_rate_a_second_and_one_call_per_period_below_one() -> None:
    assert window(2) == (2, 1.0)
    assert window(1.5) == (2, 1.0)
    assert window(1) == (1, 1.0)
    assert window(0.5) == (1, 2.0)
    assert window(0.3) == (1, pytest.approx(3.333, abs=1e-3))


async def test_slots_come_in_order_one_interval_apart(redis: Any, prefix: str) -> None:
    pacer = SlotPacer(redis, prefix)
    taken = [await pacer.reserve("pugongying", "alpha", 2.0) for _ in range(4)]
    slots = [slot for slot, _ in taken]
    assert [b - a for a, b in itertools.pairwise(slots)] == [interval(2.0)] * 3
    waits = [wait for _, wait in taken]
    assert waits == sorted(waits) and waits[-1] > 2 * interval(2.0) / MICROS
    # Another account has its own slots: free now.
    _, wait = await pacer.reserve("pugongying", "beta", 2.0)
    assert wait < interval(2.0) / MICROS


async def test_a_sub_one_per_second_pace_spaces_slots_by_its_period(
    redis: Any, prefix: str
) -> None:
    pacer = SlotPacer(redis, prefix)
    first, _ = await pacer.reserve("pugongying", "alpha", 0.5)
    second, wait = await pacer.reserve("pugongying", "alpha", 0.5)
    assert second - first == interval(0.5) == round(2 * MICROS * (1 + SLOT_MARGIN))
    assert wait > 2.0


async def test_concurrent_callers_are_sent_no_more_than_ceil_rate_per_guarded_second(
    redis: Any, prefix: str
) -> None:
    pacer = SlotPacer(redis, prefix)
    await asyncio.gather(*(pacer.pace("pugongying", "alpha", 2.0) for _ in range(4)))
    sends = [
        score
        for _, score in await redis.zrange(
            f"{prefix}:pugongying:alpha:sends", 0, -1, withscores=True
        )
    ]
    assert len(sends) == 4  # (kept for twice the guarded window: all four here)
    calls, seconds = window(2.0)
    span = (seconds + GUARD_SECONDS) * MICROS
    assert all(b - a >= span for a, b in zip(sends, sends[calls:], strict=False))


async def test_the_guard_refuses_a_call_that_would_crowd_the_second_and_pushes_later_slots(
    redis: Any, prefix: str
) -> None:
    pacer = SlotPacer(redis, prefix)
    assert (await pacer.guard("pugongying", "alpha", 2.0))[0] == 0.0
    assert (await pacer.guard("pugongying", "alpha", 2.0))[0] == 0.0
    wait, _ = await pacer.guard("pugongying", "alpha", 2.0)  # a third in the second: refused
    assert 0.9 < wait <= 1.0 + GUARD_SECONDS
    sends = await redis.zrange(f"{prefix}:pugongying:alpha:sends", 0, -1, withscores=True)
    assert len(sends) == 2  # the refused call is not recorded
    _, slot_wait = await pacer.reserve("pugongying", "alpha", 2.0)
    assert slot_wait > wait  # the next slot comes after the guarded second, not inside it


async def test_a_late_departure_moves_its_record_and_the_guard_counts_from_it(
    redis: Any, prefix: str
) -> None:
    """At 0.25/s (one call in any 4 s) a send that left 0.3 s after its record moves the record
    there, and the next guard's wait is counted from the moved record. The wait is bracketed by
    Redis' clock read before and after the guard, so a busy machine cannot fail it."""
    pacer = SlotPacer(redis, prefix)
    sends = f"{prefix}:pugongying:alpha:sends"
    span = (4.0 + GUARD_SECONDS) * MICROS
    _, sent = await pacer.guard("pugongying", "alpha", 0.25)
    [(_, recorded)] = await redis.zrange(sends, 0, -1, withscores=True)
    await asyncio.sleep(0.3)  # the process was busy: the request leaves only now
    sent()
    sent()  # a second call changes nothing
    for _ in range(300):
        [(_, moved)] = await redis.zrange(sends, 0, -1, withscores=True)
        if moved != recorded:
            break
        await asyncio.sleep(0.01)
    assert 0.3 * MICROS <= moved - recorded < 4.0 * MICROS
    before = await _redis_now(redis)
    wait, _ = await pacer.guard("pugongying", "alpha", 0.25)
    after = await _redis_now(redis)
    assert (moved + span - after) / MICROS - 0.01 <= wait <= (moved + span - before) / MICROS
    assert wait > (recorded + span - before) / MICROS  # not counted from the first record


async def _redis_now(redis: Any) -> float:
    """Redis' clock in microseconds (the clock the pacer's scripts read)."""
    # Not coredis' ``time()``: its datetime loses the microseconds' leading digits.
    seconds, micros = await redis.eval("local t = redis.call('TIME') return {t[1], t[2]}", [], [])
    return float(seconds) * MICROS + float(micros)


async def test_an_unused_last_slot_is_given_back_and_an_unused_middle_one_stays_empty(
    redis: Any, prefix: str
) -> None:
    pacer = SlotPacer(redis, prefix)
    first, _ = await pacer.reserve("pugongying", "alpha", 1.0)
    second, _ = await pacer.reserve("pugongying", "alpha", 1.0)
    assert await pacer.release("pugongying", "alpha", 1.0, second)
    again, _ = await pacer.reserve("pugongying", "alpha", 1.0)
    assert again == second  # given back: the next caller takes it

    third, _ = await pacer.reserve("pugongying", "alpha", 1.0)
    assert not await pacer.release("pugongying", "alpha", 1.0, again)  # a later one was taken
    fourth, _ = await pacer.reserve("pugongying", "alpha", 1.0)
    # The empty slot is not handed out again: no caller is moved into it, so no burst.
    assert fourth - third == interval(1.0) and fourth > again > first


async def test_a_cancelled_wait_gives_its_slot_back(redis: Any, prefix: str) -> None:
    pacer = SlotPacer(redis, prefix)
    tat = f"{prefix}:pugongying:alpha:tat"
    first, _ = await pacer.reserve("pugongying", "alpha", 1.0)  # the next slot: a second away
    waiting = asyncio.create_task(pacer.pace("pugongying", "alpha", 1.0))
    for _ in range(200):  # until it holds the second slot and sleeps for it
        if int(await redis.get(tat)) == first + 2 * interval(1.0):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the waiting call never took its slot")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert int(await redis.get(tat)) == first + interval(1.0)
    assert await redis.zcard(f"{prefix}:pugongying:alpha:sends") == 0  # nothing was sent


async def test_a_slot_beyond_the_budget_fails_at_once(redis_url: str, prefix: str) -> None:
    client = coredis.Redis.from_url(redis_url, decode_responses=True)
    pacer = SlotPacer(client, f"{prefix}:pace")  # the pool's own slots
    for _ in range(3):
        await pacer.reserve("pugongying", "alpha", 1.0, max_wait=2.5)
    with pytest.raises(SlotsFull) as full:
        await pacer.reserve("pugongying", "alpha", 1.0, max_wait=2.5)
    assert full.value.wait > 2.5

    pool = RedisAccountPool(redis_url, prefix=prefix)
    with pytest.raises(PoolUnavailable, match=r"'alpha' is booked for the next 3 s"):
        await pool.pace("pugongying", "alpha", rate=1.0, max_wait=2.5)
    assert pool.unreachable is None  # booked up is not an outage


async def test_redis_down_pauses_collection_with_pool_unavailable() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    pool = RedisAccountPool(f"redis://127.0.0.1:{port}/0", prefix="pgy-test-pace-down")
    with pytest.raises(PoolUnavailable, match="cannot be reached"):
        await pool.pace("pugongying", "alpha", rate=2.0)
    assert pool.unreachable is not None
