"""Finding a case (issue 21 §3): `cases.search_tokens`, the tokens a case is found by, under a
GIN index.

Existing cases get their tokens from `python -m api.search reindex` (`make reindex-search`), in
batches, not here: a petitioner's name is tokenised under `PII_HASH_KEY`, which the app's
settings hold and a migration should not need, and a county's cases are tokenised in minutes,
longer than a schema change should hold its lock. Until then an old case is not found by
search (it is still listed, read and matched by numbers as before).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "cases",
        sa.Column(
            "search_tokens",
            postgresql.ARRAY(sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index("ix_cases_search_tokens", "cases", ["search_tokens"], postgresql_using="gin")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_cases_search_tokens", table_name="cases")
    op.drop_column("cases", "search_tokens")
