"""The session budget of ``pgy mcp --max-billable-calls N``: how many billable calls the
assistant may still make in its MCP session.

A tool says up front how many calls it needs; ``reserve`` refuses it whole when that would go past
the budget (so an assistant never gets half an answer that cost money), and ``settle`` then counts
only the calls that were billed, giving the rest of the reservation back. Our server says what
each answer was charged (``X-Pgy-Charged``, ``Answered.charged``): an answer charged 0 (an
idempotent replay, a cached answer its plan prices at 0) is free. When the server does not say
(the hosted API), every code-0 answer but a replay counts: conservative by design.

Each MCP session has its own budget (``SessionBudgets``): on stdio the process serves one session,
over streamable HTTP each ``mcp-session-id`` gets a budget of N of its own. Single event loop, no
``await`` between a check and its update, so no lock is needed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field


class BudgetExceeded(Exception):
    """A tool call that would take the session past ``--max-billable-calls``."""


@dataclass
class Budget:
    """Billable calls used and reserved in one MCP session; ``limit`` None = no limit."""

    limit: int | None = None
    used: int = 0
    reserved: int = 0

    def __post_init__(self) -> None:
        _check_limit(self.limit)

    @property
    def remaining(self) -> int | None:
        """Calls still allowed (None: no limit)."""
        if self.limit is None:
            return None
        return max(self.limit - self.used - self.reserved, 0)

    def reserve(self, calls: int, what: str) -> None:
        """Hold ``calls`` for ``what``, or raise ``BudgetExceeded`` saying how many it needs."""
        remaining = self.remaining
        if remaining is not None and calls > remaining:
            raise BudgetExceeded(
                f"{what} needs {calls} billable call{'s' if calls != 1 else ''} but the session "
                f"budget (--max-billable-calls {self.limit}) has {remaining} left "
                f"({self.used} used); nothing was called. Ask for fewer creators or scopes, or "
                "restart pgy mcp with a larger budget."
            )
        self.reserved += calls

    def settle(self, reserved: int, billed: int) -> None:
        """Release a reservation of ``reserved`` calls, of which ``billed`` were charged."""
        self.reserved -= reserved
        self.used += billed


@dataclass
class SessionBudgets:
    """A ``Budget`` of ``limit`` calls for each MCP session, made at the session's first tool call.

    Keyed by the SDK's session object (``Context.session``: one per stdio connection, one per
    ``mcp-session-id`` over HTTP) through weak references, so a closed session's budget goes with
    it: the map never holds more budgets than the process holds session objects. (A closed
    session's object lives on while something made during its requests holds their context: a
    cancelled timer until it falls due, the client's timeout; a keep-alive connection of the
    client's pool until it closes. Both are bounded.) ``None`` (a call outside any MCP request,
    as in tests) has one budget of its own."""

    limit: int | None = None
    _by_session: weakref.WeakKeyDictionary[object, Budget] = field(
        default_factory=weakref.WeakKeyDictionary, init=False, repr=False
    )
    _outside: Budget | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_limit(self.limit)

    def of(self, session: object | None) -> Budget:
        """The budget of ``session``, made with the full limit on its first call."""
        if session is None:
            if self._outside is None:
                self._outside = Budget(self.limit)
            return self._outside
        budget = self._by_session.get(session)
        if budget is None:
            budget = self._by_session[session] = Budget(self.limit)
        return budget

    def __len__(self) -> int:
        """Sessions holding a budget now (closed sessions are gone)."""
        return len(self._by_session)


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"max_billable_calls must be >= 0; got {limit}")
