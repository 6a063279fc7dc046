"""Policy per subtree (issue 24): a unit's overrides of the deployment's policy for its subtree,
and the history of every change.

`policy_documents.document` may now be NULL (the built-in defaults, when only overrides were
ever saved); its `version` is the policy's generation, bumped by every change. The document in
force when this migration runs becomes the first entry of the history.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    """Overrides per unit, the history, and a document that may be the defaults."""
    op.alter_column("policy_documents", "document", nullable=True)
    op.create_table(
        "policy_overrides",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_policy_overrides_unit_id_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_policy_overrides")),
    )
    op.create_table(
        "policy_changes",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_changes")),
    )
    op.create_index(op.f("ix_policy_changes_version"), "policy_changes", ["version"])
    op.create_index(op.f("ix_policy_changes_updated_at"), "policy_changes", ["updated_at"])
    op.create_index(op.f("ix_policy_changes_unit_id"), "policy_changes", ["unit_id"])
    op.execute(
        "INSERT INTO policy_changes (id, version, unit_id, document, changed_by, created_at, "
        "updated_at) SELECT gen_random_uuid(), version, NULL, document, updated_by, updated_at, "
        "updated_at FROM policy_documents"
    )


def downgrade() -> None:
    """Back to one document (overrides and history dropped)."""
    op.drop_index(op.f("ix_policy_changes_unit_id"), table_name="policy_changes")
    op.drop_index(op.f("ix_policy_changes_updated_at"), table_name="policy_changes")
    op.drop_index(op.f("ix_policy_changes_version"), table_name="policy_changes")
    op.drop_table("policy_changes")
    op.drop_table("policy_overrides")
    op.execute("DELETE FROM policy_documents WHERE document IS NULL")
    op.alter_column("policy_documents", "document", nullable=False)
