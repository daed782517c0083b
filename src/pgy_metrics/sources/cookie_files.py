"""Cookie files that are re-read when they change, and the cluster's "re-read now" signal.

A Pugongying login expires; the operator logs in again in a browser and replaces the account's
cookie file. Restarting every server and worker of a cluster for that would drop requests in
flight, so each process watches the files it read its cookies from:

- **on use, at most once a second** (``CHECK_INTERVAL_SECONDS``) it compares each file's stamp
  (modification time, size, inode: one ``stat``, no read) with the one it last read. A changed
  stamp makes it read the file and compare the cookies' digest: only a new digest is a new
  login (a ``touch`` changes nothing).
- **on a reload signal** (``ReloadSignal``: a generation counter that ``pgy accounts reload`` and
  ``POST /admin/accounts/reload`` increase, in Redis for a cluster or in the data directory for
  one machine) it reads every file whatever its stamp: for a change a stamp cannot see (a file
  rewritten in place to the same size with its time kept, as ``cp -p`` does).

A file that cannot be read or parsed leaves the cookies the process has: a half-written file
must not log an account out. Nothing here ever logs, returns or raises a cookie value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["CHECK_INTERVAL_SECONDS", "FileStamp", "ReloadSignal", "stamp_of"]

CHECK_INTERVAL_SECONDS = 1.0
"""How often, at most, a process looks at its cookie files' stamps (only when it uses an
account): a new login takes effect within a second, and a busy server pays one ``stat`` per
file per second, not one per request."""


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What ``stat`` says of a file that changes when its content is replaced."""

    mtime_ns: int
    size: int
    inode: int


def stamp_of(path: Path) -> FileStamp | None:
    """The file's stamp, or None if it cannot be looked at now (missing while being replaced)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return FileStamp(mtime_ns=found.st_mtime_ns, size=found.st_size, inode=found.st_ino)


class ReloadSignal(Protocol):
    """A counter every process of a deployment reads before using an account: when it has
    grown since the process last looked, the process re-reads every cookie file."""

    async def generation(self) -> int:
        """The current generation (0 before any reload). May raise ``PoolUnavailable``."""
        ...
