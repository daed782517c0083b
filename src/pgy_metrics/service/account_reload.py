"""``pgy accounts reload`` and ``POST /admin/accounts/reload``: every process of the deployment
re-reads its accounts' cookie files before it next uses an account (``sources.cookie_files``).

The signal is a generation counter that each process reads before using an account:

- with ``PGY_REDIS_URL`` (a cluster), a Redis key beside the shared account pool's, so every
  server and worker that shares the Redis sees it (``RedisAccountPool.generation``);
- without, a small file in ``PGY_DATA_DIR`` (``FileReloadSignal``): the processes of one machine
  that share the data directory see it, the embedded ``pgy serve`` included.

Cookie files are also re-read when they change (within a second): the signal is for a change a
file's stamp cannot show, or to be sure, after replacing files, that every process has read them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pgy_metrics.sources.cookie_files import FileStamp, stamp_of

if TYPE_CHECKING:
    from pgy_metrics.service.settings import Settings

__all__ = ["FILE_NAME", "FileReloadSignal", "GenerationCounter", "bump_now", "reload_signal"]


class GenerationCounter(Protocol):
    """A ``ReloadSignal`` that can also be increased."""

    async def generation(self) -> int: ...

    async def bump_generation(self) -> int: ...


FILE_NAME = "accounts-reload-generation"


class FileReloadSignal:
    """The generation in ``data_dir/accounts-reload-generation``: a number, read again only
    when the file's stamp changes (one ``stat`` per use of an account)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self._stamp: FileStamp | None = None
        self._generation = 0

    async def generation(self) -> int:
        stamp = stamp_of(self.path)
        if stamp != self._stamp:
            self._stamp = stamp
            self._generation = self._read()
        return self._generation

    def _read(self) -> int:
        try:
            return int(self.path.read_text(encoding="utf-8").strip() or 0)
        except (OSError, ValueError):
            return 0

    async def bump_generation(self) -> int:
        """Write the next generation (atomically: a reader sees the old number or the new)."""
        generation = self._read() + 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{FILE_NAME}.{os.getpid()}")
        temporary.write_text(f"{generation}\n", encoding="utf-8")
        os.replace(temporary, self.path)
        return generation


def reload_signal(settings: Settings) -> GenerationCounter:
    """The deployment's signal: Redis with ``PGY_REDIS_URL``, else the data directory."""
    if settings.redis_url:
        from pgy_metrics.service.account_pool import RedisAccountPool

        return RedisAccountPool(settings.redis_url, prefix=settings.redis_key_prefix)
    return FileReloadSignal(settings.data_dir)


def bump_now(settings: Settings) -> tuple[int, str]:
    """From a command: bump the deployment's generation; (generation, where it lives)."""
    signal = reload_signal(settings)
    where = "Redis" if settings.redis_url else f"the data directory ({settings.data_dir})"
    return asyncio.run(signal.bump_generation()), where
