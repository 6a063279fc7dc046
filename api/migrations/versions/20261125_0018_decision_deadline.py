"""A decision's assessment is due before the planned decision (先评估后决策): a
`decision_assessment` deadline for the responsible leader.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.execute("ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS 'decision_assessment'")
    op.add_column("decision_assessments", sa.Column("deadline_id", sa.Uuid(), nullable=True))
    op.add_column(
        "decision_assessments",
        sa.Column("assessment_due_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_foreign_key(
        op.f("fk_decision_assessments_deadline_id_deadlines"),
        "decision_assessments",
        "deadlines",
        ["deadline_id"],
        ["id"],
    )


def downgrade() -> None:
    """Revert this revision (PostgreSQL cannot drop enum values: the kind stays)."""
    op.drop_constraint(
        op.f("fk_decision_assessments_deadline_id_deadlines"),
        "decision_assessments",
        type_="foreignkey",
    )
    op.drop_column("decision_assessments", "assessment_due_at")
    op.drop_column("decision_assessments", "deadline_id")
