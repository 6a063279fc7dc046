"""Follow-up calls (回访), the petitioner's lookup secret, deadlines without a case named by
their subject, and the deadline kinds of prevention and leadership work.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KINDS = ("follow_up", "screening", "screening_round", "field_visit", "appointment")


def upgrade() -> None:
    """Apply this revision."""
    for kind in NEW_KINDS:
        op.execute(f"ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS '{kind}'")
    op.add_column("deadlines", sa.Column("subject", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("lookup_secret_hash", sa.String(length=64), nullable=True))
    op.add_column("cases", sa.Column("instructed_by", sa.Uuid(), nullable=True))
    op.add_column("cases", sa.Column("instructed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("instruction", sa.Text(), nullable=True))
    op.create_index(op.f("ix_cases_instructed_by"), "cases", ["instructed_by"], unique=False)
    op.create_foreign_key(
        op.f("fk_cases_instructed_by_officials"), "cases", "officials", ["instructed_by"], ["id"]
    )
    op.create_table(
        "follow_ups",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
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
            ["case_id"], ["cases.id"], name=op.f("fk_follow_ups_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_follow_ups_official_id_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index(op.f("ix_follow_ups_case_id"), "follow_ups", ["case_id"], unique=False)
    op.create_index(op.f("ix_follow_ups_updated_at"), "follow_ups", ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this revision (PostgreSQL cannot drop enum values: the kinds stay)."""
    op.drop_index(op.f("ix_follow_ups_updated_at"), table_name="follow_ups")
    op.drop_index(op.f("ix_follow_ups_case_id"), table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_constraint(op.f("fk_cases_instructed_by_officials"), "cases", type_="foreignkey")
    op.drop_index(op.f("ix_cases_instructed_by"), table_name="cases")
    op.drop_column("cases", "instruction")
    op.drop_column("cases", "instructed_at")
    op.drop_column("cases", "instructed_by")
    op.drop_column("cases", "lookup_secret_hash")
    op.drop_column("deadlines", "subject")
