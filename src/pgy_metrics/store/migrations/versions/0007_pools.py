"""Console pools: uploaded lists of creators per holder, their members and fetch progress.

``pools`` holds each pool's name, holder (token id), fetch state, the upload's bad rows and the
fetch's idempotency nonce; ``pool_members`` one row per creator with its fetch status.

Revision ID: 0007_pools
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pgy_metrics.store.models import UTCDateTime

revision: str = "0007_pools"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
    )
    op.create_index("ix_pools_token_id", "pools", ["token_id"])
    op.create_table(
        "pool_members",
        sa.Column("pool_id", BigId, nullable=False),
        sa.Column("user_id", sa.String(24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("pool_id", "user_id", name=op.f("pk_pool_members")),
    )


def downgrade() -> None:
    op.drop_table("pool_members")
    op.drop_index("ix_pools_token_id", table_name="pools")
    op.drop_table("pools")
