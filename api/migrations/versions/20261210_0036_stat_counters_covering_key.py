"""The dashboard counters' primary key carries the value (issue 24, `make bench-province`):
the summary's sums read each span of days or months as one range of (unit, period, day) and
answer from the index alone.

Before, the spans were one OR and PostgreSQL read them through the key-first series index,
filtering the unit's whole history (a province's 88,000 rows for a year's 2,000); as ranges of
the primary key they needed a heap fetch per row. The value changes on every count, but the
series index already includes it, so no update that was HOT becomes non-HOT.

The key is rebuilt under an ACCESS EXCLUSIVE lock (about 20 s for 7 million rows on a
two-core machine): run it in a quiet hour on a large deployment.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rebuild the primary key with INCLUDE (value)."""
    op.execute(
        "ALTER TABLE stat_counters DROP CONSTRAINT pk_stat_counters, "
        "ADD CONSTRAINT pk_stat_counters PRIMARY KEY (unit_id, period, day, key) INCLUDE (value)"
    )


def downgrade() -> None:
    """The primary key without the value."""
    op.execute(
        "ALTER TABLE stat_counters DROP CONSTRAINT pk_stat_counters, "
        "ADD CONSTRAINT pk_stat_counters PRIMARY KEY (unit_id, period, day, key)"
    )
