"""Dispute screening register (矛盾纠纷排查台账).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROUND_KIND = sa.text("kind = 'screening_round'")


def _stamps() -> list[sa.Column[Any]]:
    return [
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
    ]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "screening_items",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("people", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("risk_level", sa.String(length=8), nullable=False),
        sa.Column("owner_leader_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("deadline_id", sa.Uuid(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_screening_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_screening_items_deadline_id_deadlines")
        ),
        sa.ForeignKeyConstraint(
            ["owner_leader_id"],
            ["officials.id"],
            name=op.f("fk_screening_items_owner_leader_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["officials.id"], name=op.f("fk_screening_items_recorded_by_officials")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_screening_items_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_items")),
    )
    for column in (
        "case_id",
        "owner_leader_id",
        "risk_level",
        "screened_on",
        "status",
        "unit_id",
        "updated_at",
    ):
        op.create_index(
            op.f(f"ix_screening_items_{column}"), "screening_items", [column], unique=False
        )
    op.create_table(
        "screening_rounds",
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("zero", sa.Boolean(), nullable=False),
        sa.Column("item_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("deadline_id", sa.Uuid(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["deadline_id"],
            ["deadlines.id"],
            name=op.f("fk_screening_rounds_deadline_id_deadlines"),
        ),
        sa.ForeignKeyConstraint(
            ["official_id"],
            ["officials.id"],
            name=op.f("fk_screening_rounds_official_id_officials"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_screening_rounds_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_rounds")),
        sa.UniqueConstraint("official_id", "week", name="uq_screening_rounds_week"),
    )
    for column in ("official_id", "unit_id", "updated_at", "week"):
        op.create_index(
            op.f(f"ix_screening_rounds_{column}"), "screening_rounds", [column], unique=False
        )
    # `screening_round` joined the enum in 0013, possibly in this same transaction, and
    # PostgreSQL refuses a new enum value until it is committed: commit first.
    with op.get_context().autocommit_block():
        op.create_index(
            "uq_deadlines_screening_round_week",
            "deadlines",
            ["official_id", "starts_at"],
            unique=True,
            postgresql_where=ROUND_KIND,
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        "uq_deadlines_screening_round_week", table_name="deadlines", postgresql_where=ROUND_KIND
    )
    for column in ("week", "updated_at", "unit_id", "official_id"):
        op.drop_index(op.f(f"ix_screening_rounds_{column}"), table_name="screening_rounds")
    op.drop_table("screening_rounds")
    for column in (
        "updated_at",
        "unit_id",
        "status",
        "screened_on",
        "risk_level",
        "owner_leader_id",
        "case_id",
    ):
        op.drop_index(op.f(f"ix_screening_items_{column}"), table_name="screening_items")
    op.drop_table("screening_items")
