"""Plans on tokens; usage per day, reservations, ledger, idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pgy_metrics.store.models import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("rate_limit", sa.String(200), nullable=True))
        batch.add_column(sa.Column("daily_quota", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("balance", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("endpoints", sa.String(500), nullable=True))
        batch.add_column(sa.Column("price", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cached_price", sa.BigInteger(), nullable=True))
        batch.create_check_constraint("balance_not_negative", "balance IS NULL OR balance >= 0")
    op.create_table(
        "usage_days",
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "day", name=op.f("pk_usage_days")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_usage_days_reserved_not_negative")),
    )
    op.create_table(
        "reservations",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("quota_slot", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_reservations")),
    )
    op.create_index("ix_reservations_created_at", "reservations", ["created_at"])
    op.create_table(
        "ledger",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("endpoint", sa.String(40), nullable=True),
        sa.Column("user_id", sa.String(24), nullable=True),
        sa.Column("scope_key", sa.String(80), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=True),
        sa.Column("day", sa.String(10), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint("request_id", name=op.f("uq_ledger_request_id")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_ledger_amount_not_negative")),
    )
    op.create_index("ix_ledger_token_created", "ledger", ["token_id", "created_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("source", sa.String(40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_ledger_token_created", table_name="ledger")
    op.drop_table("ledger")
    op.drop_index("ix_reservations_created_at", table_name="reservations")
    op.drop_table("reservations")
    op.drop_table("usage_days")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint("balance_not_negative", type_="check")
        for column in (
            "cached_price",
            "price",
            "endpoints",
            "balance",
            "daily_quota",
            "rate_limit",
        ):
            batch.drop_column(column)
