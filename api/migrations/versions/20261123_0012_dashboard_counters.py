"""Dashboard counters (SPEC §6): figures per unit and period, and what each case adds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 23:37:02.487158
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stat_counters",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("period IN ('d', 'm')", name=op.f("ck_stat_counters_period")),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_stat_counters_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "period", "day", "key", name=op.f("pk_stat_counters")),
    )
    op.create_index(op.f("ix_cases_received_at"), "cases", ["received_at"], unique=False)
    op.create_index(
        "ix_stat_counters_series",
        "stat_counters",
        ["unit_id", "period", "key", "day"],
        unique=False,
        postgresql_include=["value"],
    )
    op.create_table(
        "case_stat_facts",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_stat_facts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_stat_facts")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("case_stat_facts")
    op.drop_index("ix_stat_counters_series", table_name="stat_counters")
    op.drop_index(op.f("ix_cases_received_at"), table_name="cases")
    op.drop_table("stat_counters")
