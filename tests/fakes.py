"""In-process stand-ins for unit tests only (integration tests use real servers)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pgy_metrics.contract.endpoints import Query
from pgy_metrics.sources.base import UpstreamUnavailable


class CountingSource:
    """Answers a fixed payload, counting calls; ``gate`` holds every fetch until it is set."""

    name = "counting"

    def __init__(
        self,
        payload: dict[str, Any],
        *,
        gate: asyncio.Event | None = None,
        name: str | None = None,
    ) -> None:
        """``name`` stands for another source (``sandbox``, ``pugongying``...)."""
        if name is not None:
            self.name = name
        self.payload = payload
        self.gate = gate
        self.calls: list[tuple[str, str]] = []

    async def fetch(self, query: Query) -> dict[str, Any]:
        self.calls.append((query.user_id, query.scope_key))
        if self.gate is not None:
            await self.gate.wait()
        return json.loads(json.dumps(self.payload))

    async def aclose(self) -> None:
        return None


class FailingSource(CountingSource):
    """Fails like an upstream that is down; flips to answering when ``healthy`` is set."""

    name = "failing"

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        self.healthy = False

    async def fetch(self, query: Query) -> dict[str, Any]:
        if not self.healthy:
            self.calls.append((query.user_id, query.scope_key))
            raise UpstreamUnavailable("The upstream timed out; please retry.", source=self.name)
        return await super().fetch(query)


class ExplodingSource(CountingSource):
    """Raises an unexpected error carrying a secret, as a bug would."""

    name = "exploding"
    SECRET = "pgy_THIS-IS-A-SECRET-THAT-MUST-NOT-LEAK-0123456789"

    async def fetch(self, query: Query) -> dict[str, Any]:
        self.calls.append((query.user_id, query.scope_key))
        raise RuntimeError(f"boom with {self.SECRET}")
