"""The unit tree's generation (issue 24): a number every change of the tree bumps, so a process
may keep an official's subtree between requests and ship no unit ids while it stands.

A province's official reaches about 35,000 units; reading them with every request cost
200-280 ms and every filter listed them. The auth statement now reads this one number and
returns the subtree only when the process's copy is of another generation.

A statement-level trigger bumps it on any insert, delete, truncate or change of a unit's parent
or level, whoever writes (the API, a loader, psql), in the writer's transaction: a reader sees
the new number exactly when it sees the new tree.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The one-row table, its row and the trigger on `units`."""
    op.create_table(
        "unit_tree_generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_unit_tree_generations_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_tree_generations")),
    )
    op.execute("INSERT INTO unit_tree_generations (id, value) VALUES (1, 1)")
    op.execute(
        """
        CREATE FUNCTION bump_unit_tree_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO unit_tree_generations (id, value) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET value = unit_tree_generations.value + 1;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER units_tree_changed AFTER INSERT OR DELETE OR UPDATE OF parent_id, level "
        "ON units FOR EACH STATEMENT EXECUTE FUNCTION bump_unit_tree_generation()"
    )
    op.execute(
        "CREATE TRIGGER units_tree_truncated AFTER TRUNCATE ON units "
        "FOR EACH STATEMENT EXECUTE FUNCTION bump_unit_tree_generation()"
    )


def downgrade() -> None:
    """Drop the triggers, the function and the table."""
    op.execute("DROP TRIGGER units_tree_truncated ON units")
    op.execute("DROP TRIGGER units_tree_changed ON units")
    op.execute("DROP FUNCTION bump_unit_tree_generation()")
    op.drop_table("unit_tree_generations")
