"""Account incidents: an upstream account lost its session or was risk-controlled.

A source with accounts reports each such answer to an ``IncidentSink`` (the service layer's
webhook, ``service.account_alerts``). Several calls, in several processes, may see the same
incident (the calls in flight on an account when its login expired all answer 401): each
report carries the ``key`` that names the incident and how long it lasts, and the sink tells
the operator once per key. A new incident has a new key:

- ``session_lost:<digest of the cookies>``, lasting as long as a disablement: a new login that
  fails again has other cookies, so another key;
- ``risk_control``, lasting until the rest ends: failing again after the rest is a new one.

An incident holds names, labels and times only: never a cookie or a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["AccountIncident", "IncidentSink"]


@dataclass(frozen=True, slots=True)
class AccountIncident:
    source: str
    account: str
    label: str
    """``session_lost`` or ``risk_control`` (the outcome labels health counts)."""
    reason: str
    """What the upstream said and what to do, as ``/status`` shows it (no secret)."""
    at: float
    """When it was seen (epoch seconds)."""
    cooling_until: float | None
    """For risk control: when (epoch seconds) the account may be used again."""
    key: str
    """Names the incident: every report of one incident has the same key."""
    lasts_seconds: float
    """How long the incident lasts: a report with the same key after that is a new one."""


class IncidentSink(Protocol):
    """Where incidents go. ``report`` must return at once (a collection never waits for it)."""

    def report(self, incident: AccountIncident) -> None: ...
