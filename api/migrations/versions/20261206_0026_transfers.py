"""Transfers from higher offices' systems (issue 20 §2): a service account bound to a higher
office (role `higher_office`), webhook subscriptions bound to one office (it hears only of the
cases it handed down), and a leader's instruction (领导批示) as a case's source.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BOUND = ("officials", "webhook_subscriptions")


def upgrade() -> None:
    """Apply this revision."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE official_role ADD VALUE IF NOT EXISTS 'higher_office'")
        op.execute("ALTER TYPE case_source ADD VALUE IF NOT EXISTS 'leader_instruction'")
    for table in _BOUND:
        op.add_column(table, sa.Column("higher_office_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_higher_office_id_higher_offices"),
            table,
            "higher_offices",
            ["higher_office_id"],
            ["id"],
        )
        op.create_index(op.f(f"ix_{table}_higher_office_id"), table, ["higher_office_id"])


def downgrade() -> None:
    """Revert this revision (the enum values stay: PostgreSQL cannot drop one)."""
    for table in reversed(_BOUND):
        op.drop_index(op.f(f"ix_{table}_higher_office_id"), table_name=table)
        op.drop_constraint(
            op.f(f"fk_{table}_higher_office_id_higher_offices"), table, type_="foreignkey"
        )
        op.drop_column(table, "higher_office_id")
