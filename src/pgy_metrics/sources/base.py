"""The source interface and its error tree.

A source fetches the upstream ``data`` object of one creator + scope, or raises a
``CollectionError``. The server maps every ``CollectionError`` to business code 301; anything else
escaping a source is a bug and becomes 500.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pgy_metrics.contract.params import Scope


class CollectionError(Exception):
    """Collecting the data failed; the caller may retry later (business code 301).

    ``message`` is safe to show to an API caller: it never contains a secret.
    """

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


class UpstreamUnavailable(CollectionError):
    """The upstream did not answer usefully (timeout, 5xx, session lost, risk control)."""


class MalformedPayload(CollectionError):
    """The upstream answered, but not with a ``data`` object of the contract's shape."""


class NotRecorded(CollectionError):
    """A replay folder holds no recording for this creator + scope."""


@runtime_checkable
class Source(Protocol):
    """One origin of note performance data."""

    name: str
    """Short name recorded with every snapshot (``sandbox``, ``replay``, ``pugongying``...)."""

    async def fetch(self, user_id: str, scope: Scope) -> dict[str, Any]:
        """Return the upstream ``data`` object for the creator and scope, or raise."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...
