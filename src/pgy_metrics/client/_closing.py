"""``with`` support for the client's resources (clients, batches, checkpoints, export files)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Closes on every way out of a ``with`` block, errors included (so rows already fetched,
    and paid for, stay on disk). Subclasses define ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClosing:
    """The ``async with`` twin of ``Closing``: subclasses define ``aclose()``."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
