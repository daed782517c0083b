"""Per-token rate limits (business code 302) on the ``limits`` library.

Windows live in process memory by default and in Redis with ``PGY_REDIS_URL``, so that several
server processes share them. The strategy is the moving window, exact to the request: over any
window of the limit's length at most the limit is admitted, whenever the burst starts (fixed or
sliding-counter windows over-admit around their aligned boundaries: measured 1.075x of the
allowance over 10 windows, outside the 5 % the tests require).

In memory, the library's own storage keeps each key's timestamps in a list it inserts at the
front of (O(n) per hit) and sweeps in a background task; at thousands of requests per second on
one token that cost the hot path a third of its time. ``MovingWindowMemory`` keeps the same
semantics on a deque, pruned as it goes: O(1) amortised per hit.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter


class InvalidRateLimit(ValueError):
    """A rate limit that the ``limits`` syntax cannot read."""


@lru_cache(maxsize=1024)
def parse_rate_limit(spec: str) -> tuple[RateLimitItem, ...]:
    """``"10/second;300/minute"`` -> limit items; raises ``InvalidRateLimit`` with the syntax."""
    try:
        items = tuple(parse_many(spec))
    except ValueError:
        items = ()
    if not items:
        raise InvalidRateLimit(
            f"rate must be limits separated by ';' such as '10/second;300/minute' "
            f"(per second, minute, hour or day); got {spec!r}"
        )
    return items


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The limit that refused a request, for the 302 answer and its headers."""

    limit: int
    remaining: int
    reset_after: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_after))

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"retry-after", str(self.retry_after).encode()),
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.retry_after).encode()),
        ]


class MovingWindowMemory(MemoryStorage):
    """The in-memory moving window on per-key deques of timestamps, oldest first."""

    def __init__(self) -> None:
        super().__init__()
        self._windows: dict[str, deque[float]] = {}

    def _window(self, key: str, expiry: float, now: float) -> deque[float]:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        cutoff = now - expiry
        while window and window[0] <= cutoff:
            window.popleft()
        return window

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        window = self._window(key, expiry, now)
        if len(window) + amount > limit:
            return False
        window.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest timestamp still in the window, how many are in it), as the library's."""
        now = time.time()
        window = self._window(key, expiry, now)
        return (window[0], len(window)) if window else (now, 0)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        await super().clear(key)

    async def reset(self) -> int | None:
        cleared = len(self._windows)
        self._windows.clear()
        await super().reset()
        return cleared


class RateLimiter:
    def __init__(self, *, redis_url: str | None = None, key_prefix: str = "pgy-metrics") -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage(_async_uri(redis_url), key_prefix=key_prefix)
        else:
            storage = MovingWindowMemory()
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    async def hit(self, token_hash: str, spec: str) -> RateLimited | None:
        """Count one request against every limit of ``spec``; the refusing limit, or None.

        Windows are keyed by (a prefix of) the token's keyed hash, not its row id: ids repeat
        across databases, and two deployments sharing one Redis must not share windows.
        """
        key = token_hash[:32]
        for item in parse_rate_limit(spec):
            if not await self._strategy.hit(item, "token", key):
                stats = await self._strategy.get_window_stats(item, "token", key)
                return RateLimited(
                    limit=item.amount,
                    remaining=stats.remaining,
                    reset_after=stats.reset_time - time.time(),
                )
        return None

    async def hit_failed_token(self, address: str, spec: str) -> RateLimited | None:
        """Count one request with an unknown, revoked or expired token from a client address
        against ``spec`` (``PGY_FAILED_TOKEN_LIMIT``); the refusing limit, or None.

        Its windows are apart from the tokens' ("failed-token" namespace): a refused attempt
        is not counted, so the address is answered again once its window frees."""
        for item in parse_rate_limit(spec):
            if not await self._strategy.hit(item, "failed-token", address):
                stats = await self._strategy.get_window_stats(item, "failed-token", address)
                return RateLimited(
                    limit=item.amount,
                    remaining=stats.remaining,
                    reset_after=stats.reset_time - time.time(),
                )
        return None

    async def reset(self) -> None:
        await self.storage.reset()


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
