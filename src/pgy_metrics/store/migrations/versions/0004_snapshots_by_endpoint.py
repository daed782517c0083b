"""Snapshots keyed by endpoint + parameter key; the notes-specific scope columns go.

Every existing snapshot is a ``notes_rate`` snapshot: it gets ``endpoint = 'notes_rate'`` and its
``scope_key`` becomes its ``params_key`` (the same text). The four scope columns repeated what the
key says, so nothing is lost by dropping them; the downgrade rebuilds them from the key. Ledger
charges written before the endpoint was recorded get ``notes_rate`` too (the only endpoint then).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES_RATE = "notes_rate"
"""Written out, not imported: a migration must mean the same thing forever."""
SCOPE_COLUMNS = (
    ("business", 20),
    ("note_type", 30),
    ("date_type", 10),
    ("advertise_switch", 20),
)
"""The dropped columns, in the order of the parts of the key (``DAILY_NOTE.PHOTO_TEXT...``)."""


def upgrade() -> None:
    op.drop_index("ix_snapshots_latest", table_name="snapshots")
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(
            sa.Column("endpoint", sa.String(40), nullable=False, server_default=NOTES_RATE)
        )
        batch.alter_column(
            "scope_key",
            new_column_name="params_key",
            existing_type=sa.String(80),
            type_=sa.String(200),
            existing_nullable=False,
        )
        for name, _length in SCOPE_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("snapshots") as batch:
        # The default only filled the existing rows: new ones always say their endpoint.
        batch.alter_column("endpoint", server_default=None, existing_type=sa.String(40))
    op.create_index(
        "ix_snapshots_latest", "snapshots", ["endpoint", "user_id", "params_key", "collected_at"]
    )
    ledger = sa.table("ledger", sa.column("endpoint"), sa.column("kind"))
    op.execute(
        ledger.update()
        .where(ledger.c.endpoint.is_(None), ledger.c.kind == "charge")
        .values(endpoint=NOTES_RATE)
    )


def downgrade() -> None:
    connection = op.get_bind()
    snapshots = sa.table(
        "snapshots",
        sa.column("endpoint"),
        sa.column("params_key"),
        *(sa.column(name) for name, _ in SCOPE_COLUMNS),
    )
    others = connection.execute(
        sa.select(sa.func.count()).where(snapshots.c.endpoint != NOTES_RATE)
    ).scalar()
    if others:
        raise RuntimeError(
            f"cannot downgrade below 0004: {others} snapshots belong to endpoints other than "
            f"{NOTES_RATE}, which the older schema cannot hold; delete them first if that is meant"
        )
    op.drop_index("ix_snapshots_latest", table_name="snapshots")
    with op.batch_alter_table("snapshots") as batch:
        for name, length in SCOPE_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
    keys = connection.execute(sa.select(snapshots.c.params_key).distinct()).scalars().all()
    for key in keys:
        parts = key.split(".")
        if len(parts) != len(SCOPE_COLUMNS):
            raise RuntimeError(f"cannot downgrade: snapshot parameter key {key!r} is no scope key")
        values = {name: part for (name, _), part in zip(SCOPE_COLUMNS, parts, strict=True)}
        connection.execute(snapshots.update().where(snapshots.c.params_key == key).values(**values))
    with op.batch_alter_table("snapshots") as batch:
        for name, length in SCOPE_COLUMNS:
            batch.alter_column(name, existing_type=sa.String(length), nullable=False)
        batch.alter_column(
            "params_key",
            new_column_name="scope_key",
            existing_type=sa.String(200),
            type_=sa.String(80),
            existing_nullable=False,
        )
        batch.drop_column("endpoint")
    op.create_index("ix_snapshots_latest", "snapshots", ["user_id", "scope_key", "collected_at"])
