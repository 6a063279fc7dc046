"""Webhook subscriptions scoped to a unit subtree (issue 24): `webhook_subscriptions.unit_id`,
the unit whose subtree's events a subscription hears (a county's system its county's, a city's
its cities' counties'); NULL is the deployment scope, every county's events.

Every existing subscription migrates explicitly to the deployment scope: it was made by the
deployment's admin and heard every event before, and it keeps hearing them (`unit_id` is set to
NULL by the UPDATE below, not left to a default). Its owner may re-create it for one county.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the scope, and put every existing subscription in the deployment scope."""
    op.add_column("webhook_subscriptions", sa.Column("unit_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_webhook_subscriptions_unit_id_units"),
        "webhook_subscriptions",
        "units",
        ["unit_id"],
        ["id"],
    )
    op.create_index(op.f("ix_webhook_subscriptions_unit_id"), "webhook_subscriptions", ["unit_id"])
    op.execute("UPDATE webhook_subscriptions SET unit_id = NULL")  # the deployment scope


def downgrade() -> None:
    """Drop the scope: every subscription hears the whole deployment again (a county's
    endpoint would receive every county's events: disable scoped ones first)."""
    op.execute(
        "UPDATE webhook_subscriptions SET active = false, "
        "disabled_reason = 'scope removed by a downgrade' WHERE unit_id IS NOT NULL"
    )
    op.drop_index(op.f("ix_webhook_subscriptions_unit_id"), table_name="webhook_subscriptions")
    op.drop_constraint(
        op.f("fk_webhook_subscriptions_unit_id_units"), "webhook_subscriptions", type_="foreignkey"
    )
    op.drop_column("webhook_subscriptions", "unit_id")
