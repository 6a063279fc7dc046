"""Higher offices (上级信访部门) and where a case came from (issue 20 §2): its source, the
office that handed it down with its reference number (unique per office), due date and
whether it wants the result back.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFICE_LEVEL = postgresql.ENUM("city", "province", "national", name="office_level")
CASE_SOURCE = postgresql.ENUM("own", "transferred", "assigned", name="case_source")


def upgrade() -> None:
    """Apply this revision."""
    OFFICE_LEVEL.create(op.get_bind(), checkfirst=True)
    CASE_SOURCE.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "higher_offices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "level",
            postgresql.ENUM(name="office_level", create_type=False),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_higher_offices")),
        sa.UniqueConstraint("code", name=op.f("uq_higher_offices_code")),
    )
    op.create_index(op.f("ix_higher_offices_updated_at"), "higher_offices", ["updated_at"])
    op.add_column(
        "cases",
        sa.Column(
            "source",
            postgresql.ENUM(name="case_source", create_type=False),
            server_default="own",
            nullable=False,
        ),
    )
    op.add_column("cases", sa.Column("higher_office_id", sa.Uuid(), nullable=True))
    op.add_column("cases", sa.Column("higher_reference", sa.String(length=100), nullable=True))
    op.add_column("cases", sa.Column("higher_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cases",
        sa.Column("wants_result", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_cases_higher_office_id_higher_offices"),
        "cases",
        "higher_offices",
        ["higher_office_id"],
        ["id"],
    )
    op.create_index(op.f("ix_cases_higher_office_id"), "cases", ["higher_office_id"])
    op.create_unique_constraint(
        "uq_cases_higher_office_reference", "cases", ["higher_office_id", "higher_reference"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_constraint("uq_cases_higher_office_reference", "cases", type_="unique")
    op.drop_index(op.f("ix_cases_higher_office_id"), table_name="cases")
    op.drop_constraint(
        op.f("fk_cases_higher_office_id_higher_offices"), "cases", type_="foreignkey"
    )
    for name in ("wants_result", "higher_due_at", "higher_reference", "higher_office_id", "source"):
        op.drop_column("cases", name)
    op.drop_table("higher_offices")
    CASE_SOURCE.drop(op.get_bind(), checkfirst=True)
    OFFICE_LEVEL.drop(op.get_bind(), checkfirst=True)
