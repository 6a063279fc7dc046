"""The audit trail, append-only: a trigger refuses UPDATE and DELETE

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 21:58:32.362937
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_entries",
        sa.Column("official_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=300), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("query", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_audit_entries_official_id_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(
        op.f("ix_audit_entries_object_id"), "audit_entries", ["object_id"], unique=False
    )
    op.create_index(
        op.f("ix_audit_entries_official_id"), "audit_entries", ["official_id"], unique=False
    )
    op.create_index(
        op.f("ix_audit_entries_updated_at"), "audit_entries", ["updated_at"], unique=False
    )

    op.execute(
        """
        CREATE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
        " ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
    )


def downgrade() -> None:
    """Revert this revision."""
    op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION audit_entries_append_only()")
    op.drop_index(op.f("ix_audit_entries_updated_at"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_official_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_object_id"), table_name="audit_entries")
    op.drop_table("audit_entries")
