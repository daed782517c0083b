"""The store on real SQLite and PostgreSQL: migrations, history, latest per creator + scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from pgy_metrics.contract import DateType, Scope
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.store import Snapshot, Store
from pgy_metrics.store.database import MIGRATIONS

USER = "5d21ab6b000000001201567d"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_migrations_are_idempotent_and_create_the_tables(store: Store) -> None:
    await store.migrate()  # a second start changes nothing
    with store.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        indexes = {i["name"] for i in inspect(connection).get_indexes("snapshots")}
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert {"tokens", "snapshots", "alembic_version"} <= set(tables)
    assert "ix_snapshots_latest" in indexes
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert version == ScriptDirectory.from_config(config).get_current_head()
    assert {"usage_days", "reservations", "ledger", "idempotency_keys"} <= set(tables)


async def test_snapshots_are_history_never_overwritten(store: Store) -> None:
    for hours in (0, 1, 2):
        await store.snapshots.add(
            Snapshot(
                endpoint=NOTES_RATE,
                user_id=USER,
                params_key=Scope().key,
                collected_at=T0 + timedelta(hours=hours),
                source="sandbox",
                payload=f'{{"n":{hours}}}',
            )
        )
    await store.snapshots.add(
        Snapshot(
            endpoint=NOTES_RATE,
            user_id=USER,
            params_key=Scope(date_type=DateType.DAY_90).key,
            collected_at=T0 + timedelta(hours=9),
            source="replay",
            payload='{"other":1.0}',
        )
    )
    history = await store.snapshots.history(NOTES_RATE, USER, Scope().key)
    assert [s.payload for s in history] == ['{"n":0}', '{"n":1}', '{"n":2}']
    latest = await store.snapshots.latest(NOTES_RATE, USER, Scope().key)
    assert latest is not None
    assert latest.payload == '{"n":2}'
    assert latest.collected_at == T0 + timedelta(hours=2)
    assert latest.collected_at.tzinfo is not None
    other = await store.snapshots.latest(NOTES_RATE, USER, Scope(date_type=DateType.DAY_90).key)
    assert other is not None and other.source == "replay" and other.payload == '{"other":1.0}'
    assert await store.snapshots.latest(NOTES_RATE, "0" * 24, Scope().key) is None


async def test_payload_text_is_kept_byte_for_byte(store: Store) -> None:
    payload = '{"b":1,"a":0.01700000000000005,"title":"🛍️冬季宿舍好物分享～","z":0.0}'
    await store.snapshots.add(
        Snapshot(NOTES_RATE, USER, Scope().key, collected_at=T0, source="s", payload=payload)
    )
    latest = await store.snapshots.latest(NOTES_RATE, USER, Scope().key)
    assert latest is not None and latest.payload == payload


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        await store.snapshots.add(
            Snapshot(
                endpoint=NOTES_RATE,
                user_id=USER,
                params_key=Scope().key,
                collected_at=datetime(2026, 1, 1),
                source="s",
                payload="{}",
            )
        )


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'dir' / 'db.sqlite3'}")
    await store.migrate()
    with store.engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()
    await store.aclose()
    assert mode == "wal"


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="postgresql"):
        Store("mysql+aiomysql://root@localhost/test")
