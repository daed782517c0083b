"""The batch checkpoint: one SQLite row per (creator, scope), committed per item.

A row is written as ``pending`` with its Idempotency-Key *before* the request is sent, then turned
into ``done`` (with the whole envelope) or ``failed`` (with the code and whether it may be retried).
So after a crash, a kill -9 or Ctrl-C a re-run knows exactly what was fetched (skip it), what was
in flight (send it again with the same key: a server that honours keys replays the first answer
without a second charge) and what failed (retry it only if the failure was retryable).

Stdlib ``sqlite3`` in WAL mode with ``synchronous=NORMAL``: every commit survives the death of the
process (not necessarily a power cut). One ``Checkpoint`` belongs to one thread.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pgy_metrics.client._closing import Closing

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_items (
    user_id         TEXT NOT NULL,
    scope           TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    idempotency_key TEXT NOT NULL,
    envelope        TEXT,
    source          TEXT,
    code            INTEGER,
    error           TEXT,
    message         TEXT,
    request_id      TEXT,
    retryable       INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, scope)
)
"""


class ItemState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """What the checkpoint knows of one (creator, scope)."""

    user_id: str
    scope_key: str
    state: ItemState
    idempotency_key: str
    envelope: dict[str, Any] | None
    source: str | None
    code: int | None
    error: str | None
    """The exception class name of a failure (``CollectionFailed``, ``APITimeoutError``...)."""
    message: str | None
    request_id: str | None
    retryable: bool
    attempts: int


class Checkpoint(Closing):
    """A batch checkpoint file; ``Checkpoint(path)`` creates it (and its folder) if needed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # The ids this run has seen, for de-duplicating the input: a temporary table lives on
        # disk beside SQLite's bounded page cache, so a million-line input costs no memory.
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("CREATE TEMP TABLE run_inputs (user_id TEXT PRIMARY KEY) WITHOUT ROWID")

    def get(self, user_id: str, scope_key: str) -> CheckpointRow | None:
        row = self._db.execute(
            "SELECT user_id, scope, state, idempotency_key, envelope, source, code, error, "
            "message, request_id, retryable, attempts FROM batch_items "
            "WHERE user_id = ? AND scope = ?",
            (user_id, scope_key),
        ).fetchone()
        if row is None:
            return None
        return CheckpointRow(
            user_id=row[0],
            scope_key=row[1],
            state=ItemState(row[2]),
            idempotency_key=row[3],
            envelope=json.loads(row[4]) if row[4] is not None else None,
            source=row[5],
            code=row[6],
            error=row[7],
            message=row[8],
            request_id=row[9],
            retryable=bool(row[10]),
            attempts=row[11],
        )

    def first_sighting(self, user_id: str) -> bool:
        """True the first time this run sees ``user_id``, False for a repeat in the input.

        Per run, not per file: a re-run starts with no ids seen (what it fetched before is known
        from ``batch_items``).
        """
        cursor = self._db.execute(
            "INSERT INTO run_inputs (user_id) VALUES (?) ON CONFLICT DO NOTHING", (user_id,)
        )
        return cursor.rowcount == 1

    def mark_pending(self, user_id: str, scope_key: str, idempotency_key: str) -> None:
        """Record the key about to be sent; committed before this returns."""
        self._db.execute(
            "INSERT INTO batch_items (user_id, scope, state, idempotency_key, attempts, "
            "updated_at) VALUES (?, ?, 'pending', ?, 1, ?) "
            "ON CONFLICT (user_id, scope) DO UPDATE SET state = 'pending', "
            "idempotency_key = excluded.idempotency_key, attempts = attempts + 1, "
            "updated_at = excluded.updated_at",
            (user_id, scope_key, idempotency_key, _now()),
        )

    def mark_done(
        self, user_id: str, scope_key: str, *, envelope: dict[str, Any], source: str | None
    ) -> None:
        self._db.execute(
            "UPDATE batch_items SET state = 'done', envelope = ?, source = ?, code = 0, "
            "error = NULL, message = NULL, request_id = ?, retryable = 0, updated_at = ? "
            "WHERE user_id = ? AND scope = ?",
            (
                json.dumps(envelope, ensure_ascii=False),
                source,
                envelope.get("requestId"),
                _now(),
                user_id,
                scope_key,
            ),
        )

    def mark_failed(
        self,
        user_id: str,
        scope_key: str,
        *,
        code: int | None,
        error: str,
        message: str,
        request_id: str | None,
        retryable: bool,
    ) -> None:
        self._db.execute(
            "UPDATE batch_items SET state = 'failed', code = ?, error = ?, message = ?, "
            "request_id = ?, retryable = ?, updated_at = ? WHERE user_id = ? AND scope = ?",
            (code, error, message, request_id, int(retryable), _now(), user_id, scope_key),
        )

    def counts(self) -> dict[ItemState, int]:
        found = dict(
            self._db.execute("SELECT state, count(*) FROM batch_items GROUP BY state").fetchall()
        )
        return {state: int(found.get(state.value, 0)) for state in ItemState}

    def close(self) -> None:
        self._db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
