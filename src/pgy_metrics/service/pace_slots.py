"""Cluster-wide pacing of one upstream account on Redis: scheduled slots plus a last-moment guard.

Why not refuse-and-retry (``limits``' moving window, the first design): a refused caller had to
sleep until the window freed *plus a margin* for the jitter between admission and the upstream
seeing the call, and the refused callers woke as a herd. The margin capped a saturated account
at 1 / (1 + margin) of its pace (0.67 at the 0.5 s it needed on a loaded machine), and calls
admitted between the window's end and the herd's wake-up got no margin at all (over-pace windows
under load). ``docs/benchmarks.md`` has the figures.

Here, two short Lua scripts (atomic in Redis, registered once with coredis' ``register_script``;
``limits`` has no reservation API, and its windows count whole seconds, too coarse for a guard
of a few hundredths of a second):

1. **Reserve a slot** (GCRA, "theoretical arrival time"): ``slot = max(now, tat)``,
   ``tat = slot + interval`` with ``interval = (1 / rate) * (1 + SLOT_MARGIN)``. Every caller of
   an account, in any process, gets its own time, in arrival order; it sleeps until then. No
   herd, no wasted wake-up. A slot further away than ``max_wait`` is not taken: the caller fails
   at once (code 301) instead of outwaiting its request's 60 s budget. A slot that ends up unused
   (cancelled, or the account failed meanwhile) is given back when it is still the last one;
   otherwise it stays empty, which only means one call fewer: a slot is a time, not a token, so
   an unused one never lets a later burst through.
2. **Guard, just before the socket send**: the account's recent *sends* (a sorted set of their
   times) must keep ``calls`` calls or fewer in any ``window`` plus ``GUARD_SECONDS``. A caller
   that woke late and would share an upstream second with its neighbours' calls waits for the
   rest of that window (and pushes the next reservations after it) instead of going over pace.
   A send that left later than Redis recorded it (a busy process: the guard's answer waited for
   the event loop, or httpx did before writing) moves its recorded time to the moment its
   headers were written (httpcore's trace, ``read_capped(on_sent=)``), so that the guard of the
   calls after it counts from the real departure.

Times are Redis' ``TIME`` (one clock for the whole cluster); lateness is measured with the
process' monotonic clock and added to it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "GUARD_SECONDS",
    "LATE_SECONDS",
    "MAX_WAIT_SECONDS",
    "SLOT_MARGIN",
    "SlotPacer",
    "SlotsFull",
    "window",
]

SLOT_MARGIN = 0.04
"""Slots are ``(1 / rate) * (1 + SLOT_MARGIN)`` apart: a saturated account runs at 1 / 1.04 =
0.96 of its pace, and ``ceil(rate)`` consecutive calls span the window plus 4 % of it."""
GUARD_SECONDS = 0.03
"""Added to the window by the last-moment guard: the jitter between our recorded send and the
upstream's arrival that the guard absorbs. Smaller than the slots' slack (0.04 s at r = 2), so
that on time it never delays a call."""
LATE_SECONDS = 0.005
"""A guard answer that took longer than this to be acted on moves the send's recorded time."""
MAX_WAIT_SECONDS = 30.0
"""The furthest slot a caller takes: half the request budget, leaving time for the call and one
retry; past it the account is booked up and the caller fails at once."""
MICROS = 1_000_000
logger = logging.getLogger(__name__)

RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, tat)
if slot - now > tonumber(ARGV[2]) then
  return {'-1', string.format('%.0f', slot - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', slot + tonumber(ARGV[1])), 'PX', ARGV[3])
return {string.format('%.0f', slot), string.format('%.0f', slot - now)}
"""
"""KEYS: tat. ARGV: interval, max wait (µs), expiry (ms). Returns (slot or -1, wait) in µs."""

RELEASE = """
local tat = redis.call('GET', KEYS[1])
if tat and tonumber(tat) == tonumber(ARGV[1]) + tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
return 0
"""
"""KEYS: tat. ARGV: slot, interval (µs). Gives the slot back if no later one was taken."""

GUARD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local calls = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - 2 * span))
local recent = redis.call('ZREVRANGE', KEYS[1], calls - 1, calls - 1, 'WITHSCORES')
if recent[2] then
  local free = tonumber(recent[2]) + span
  if free > now then
    local next = free + tonumber(ARGV[4])
    local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
    if next > tat then
      redis.call('SET', KEYS[2], string.format('%.0f', next), 'PX', ARGV[5])
    end
    return {'-1', string.format('%.0f', free - now)}
  end
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(4 * span / 1000))
return {string.format('%.0f', now), '0'}
"""
"""KEYS: sends, tat. ARGV: calls, window + guard (µs), member, interval (µs), expiry (ms).
Records the send and returns (now, 0), or (-1, wait in µs) without recording it."""

MOVE = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
end
return 1
"""
"""KEYS: sends. ARGV: the send's real time (µs), member."""


class SlotsFull(Exception):
    """The account's next free slot is further away than the caller may wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next free slot in {wait:.1f} s")
        self.wait = wait


def window(rate: float) -> tuple[int, float]:
    """The pace ``rate`` (calls/s) as a window: at most ``calls`` calls in any ``seconds``. At 1/s
    and above, ``ceil(rate)`` in any second (the rule an upstream counts by); below, one call in
    any ``1 / rate`` s, which also keeps every second at one call."""
    if rate >= 1:
        return math.ceil(rate), 1.0
    return 1, 1 / rate


class SlotPacer:
    """Slots and the guard for every account under one key prefix, on a coredis client.

    Redis errors are not caught here: the account pool turns them into ``PoolUnavailable``."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(RESERVE)
        self._release = redis.register_script(RELEASE)
        self._guard = redis.register_script(GUARD)
        self._move = redis.register_script(MOVE)
        self._moves: set[asyncio.Task[Any]] = set()

    def _keys(self, source: str, account: str) -> tuple[str, str]:
        base = f"{self._prefix}:{source}:{account}"
        return f"{base}:tat", f"{base}:sends"

    async def reserve(
        self, source: str, account: str, rate: float, *, max_wait: float = MAX_WAIT_SECONDS
    ) -> tuple[int, float]:
        """Take the account's next slot: (slot in Redis µs, seconds to wait for it). Raises
        ``SlotsFull`` if that is more than ``max_wait`` away."""
        tat, _ = self._keys(source, account)
        interval = _interval(rate)
        expiry_ms = math.ceil((max_wait + 2 * interval / MICROS) * 1000) + 1000
        slot, wait = await self._reserve(
            keys=[tat], args=[str(interval), str(round(max_wait * MICROS)), str(expiry_ms)]
        )
        if int(slot) < 0:
            raise SlotsFull(int(wait) / MICROS)
        return int(slot), int(wait) / MICROS

    async def release(self, source: str, account: str, rate: float, slot: int) -> bool:
        """Give an unused slot back; True if it was the last one taken (else it stays empty)."""
        tat, _ = self._keys(source, account)
        return bool(await self._release(keys=[tat], args=[str(slot), str(_interval(rate))]))

    async def guard(
        self, source: str, account: str, rate: float
    ) -> tuple[float, Callable[[], None]]:
        """Record a send on the account now, unless the recent sends forbid it: (0, ``sent``),
        or (seconds to wait before asking again, a no-op) with nothing recorded. Call ``sent``
        when the request really leaves: if that is later than Redis recorded it, the record
        moves there, so that the guard of the calls after it counts from the real departure."""
        tat, sends = self._keys(source, account)
        calls, seconds = window(rate)
        span = round((seconds + GUARD_SECONDS) * MICROS)
        member = secrets.token_hex(6)
        asked = time.monotonic()
        now, wait = await self._guard(
            keys=[sends, tat],
            args=[str(calls), str(span), member, str(_interval(rate)), str(4 * span // 1000)],
        )
        if int(now) < 0:
            return max(int(wait) / MICROS, 0.001), _nothing
        recorded = int(now)
        done = False

        def sent() -> None:
            nonlocal done
            late = time.monotonic() - asked
            if done or late <= LATE_SECONDS:
                done = True
                return
            done = True
            real = recorded + round(late * MICROS)
            task = asyncio.create_task(self._move(keys=[sends], args=[str(real), member]))
            self._moves.add(task)
            task.add_done_callback(_forget(self._moves))

        return 0.0, sent

    async def pace(
        self, source: str, account: str, rate: float, *, max_wait: float = MAX_WAIT_SECONDS
    ) -> Callable[[], None]:
        """Wait for the account's next slot, then until the guard lets the call go (recorded as
        sent); returns the guard's ``sent``. ``SlotsFull`` if the slot is beyond ``max_wait``; a
        cancelled wait gives its slot back when it can."""
        slot, wait = await self.reserve(source, account, rate, max_wait=max_wait)
        try:
            if wait > 0:
                await asyncio.sleep(wait)
            while True:
                delay, sent = await self.guard(source, account, rate)
                if delay <= 0:
                    return sent
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back(source, account, rate, slot))
            raise

    async def _give_back(self, source: str, account: str, rate: float, slot: int) -> None:
        try:
            await self.release(source, account, rate, slot)
        except Exception as error:  # best effort: an unreturned slot only stays empty
            logger.info("pace slot of account %r not given back: %s", account, error)


def _nothing() -> None:
    """The ``sent`` of a refused guard."""


def _interval(rate: float) -> int:
    return round(MICROS / rate * (1 + SLOT_MARGIN))


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failed move is only a less exact guard

    return done
