"""Materials (附件, issue 21 §1): files attached to cases and their events, kept by SHA-256 in
the blob store (never in a row); resumable uploads (tus) under way.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _times() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "materials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.Uuid(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        *_times(),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_materials_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_events.id"], name=op.f("fk_materials_event_id_case_events")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["officials.id"], name=op.f("fk_materials_uploaded_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by"], ["officials.id"], name=op.f("fk_materials_withdrawn_by_officials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint(
            "case_id", "uploaded_by", "idempotency_key", name="uq_materials_idempotency"
        ),
    )
    op.create_index(op.f("ix_materials_case_id"), "materials", ["case_id"])
    op.create_index("ix_materials_case_sha256", "materials", ["case_id", "sha256"])
    op.create_index(op.f("ix_materials_updated_at"), "materials", ["updated_at"])
    op.create_table(
        "material_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=True),
        *_times(),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_material_uploads_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["officials.id"],
            name=op.f("fk_material_uploads_uploaded_by_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_events.id"], name=op.f("fk_material_uploads_event_id_case_events")
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_uploads_material_id_materials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_uploads")),
    )
    op.create_index(op.f("ix_material_uploads_case_id"), "material_uploads", ["case_id"])
    op.create_index(op.f("ix_material_uploads_updated_at"), "material_uploads", ["updated_at"])


def downgrade() -> None:
    """Revert this revision (the blobs stay in the store)."""
    op.drop_table("material_uploads")
    op.drop_table("materials")
