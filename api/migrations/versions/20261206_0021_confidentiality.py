"""Confidentiality (issue 19 §3): whom a case complains about (被反映人), the confidential
mark (保密) and its named readers; the IT administrator's role (系统管理员).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTS = ("complained_official_ids", "complained_unit_ids", "confidential_readers")


def upgrade() -> None:
    """Apply this revision."""
    for name in _LISTS:
        op.add_column(
            "cases",
            sa.Column(name, postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        )
    op.add_column(
        "cases", sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE official_role ADD VALUE IF NOT EXISTS 'it_admin'")


def downgrade() -> None:
    """Revert this revision (the enum value stays: PostgreSQL cannot drop one)."""
    op.drop_column("cases", "confidential")
    for name in reversed(_LISTS):
        op.drop_column("cases", name)
