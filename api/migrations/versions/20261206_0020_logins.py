"""Logins (issue 19): every access and refresh token belongs to a login row, and revoking it
ends them all at once. Each refresh-token family so far becomes a login.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "logins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("client", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name=op.f("fk_logins_official_id_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logins")),
    )
    op.create_index(op.f("ix_logins_official_id"), "logins", ["official_id"], unique=False)
    op.execute(
        "INSERT INTO logins (id, official_id, created_at, revoked_at, revoked_reason) "
        "SELECT family_id, min(official_id::text)::uuid, min(created_at), max(revoked_at), "
        "CASE WHEN bool_or(revoked_at IS NOT NULL) THEN 'refresh_reused' END "
        "FROM refresh_tokens GROUP BY family_id"
    )
    op.create_foreign_key(
        op.f("fk_refresh_tokens_family_id_logins"),
        "refresh_tokens",
        "logins",
        ["family_id"],
        ["id"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_constraint(
        op.f("fk_refresh_tokens_family_id_logins"), "refresh_tokens", type_="foreignkey"
    )
    op.drop_index(op.f("ix_logins_official_id"), table_name="logins")
    op.drop_table("logins")
