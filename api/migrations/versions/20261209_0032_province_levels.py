"""Levels above the county (issue 24): `city` (市) and `province` (省) become units that can be
administered, so one deployment serves a province's counties.

`ALTER TYPE … ADD VALUE` cannot run inside a transaction block before PostgreSQL 12 and its new
values cannot be used in the same transaction: the migration only adds them.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two levels above the county to `unit_level`."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE unit_level ADD VALUE IF NOT EXISTS 'province' BEFORE 'county'")
        op.execute("ALTER TYPE unit_level ADD VALUE IF NOT EXISTS 'city' BEFORE 'county'")


def downgrade() -> None:
    """PostgreSQL cannot drop an enum's value; units of these levels would have to go first."""
    op.execute("DELETE FROM units WHERE level IN ('province', 'city')")
