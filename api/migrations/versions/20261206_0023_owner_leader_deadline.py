"""The owner-leader deadline (领导包案时限, issue 20): a case that must have an owner leader
gets one by its deadline.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS 'owner_leader'")


def downgrade() -> None:
    """Revert this revision (PostgreSQL cannot drop an enum value: it stays, unused)."""
