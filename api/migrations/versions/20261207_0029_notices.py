"""Written notices and their service (书面告知、送达, issue 21 §2): the notices issued on a case,
their numbers per county, year and kind, and the deadline of a reply's sign-off.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE deadline_kind ADD VALUE IF NOT EXISTS 'notice_approval'")
    op.create_table(
        "notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("docx_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("expect_dispute", sa.Boolean(), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("served_by", sa.Uuid(), nullable=True),
        sa.Column("service_method", sa.String(16), nullable=True),
        sa.Column("recipient", sa.String(100), nullable=True),
        sa.Column("tracking_number", sa.String(64), nullable=True),
        sa.Column("witness", sa.String(100), nullable=True),
        sa.Column("proof_ref", sa.String(200), nullable=True),
        sa.Column("proof_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notices_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_notices_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["officials.id"], name=op.f("fk_notices_issued_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["served_by"], ["officials.id"], name=op.f("fk_notices_served_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["officials.id"], name=op.f("fk_notices_approved_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("case_id", "kind", "version", name=op.f("uq_notices_case_id")),
    )
    op.create_index(op.f("ix_notices_case_id"), "notices", ["case_id"])
    op.create_index(op.f("ix_notices_unit_id"), "notices", ["unit_id"])
    op.create_index(op.f("ix_notices_updated_at"), "notices", ["updated_at"])
    op.create_table(
        "notice_counters",
        sa.Column("county_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["units.id"], name=op.f("fk_notice_counters_county_id_units")
        ),
        sa.PrimaryKeyConstraint("county_id", "year", "kind", name=op.f("pk_notice_counters")),
    )


def downgrade() -> None:
    """Revert this revision (the enum value stays: PostgreSQL cannot drop one)."""
    op.drop_table("notice_counters")
    op.drop_table("notices")
