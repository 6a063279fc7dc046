"""Leader reception (领导接访): the duty roster, appointments and field visits carrying cases."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, RecordModel


class RosterEntry(RecordModel):
    """One day of a unit's published duty roster (接访日程表): the leader who receives
    petitioners that day, and where (seed 001 (三): 轮流接访日程表在接访室门前公示)."""

    __tablename__ = "reception_roster"
    __table_args__ = (UniqueConstraint("unit_id", "day", name="uq_reception_roster_unit_day"),)

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))


class AppointmentStatus(enum.StrEnum):
    """Where an appointment stands; `missed` is read from its deadline, never stored."""

    scheduled = "scheduled"
    held = "held"
    cancelled = "cancelled"
    missed = "missed"


class Appointment(RecordModel):
    """A leader's appointment with a petitioner (约访, seed 004 三(二)), with the deadline that
    holds the leader to it."""

    __tablename__ = "reception_appointments"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    leader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    petitioner_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # scheduled, held or cancelled (AppointmentStatus); a scheduled one whose deadline was
    # missed reads as missed.
    status: Mapped[str] = mapped_column(String(16))
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime | None]
    held_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))


class FieldVisit(RecordModel):
    """A leader's field visit carrying cases (带案下访, seed 002 第五篇)."""

    __tablename__ = "field_visits"

    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))


class FieldVisitCase(Base):
    """A case carried on a field visit."""

    __tablename__ = "field_visit_cases"

    field_visit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("field_visits.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)


class FieldVisitDuty(RecordModel):
    """A leader's monthly minimum of field visits (每月至少两次带案下访) and its deadline:
    one per leader and month, whatever the number of sweepers."""

    __tablename__ = "field_visit_duties"
    __table_args__ = (
        UniqueConstraint("official_id", "month", name="uq_field_visit_duties_official_month"),
    )

    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    month: Mapped[date] = mapped_column(index=True)  # the month's first day
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id"))
