"""A higher office mapped onto the unit it is (issue 24): a city's or a province's bureau of
this deployment, whose officials then read the cases it handed down. Existing offices stay
outside the deployment (NULL) until an admin names their unit.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """`higher_offices.unit_id`."""
    op.add_column("higher_offices", sa.Column("unit_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_higher_offices_unit_id_units"), "higher_offices", "units", ["unit_id"], ["id"]
    )
    op.create_index(op.f("ix_higher_offices_unit_id"), "higher_offices", ["unit_id"])


def downgrade() -> None:
    """Drop the mapping."""
    op.drop_index(op.f("ix_higher_offices_unit_id"), table_name="higher_offices")
    op.drop_constraint(
        op.f("fk_higher_offices_unit_id_units"), "higher_offices", type_="foreignkey"
    )
    op.drop_column("higher_offices", "unit_id")
