"""Alerts remember their template and its fields (a fallback contact gets its channel's text)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:35:59.211354
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("alerts", sa.Column("template", sa.String(length=32), nullable=True))
    op.add_column(
        "alerts",
        sa.Column("template_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("alerts", "template_fields")
    op.drop_column("alerts", "template")
