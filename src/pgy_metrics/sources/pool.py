"""Where an account pool's pacing and account states live: in the process (the default) or
shared by every process of a cluster (``SharedPool``, given in ``BuildContext.pool``).

A source with accounts (Pugongying) paces each account and rests or disables it after risk
control or a lost session. Alone, a process keeps that in memory. Several server processes
collecting with the same accounts must share it, or each paces on its own and together they
exceed an account's rate, and one process keeps using an account another just saw lose its
session. The sources layer defines only this interface; the service layer implements it on
Redis (``service.account_pool``) and passes it in, so that sources import no service or store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pgy_metrics.sources.base import AccountState, UpstreamUnavailable

__all__ = ["PoolUnavailable", "SharedAccount", "SharedPool"]


class PoolUnavailable(UpstreamUnavailable):
    """The shared pool state cannot be reached: collection pauses (code 301) rather than risk
    calls above an account's pace; cached answers are still served."""


@dataclass(frozen=True, slots=True)
class SharedAccount:
    """One account as the cluster sees it, safe to show (no cookie)."""

    state: AccountState = AccountState.ACTIVE
    reason: str | None = None
    until: float | None = None
    """For a cooling-down account: when (epoch seconds) it may be used again."""
    strikes: int = 0
    in_flight: int = 0
    """Upstream calls on this account running now, in every process."""
    last_failure: str | None = None
    """The short label of its last failed call (``session_lost``, ``http_5xx``...)."""
    session: str | None = None
    """For a disablement: a digest of the cookies that lost their session. A process started
    with new cookies for the account (a new login) does not take it as disabled."""


class SharedPool(Protocol):
    """Pacing and account states shared by every process. Every method raises
    ``PoolUnavailable`` when the shared state cannot be reached."""

    async def pace(self, source: str, account: str, *, rate: float) -> Callable[[], None]:
        """Wait until a call on ``account`` may be sent at ``rate`` calls/s over the whole
        cluster (never more than ``ceil(rate)`` calls in any second), and count it as sent.
        Returns a function to call when the request really leaves (its headers written), so
        that a late departure is counted where it happened. Raises ``PoolUnavailable`` also
        when the account is booked beyond a request's budget."""
        ...

    async def accounts(self, source: str, names: list[str]) -> dict[str, SharedAccount]:
        """Every named account's shared state (an account with nothing recorded is active)."""
        ...

    async def rest(self, source: str, account: str, state: SharedAccount) -> None:
        """Publish a cool-down (it expires by itself at ``state.until``) or a disablement."""
        ...

    async def strike(self, source: str, account: str) -> int:
        """Count one risk-control answer; the account's strikes since its last success."""
        ...

    async def clear(self, source: str, account: str) -> None:
        """The account answered: forget its strikes (its failure label stays)."""
        ...

    async def failed(self, source: str, account: str, label: str) -> None:
        """Remember the label of the account's last failed call."""
        ...

    async def started(self, source: str, account: str) -> None:
        """A call on the account begins (counts ``in_flight``)."""
        ...

    async def finished(self, source: str, account: str) -> None:
        """A call on the account ended."""
        ...
