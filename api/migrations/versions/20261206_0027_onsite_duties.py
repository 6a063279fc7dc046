"""On-site reception duties (赴现场接待, issue 20 §1): the record of a visit lodged at the
province or in Beijing, and the deadline by which its matter is settled at home (事要解决).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS 'onsite_settlement'")
    op.create_table(
        "onsite_duties",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("level", postgresql.ENUM(name="lodged_level", create_type=False), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settle_deadline_id", sa.Uuid(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_onsite_duties_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_onsite_duties_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["settle_deadline_id"],
            ["deadlines.id"],
            name=op.f("fk_onsite_duties_settle_deadline_id_deadlines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onsite_duties")),
        sa.UniqueConstraint("case_id", name=op.f("uq_onsite_duties_case_id")),
    )
    op.create_index(op.f("ix_onsite_duties_unit_id"), "onsite_duties", ["unit_id"])
    op.create_index(op.f("ix_onsite_duties_updated_at"), "onsite_duties", ["updated_at"])


def downgrade() -> None:
    """Revert this revision (the enum value stays: PostgreSQL cannot drop one)."""
    op.drop_table("onsite_duties")
