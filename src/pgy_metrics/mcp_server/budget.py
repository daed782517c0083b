"""The session budget of ``pgy mcp --max-billable-calls N``: how many billable calls the
assistant may still make.

A tool says up front how many calls it needs; ``reserve`` refuses it whole when that would go past
the budget (so an assistant never gets half an answer that cost money), and ``settle`` then counts
only the calls that were billed. The server bills only a code-0 answer (``BusinessCode.billed``)
and charges an idempotent replay once; it sends no signal that a cached answer was cheaper, so
every other code-0 answer counts: conservative by design. Single event loop, no ``await`` between
the check and the update, so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass


class BudgetExceeded(Exception):
    """A tool call that would take the session past ``--max-billable-calls``."""


@dataclass
class Budget:
    """Billable calls used and reserved in this ``pgy mcp`` process; ``limit`` None = no limit."""

    limit: int | None = None
    used: int = 0
    reserved: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"max_billable_calls must be >= 0; got {self.limit}")

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
