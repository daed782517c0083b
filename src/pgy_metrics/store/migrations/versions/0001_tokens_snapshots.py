"""Tokens (hash only) and snapshots (history of collected answers).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pgy_metrics.store.models import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(24), nullable=False),
        sa.Column("scope_key", sa.String(80), nullable=False),
        sa.Column("business", sa.String(20), nullable=False),
        sa.Column("note_type", sa.String(30), nullable=False),
        sa.Column("date_type", sa.String(10), nullable=False),
        sa.Column("advertise_switch", sa.String(20), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_index("ix_snapshots_latest", "snapshots", ["user_id", "scope_key", "collected_at"])
    op.create_index("ix_snapshots_collected_at", "snapshots", ["collected_at"])


def downgrade() -> None:
    op.drop_index("ix_snapshots_collected_at", table_name="snapshots")
    op.drop_index("ix_snapshots_latest", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_table("tokens")
