"""Per-token rate limits (business code 302) on the ``limits`` library.

Windows live in process memory by default and in Redis with ``PGY_REDIS_URL``, so that several
server processes share them. The moving-window strategy is exact: over any window, at most the
limit is admitted, which is what a customer reading "10/second" expects.
"""

from __future__ import annotations

import math
import time
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


class RateLimiter:
    def __init__(self, *, redis_url: str | None = None) -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage(_async_uri(redis_url), key_prefix="pgy-metrics")
        else:
            storage = MemoryStorage()
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

    async def reset(self) -> None:
        await self.storage.reset()


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
