"""The account pool's shared state on Redis (``PGY_REDIS_URL``): pacing and account states that
every server process of a cluster sees (``sources.pool.SharedPool``).

- **Pacing** is ``service.pace_slots``: every call reserves its account's next slot (one Lua
  script, atomic in Redis, whichever process calls), sleeps until then, and passes a last-moment
  guard over the account's recorded sends just before it is sent. A slot further than
  ``MAX_WAIT_SECONDS`` away fails the call at once (code 301: the account is booked up).
- **Account states** are plain keys with an expiry: a cool-down's key expires when the rest
  ends (every process sees the account usable again at the same moment), a disablement's after
  ``DISABLED_SECONDS`` (or sooner, for a process whose cookies differ: see
  ``SharedAccount.session``); strikes, the last failure label and the calls in flight have
  keys of their own.
- **Cookie reloads** (``sources.cookie_files``): ``{prefix}:accounts:generation`` is a counter
  that ``pgy accounts reload`` increases and every process reads before using an account.
- **Incidents** (``service.account_alerts``): ``claim`` is ``SET NX`` with the incident's
  expiry, so that of all the processes that saw one incident exactly one tells the operator;
  the last webhook delivery is kept for ``/status``.

Any Redis error becomes ``PoolUnavailable`` (code 301 for the caller, collection paused; the
gate still serves cached answers, which need no collection). Nothing is cached between calls,
so collection resumes by itself with the first call after Redis is back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import coredis
from coredis.tokens import PureToken

from pgy_metrics.service.pace_slots import MAX_WAIT_SECONDS, SlotPacer, SlotsFull
from pgy_metrics.sources.base import AccountState
from pgy_metrics.sources.pool import PoolUnavailable, SharedAccount

DISABLED_SECONDS = 24 * 3600
"""How long a lost session keeps an account disabled in the cluster without a new login."""
KEPT_SECONDS = 24 * 3600
"""How long strikes and the last failure label are remembered without news."""
IN_FLIGHT_SECONDS = 600
"""Expiry of the in-flight counter: a process killed mid-call cannot leave it up for ever."""
TIMEOUT_SECONDS = 1.0
"""Connect and read timeout of every Redis call: an outage pauses collection within a second."""
UNREACHABLE = (
    "Collection is paused: the shared account pool (Redis) cannot be reached. Cached answers "
    "are still served; please retry later."
)

__all__ = ["RedisAccountPool"]


class RedisAccountPool:
    """``SharedPool`` on Redis; keys start with ``{prefix}:pool:``."""

    def __init__(self, redis_url: str, *, prefix: str) -> None:
        self._redis: Any = coredis.Redis.from_url(
            redis_url.removeprefix("async+"),
            decode_responses=True,
            connect_timeout=TIMEOUT_SECONDS,
            stream_timeout=TIMEOUT_SECONDS,
        )
        self._prefix = f"{prefix}:pool"
        self._slots = SlotPacer(self._redis, f"{prefix}:pace")
        self.unreachable: str | None = None
        """Why the last call failed, until one succeeds again (for health)."""

    def _key(self, source: str, account: str, what: str) -> str:
        return f"{self._prefix}:{source}:{account}:{what}"

    async def _call(self, work: Any) -> Any:
        try:
            result = await work
        except (PoolUnavailable, SlotsFull):
            raise
        except Exception as error:  # coredis and limits raise many kinds; all mean "unreachable"
            self.unreachable = type(error).__name__
            raise PoolUnavailable(UNREACHABLE, source="pool") from None
        self.unreachable = None
        return result

    async def pace(
        self, source: str, account: str, *, rate: float, max_wait: float = MAX_WAIT_SECONDS
    ) -> Callable[[], None]:
        try:
            sent: Callable[[], None] = await self._call(
                self._slots.pace(source, account, rate, max_wait=max_wait)
            )
        except SlotsFull as full:
            raise PoolUnavailable(
                f"Account {account!r} is booked for the next {full.wait:.0f} s at its pace of "
                f"{rate:g} calls/s; please retry later.",
                source="pool",
            ) from None
        return sent

    async def accounts(self, source: str, names: list[str]) -> dict[str, SharedAccount]:
        if not names:
            return {}
        fields = ("rest", "strikes", "inflight", "failure")
        keys = [self._key(source, name, what) for name in names for what in fields]
        values = await self._call(self._redis.mget(keys))
        shared: dict[str, SharedAccount] = {}
        for index, name in enumerate(names):
            rest, strikes, in_flight, failure = values[index * 4 : index * 4 + 4]
            state: dict[str, Any] = json.loads(rest) if rest else {}
            shared[name] = SharedAccount(
                state=AccountState(state.get("state", AccountState.ACTIVE.value)),
                reason=state.get("reason"),
                until=state.get("until"),
                strikes=int(strikes or 0),
                in_flight=max(0, int(in_flight or 0)),
                last_failure=failure,
                session=state.get("session"),
            )
        return shared

    async def rest(self, source: str, account: str, state: SharedAccount) -> None:
        if state.state is AccountState.COOLING_DOWN:
            if state.until is None:
                return
            expiry = max(1, round((state.until - time.time()) * 1000))
        else:
            expiry = DISABLED_SECONDS * 1000
        document = json.dumps(
            {
                "state": state.state.value,
                "reason": state.reason,
                "until": state.until,
                "session": state.session,
            }
        )
        await self._call(self._redis.set(self._key(source, account, "rest"), document, px=expiry))

    async def strike(self, source: str, account: str) -> int:
        key = self._key(source, account, "strikes")
        strikes = int(await self._call(self._redis.incr(key)))
        await self._call(self._redis.expire(key, KEPT_SECONDS))
        return strikes

    async def clear(self, source: str, account: str) -> None:
        await self._call(self._redis.delete([self._key(source, account, "strikes")]))

    async def failed(self, source: str, account: str, label: str) -> None:
        key = self._key(source, account, "failure")
        await self._call(self._redis.set(key, label, ex=KEPT_SECONDS))

    async def started(self, source: str, account: str) -> None:
        key = self._key(source, account, "inflight")
        await self._call(self._redis.incr(key))
        await self._call(self._redis.expire(key, IN_FLIGHT_SECONDS))

    async def finished(self, source: str, account: str) -> None:
        await self._call(self._redis.decr(self._key(source, account, "inflight")))

    # -- cookie reloads ---------------------------------------------------------------------------

    @property
    def _generation_key(self) -> str:
        return f"{self._prefix.removesuffix(':pool')}:accounts:generation"

    async def generation(self) -> int:
        """The cluster's cookie reload generation (0 before any ``pgy accounts reload``)."""
        return int(await self._call(self._redis.get(self._generation_key)) or 0)

    async def bump_generation(self) -> int:
        """Ask every process to re-read its cookie files before it next uses an account."""
        return int(await self._call(self._redis.incr(self._generation_key)))

    # -- incidents --------------------------------------------------------------------------------

    async def claim(self, source: str, account: str, incident: str, seconds: float) -> bool:
        """True for the first claim of this incident of the account in the cluster (for
        ``seconds``); False for every later one, whichever process makes it."""
        key = self._key(source, account, f"incident:{incident}")
        expiry = max(1, round(seconds * 1000))
        return bool(await self._call(self._redis.set(key, "1", px=expiry, condition=PureToken.NX)))

    async def remember_alert(self, document: dict[str, Any]) -> None:
        """Keep the last webhook delivery (names, labels and times only) for ``/status``."""
        key = f"{self._prefix}:last-alert"
        await self._call(self._redis.set(key, json.dumps(document), ex=KEPT_SECONDS))

    async def last_alert(self) -> dict[str, Any] | None:
        found = await self._call(self._redis.get(f"{self._prefix}:last-alert"))
        document: dict[str, Any] | None = json.loads(found) if found else None
        return document

    async def aclose(self) -> None:
        """Nothing to release: coredis closes its connections with the process."""
