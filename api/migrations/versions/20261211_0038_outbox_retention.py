"""Outbox rows are purged once handed to Redis and past their time (issue 25): a BRIN index on
`created_at` gives the sweep's purge its range without a B-tree to keep up on every insert,
and one on `dispatched_at` the sweep's check that the jobs handed out lately are still in
Redis (a failover loses the last writes).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-11 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The BRIN index."""
    op.create_index(
        "ix_outbox_created_brin", "outbox_messages", ["created_at"], postgresql_using="brin"
    )
    op.create_index(
        "ix_outbox_dispatched_brin", "outbox_messages", ["dispatched_at"], postgresql_using="brin"
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_outbox_dispatched_brin", table_name="outbox_messages")
    op.drop_index("ix_outbox_created_brin", table_name="outbox_messages")
