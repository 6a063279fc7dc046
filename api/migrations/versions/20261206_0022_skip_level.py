"""Skip-level petitions (越级访, issue 20 §1) as a fact of the case, fixed at registration under
the policy of the day (`intake.skip_levels`). Cases registered before count as they were
counted: lodged above the county.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "cases", sa.Column("skip_level", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE cases SET skip_level = true WHERE lodged_level IN ('city', 'province', 'national')"
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("cases", "skip_level")
