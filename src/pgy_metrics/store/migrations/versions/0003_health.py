"""Health buckets (upstream outcomes per minute) and the last label of each subject.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pgy_metrics.store.models import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_buckets",
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("ok", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "minute", "endpoint", "source", "account", name=op.f("pk_health_buckets")
        ),
    )
    op.create_table(
        "health_labels",
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("label", sa.String(30), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_health_labels")),
    )


def downgrade() -> None:
    op.drop_table("health_labels")
    op.drop_table("health_buckets")
