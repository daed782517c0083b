"""The history extension: ``GET /api/history``, every stored collection of one creator and scope.

Not part of the hosted API (it has no history); ours documents it in docs/api.md. A call names
the endpoint (``notes_rate`` by default), the creator and that endpoint's own parameters (the
scope, defaults applied as for a call of the endpoint), and optionally ``since`` and ``fields``.
It is a permission and a price key of its own (``history``), so an operator can allow and
price reading history apart from collecting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE, Query, Registry
from pgy_metrics.contract.params import ParamError

HISTORY = "history"
"""The history extension's name in plans (permission) and price tables (price key)."""

HISTORY_PATH = "/api/history"
"""Where the server answers history (outside the hosted API's prefix: it is ours alone)."""

HISTORY_PARAMS = ("endpoint", "since", "fields")
"""The history's own parameters besides ``token``, ``userId`` and the endpoint's scope."""

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def permission_names(registry: Registry = ENDPOINTS) -> tuple[str, ...]:
    """Every name a plan may allow and a price table may price: the endpoints, then history."""
    return (*registry, HISTORY)


PERMISSIONS = permission_names()
"""The names plans allow and price tables price on this project: its endpoints and history."""


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """One history call: whose data (``query``), from when on, and which fields of ``data``."""

    query: Query
    since: datetime | None = None
    """Only collections at or after this moment (aware); None for all."""
    fields: tuple[str, ...] | None = None
    """Only these top-level keys of each ``data`` object; None for the whole object."""

    def scope(self) -> dict[str, str]:
        """The scope parameters as the caller can send them again (defaults applied)."""
        params = self.query.api_params()
        params.pop("userId")
        return {"endpoint": self.query.endpoint.name, **params}


def single_valued(registry: Registry = ENDPOINTS) -> frozenset[str]:
    """Parameters of a history call that may be given once only (any endpoint's scope)."""
    names = {"token", "userId", *HISTORY_PARAMS}
    for spec in registry.specs():
        names.update(p.name for p in spec.params)
    return frozenset(names)


def parse_history(
    params: Mapping[str, str | None], registry: Registry, zone: tzinfo
) -> HistoryRequest:
    """A history request from query parameters; ``ParamError`` naming the first bad one.

    ``zone`` is the record-time zone: a ``since`` without an offset (a day, or a wall time like
    ``recordTime``) is read in it, as ``recordTime`` is written in it.
    """
    name = params.get("endpoint") or NOTES_RATE
    spec = registry.get(name)
    if spec is None:
        raise ParamError(
            "endpoint", f"endpoint must be one of {', '.join(registry)}; got {name!r}."
        )
    query = spec.parse(params)
    return HistoryRequest(
        query,
        since=parse_since(params.get("since"), zone),
        fields=parse_fields(params.get("fields")),
    )


def parse_since(value: str | None, zone: tzinfo, *, param: str = "since") -> datetime | None:
    """``YYYY-MM-DD`` (that day's start) or an ISO 8601 date and time; without an offset, in
    ``zone``. Absent or empty is None."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ParamError(
            param,
            f"{param} must be a day (YYYY-MM-DD, e.g. 2026-11-01) or an ISO 8601 date and time "
            f"(e.g. 2026-11-01T08:00:00+08:00); got {shown!r}.",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_fields(value: str | None, *, param: str = "fields") -> tuple[str, ...] | None:
    """Comma-separated top-level keys of ``data`` (e.g. ``noteNumber,readMedian``); None for
    all. Absent or empty is None."""
    if value is None or value.strip() == "":
        return None
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    bad = next((n for n in names if not _FIELD.fullmatch(n)), None)
    if bad is not None:
        shown = bad if len(bad) <= 40 else bad[:40] + "..."
        raise ParamError(
            param,
            f"{param} must be comma-separated field names of data (letters, digits and _, "
            f"e.g. noteNumber,readMedian); got {shown!r}.",
        )
    return names
