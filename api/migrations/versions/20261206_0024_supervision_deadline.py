"""The supervision deadline (督办时限, issue 20 §2): a case under a supervision notice is
answered by its date.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS 'supervision'")


def downgrade() -> None:
    """Revert this revision (PostgreSQL cannot drop an enum value: it stays, unused)."""
