"""Stability-risk assessments of major decisions (重大决策社会稳定风险评估).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "decision_assessments",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("owner_leader_id", sa.Uuid(), nullable=False),
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response_plan", sa.Text(), nullable=True),
        sa.Column("rule_risk_level", sa.String(length=8), nullable=True),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("level_reason", sa.Text(), nullable=True),
        sa.Column("conclusion", sa.String(length=32), nullable=True),
        sa.Column("conclusion_note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("assessed_by", sa.Uuid(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_decision_assessments_unit_id_units"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_leader_id"],
            ["officials.id"],
            name=op.f("fk_decision_assessments_owner_leader_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["officials.id"],
            name=op.f("fk_decision_assessments_created_by_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["assessed_by"],
            ["officials.id"],
            name=op.f("fk_decision_assessments_assessed_by_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["officials.id"],
            name=op.f("fk_decision_assessments_decided_by_officials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_assessments")),
    )
    for column in (
        "unit_id",
        "planned_on",
        "owner_leader_id",
        "risk_level",
        "status",
        "assessed_at",
        "updated_at",
    ):
        op.create_index(
            op.f(f"ix_decision_assessments_{column}"),
            "decision_assessments",
            [column],
            unique=False,
        )
    op.create_table(
        "decision_cases",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("linked_by", sa.Uuid(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision_assessments.id"],
            name=op.f("fk_decision_cases_decision_id_decision_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_decision_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["linked_by"],
            ["officials.id"],
            name=op.f("fk_decision_cases_linked_by_officials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_cases")),
        sa.UniqueConstraint("decision_id", "case_id", name="uq_decision_cases_pair"),
    )
    for column in ("decision_id", "case_id", "updated_at"):
        op.create_index(
            op.f(f"ix_decision_cases_{column}"),
            "decision_cases",
            [column],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    for column in ("decision_id", "case_id", "updated_at"):
        op.drop_index(op.f(f"ix_decision_cases_{column}"), table_name="decision_cases")
    op.drop_table("decision_cases")
    for column in (
        "unit_id",
        "planned_on",
        "owner_leader_id",
        "risk_level",
        "status",
        "assessed_at",
        "updated_at",
    ):
        op.drop_index(op.f(f"ix_decision_assessments_{column}"), table_name="decision_assessments")
    op.drop_table("decision_assessments")
