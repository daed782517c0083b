"""Watchlists: named lists of endpoint × creator × scope keys refreshed on a period.

``watchlists`` holds each list's period; ``watch_items`` one row per key of a list with the
time its next refresh falls due (indexed: the refresher's tick reads what is due).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pgy_metrics.store.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watchlists",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("period_seconds", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_watchlists")),
    )
    op.create_table(
        "watch_items",
        sa.Column("list_name", sa.String(100), nullable=False),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(24), nullable=False),
        sa.Column("params_key", sa.String(200), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "list_name", "endpoint", "user_id", "params_key", name=op.f("pk_watch_items")
        ),
    )
    op.create_index("ix_watch_items_next_due_at", "watch_items", ["next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_watch_items_next_due_at", table_name="watch_items")
    op.drop_table("watch_items")
    op.drop_table("watchlists")
