"""Leader reception: duty roster, appointments, field visits (领导接访).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _record_columns() -> list[sa.Column[object]]:
    """id, created_at and updated_at of a `RecordModel` table."""
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


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _indexes(table: str, *columns: str) -> None:
    for column in (*columns, "updated_at"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def _drop_indexes(table: str, *columns: str) -> None:
    for column in ("updated_at", *reversed(columns)):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "reception_roster",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        *_record_columns(),
        _fk("reception_roster", "unit_id", "units"),
        _fk("reception_roster", "official_id", "officials"),
        _fk("reception_roster", "created_by", "officials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_roster")),
        sa.UniqueConstraint("unit_id", "day", name="uq_reception_roster_unit_day"),
    )
    _indexes("reception_roster", "day", "official_id", "unit_id")
    op.create_table(
        "reception_appointments",
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("leader_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("petitioner_name", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deadline_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_by", sa.Uuid(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.Uuid(), nullable=True),
        *_record_columns(),
        _fk("reception_appointments", "unit_id", "units"),
        _fk("reception_appointments", "leader_id", "officials"),
        _fk("reception_appointments", "case_id", "cases"),
        _fk("reception_appointments", "deadline_id", "deadlines"),
        _fk("reception_appointments", "created_by", "officials"),
        _fk("reception_appointments", "held_by", "officials"),
        _fk("reception_appointments", "cancelled_by", "officials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reception_appointments")),
    )
    _indexes("reception_appointments", "at", "case_id", "leader_id", "unit_id")
    op.create_table(
        "field_visits",
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        *_record_columns(),
        _fk("field_visits", "official_id", "officials"),
        _fk("field_visits", "unit_id", "units"),
        _fk("field_visits", "recorded_by", "officials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_visits")),
    )
    _indexes("field_visits", "day", "official_id", "unit_id")
    op.create_table(
        "field_visit_cases",
        sa.Column("field_visit_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        _fk("field_visit_cases", "case_id", "cases"),
        sa.ForeignKeyConstraint(
            ["field_visit_id"],
            ["field_visits.id"],
            name=op.f("fk_field_visit_cases_field_visit_id_field_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("field_visit_id", "case_id", name=op.f("pk_field_visit_cases")),
    )
    op.create_index(
        op.f("ix_field_visit_cases_case_id"), "field_visit_cases", ["case_id"], unique=False
    )
    op.create_table(
        "field_visit_duties",
        sa.Column("official_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("deadline_id", sa.Uuid(), nullable=False),
        *_record_columns(),
        _fk("field_visit_duties", "official_id", "officials"),
        _fk("field_visit_duties", "unit_id", "units"),
        _fk("field_visit_duties", "deadline_id", "deadlines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_visit_duties")),
        sa.UniqueConstraint("official_id", "month", name="uq_field_visit_duties_official_month"),
    )
    _indexes("field_visit_duties", "month", "official_id", "unit_id")


def downgrade() -> None:
    """Revert this revision."""
    _drop_indexes("field_visit_duties", "month", "official_id", "unit_id")
    op.drop_table("field_visit_duties")
    op.drop_index(op.f("ix_field_visit_cases_case_id"), table_name="field_visit_cases")
    op.drop_table("field_visit_cases")
    _drop_indexes("field_visits", "day", "official_id", "unit_id")
    op.drop_table("field_visits")
    _drop_indexes("reception_appointments", "at", "case_id", "leader_id", "unit_id")
    op.drop_table("reception_appointments")
    _drop_indexes("reception_roster", "day", "official_id", "unit_id")
    op.drop_table("reception_roster")
