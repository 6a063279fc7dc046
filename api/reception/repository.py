"""Leader reception storage: roster days, appointments, field visits, monthly duties."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, exists, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.case import Case, Reader, readable_by
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import LEADER_ROLES, Official, Role
from api.models.onsite import OnsiteDuty
from api.models.reception import (
    Appointment,
    AppointmentStatus,
    FieldVisit,
    FieldVisitCase,
    FieldVisitDuty,
    RosterEntry,
)
from api.models.unit import Unit, UnitLevel
from api.reception.schemas import AppointmentQuery, FieldVisitQuery, OnsiteDutyQuery

# Any constant shared by every sweeper: only one of them opens field-visit duties at a time.
FIELD_VISIT_DUTIES_LOCK = 0x5D_2E_50_16

# A scheduled appointment whose deadline was missed reads as missed.
EFFECTIVE_STATUS: ColumnElement[str] = case(
    (
        and_(
            Appointment.status == AppointmentStatus.scheduled.value,
            Deadline.status == DeadlineStatus.missed,
        ),
        AppointmentStatus.missed.value,
    ),
    else_=Appointment.status,
)


def _leaders_at(levels: Collection[UnitLevel]) -> Select[Official]:
    """Active chiefs and deputies of units at `levels`: those who owe field visits."""
    return (
        select(Official)
        .join(Unit, Unit.id == Official.unit_id)
        .where(
            Official.role.in_(LEADER_ROLES),
            Official.active.is_(True),
            Unit.level.in_(list(levels)),
        )
    )


def _within(
    column: InstrumentedAttribute[Any], units: Collection[uuid.UUID] | None
) -> ColumnElement[bool]:
    """`column` names one of `units` (None: any)."""
    return true() if units is None else among(column, units)


class ReceptionRepository:
    """Reads and writes the duty roster, appointments, field visits and their duties."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- officials and units ------------------------------------------------------------

    async def leaders_of(self, unit_id: uuid.UUID) -> Sequence[Official]:
        """The unit's active chiefs and deputies: chiefs first, then by seniority."""
        stmt = (
            select(Official)
            .where(
                Official.unit_id == unit_id,
                Official.role.in_(LEADER_ROLES),
                Official.active.is_(True),
            )
            .order_by(case((Official.role == Role.chief, 0), else_=1), Official.created_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def leaders_owing(
        self, levels: Collection[UnitLevel], units: Collection[uuid.UUID] | None = None
    ) -> Sequence[Official]:
        """Active chiefs and deputies of units at `levels` (within `units`, None: all), who
        owe the monthly field visits."""
        stmt = (
            _leaders_at(levels)
            .where(_within(Official.unit_id, units))
            .order_by(Unit.level, Unit.name, Official.role, Official.created_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def units(
        self, ids: Collection[uuid.UUID], levels: Collection[UnitLevel] | None = None
    ) -> Sequence[Unit]:
        """The units with these ids (of these levels, if given: a province's 30,000 villages
        owe no reception days)."""
        if not ids or (levels is not None and not levels):
            return []
        stmt = select(Unit).where(among(Unit.id, ids))
        if levels is not None:
            stmt = stmt.where(Unit.level.in_(list(levels)))
        return (await self.session.execute(stmt)).scalars().all()

    # --- the duty roster ----------------------------------------------------------------

    async def insert_roster_entry(self, values: dict[str, object]) -> RosterEntry | None:
        """Add a roster day; None when the unit has a leader that day already."""
        stmt = (
            insert(RosterEntry)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(constraint="uq_reception_roster_unit_day")
            .returning(RosterEntry)
        )
        entry = (await self.session.execute(stmt)).scalar_one_or_none()
        return entry

    async def roster_entry(self, entry_id: uuid.UUID) -> RosterEntry | None:
        """The roster day with this id."""
        return await self.session.get(RosterEntry, entry_id)

    async def delete_roster_entry(self, entry: RosterEntry) -> None:
        """Remove a roster day."""
        await self.session.execute(delete(RosterEntry).where(RosterEntry.id == entry.id))

    async def roster_entry_on(self, unit_id: uuid.UUID, day: date) -> RosterEntry | None:
        """The unit's roster day on `day`."""
        stmt = select(RosterEntry).where(RosterEntry.unit_id == unit_id, RosterEntry.day == day)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def roster(
        self, units: Collection[uuid.UUID] | None, first: date, last: date
    ) -> Sequence[RosterEntry]:
        """Roster days of `units` (None: all) from `first` to `last`, by day."""
        stmt = (
            select(RosterEntry)
            .where(
                RosterEntry.day >= first,
                RosterEntry.day <= last,
                _within(RosterEntry.unit_id, units),
            )
            .order_by(RosterEntry.day, RosterEntry.unit_id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def last_duty_before(self, unit_id: uuid.UUID, day: date) -> RosterEntry | None:
        """The unit's latest roster day before `day` (where the rotation goes on from)."""
        stmt = (
            select(RosterEntry)
            .where(RosterEntry.unit_id == unit_id, RosterEntry.day < day)
            .order_by(RosterEntry.day.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- appointments -------------------------------------------------------------------

    def add(self, row: Appointment | FieldVisit | FieldVisitDuty) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def appointment(
        self,
        appointment_id: uuid.UUID,
        units: frozenset[uuid.UUID] | None,
        *,
        for_update: bool = False,
    ) -> Appointment | None:
        """The appointment if its unit lies in `units` (None: anywhere)."""
        stmt = select(Appointment).where(
            Appointment.id == appointment_id, _within(Appointment.unit_id, units)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def deadline(self, deadline_id: uuid.UUID, *, for_update: bool = False) -> Deadline:
        """The deadline with this id."""
        stmt = select(Deadline).where(Deadline.id == deadline_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one()

    async def deadlines(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Deadline]:
        """Deadlines by id."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Deadline).where(among(Deadline.id, ids)))
        return {d.id: d for d in rows.scalars()}

    async def appointments(
        self, query: AppointmentQuery, units: frozenset[uuid.UUID] | None
    ) -> tuple[list[Appointment], str | None]:
        """A page of the appointments of `units` (None: all), newest first."""
        stmt = (
            select(Appointment)
            .join(Deadline, Deadline.id == Appointment.deadline_id)
            .where(_within(Appointment.unit_id, units))
        )
        if query.status is not None:
            stmt = stmt.where(EFFECTIVE_STATUS.in_([query.status.value]))
        return await fetch_page(self.session, stmt, Appointment, query)

    async def appointment_counts(
        self, units: Collection[uuid.UUID], start: datetime, end: datetime
    ) -> dict[str, int]:
        """Appointments of `units` whose time lies in [start, end], by status."""
        stmt = (
            select(EFFECTIVE_STATUS, func.count())
            .select_from(Appointment)
            .join(Deadline, Deadline.id == Appointment.deadline_id)
            .where(
                among(Appointment.unit_id, units),
                Appointment.at >= start,
                Appointment.at <= end,
            )
            .group_by(EFFECTIVE_STATUS)
        )
        return {str(status): int(n) for status, n in (await self.session.execute(stmt)).all()}

    # --- field visits -------------------------------------------------------------------

    async def add_visit_cases(self, visit_id: uuid.UUID, case_ids: Sequence[uuid.UUID]) -> None:
        """Record the cases carried on a visit."""
        rows = [{"field_visit_id": visit_id, "case_id": c} for c in case_ids]
        await self.session.execute(insert(FieldVisitCase), rows)

    async def visit_cases(
        self, visit_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The cases carried on each visit."""
        carried: dict[uuid.UUID, list[uuid.UUID]] = {v: [] for v in visit_ids}
        if visit_ids:
            stmt = (
                select(FieldVisitCase.field_visit_id, FieldVisitCase.case_id)
                .where(among(FieldVisitCase.field_visit_id, visit_ids))
                .order_by(FieldVisitCase.case_id)
            )
            for visit_id, case_id in (await self.session.execute(stmt)).all():
                carried[visit_id].append(case_id)
        return carried

    async def visits(
        self, query: FieldVisitQuery, units: frozenset[uuid.UUID] | None
    ) -> tuple[list[FieldVisit], str | None]:
        """A page of the field visits of `units` (None: all), newest first."""
        stmt = select(FieldVisit).where(_within(FieldVisit.unit_id, units))
        if query.case_id is not None:
            carried = exists().where(
                FieldVisitCase.field_visit_id == FieldVisit.id,
                FieldVisitCase.case_id == query.case_id,
            )
            stmt = stmt.where(carried)
        return await fetch_page(self.session, stmt, FieldVisit, query)

    async def visit_counts(
        self, official_ids: Collection[uuid.UUID], first: date, last: date
    ) -> dict[uuid.UUID, int]:
        """Field visits of each official from `first` to `last`."""
        if not official_ids:
            return {}
        stmt = (
            select(FieldVisit.official_id, func.count())
            .where(
                among(FieldVisit.official_id, official_ids),
                FieldVisit.day >= first,
                FieldVisit.day <= last,
            )
            .group_by(FieldVisit.official_id)
        )
        return {o: int(n) for o, n in (await self.session.execute(stmt)).all()}

    async def visit_figures(
        self, units: Collection[uuid.UUID], first: date, last: date
    ) -> tuple[int, int]:
        """(field visits, distinct cases carried) of `units` from `first` to `last`."""
        in_period = (
            among(FieldVisit.unit_id, units),
            FieldVisit.day >= first,
            FieldVisit.day <= last,
        )
        visits = await self.session.scalar(select(func.count()).where(*in_period))
        cases = await self.session.scalar(
            select(func.count(func.distinct(FieldVisitCase.case_id)))
            .join(FieldVisit, FieldVisit.id == FieldVisitCase.field_visit_id)
            .where(*in_period)
        )
        return int(visits or 0), int(cases or 0)

    # --- monthly field-visit duties -----------------------------------------------------

    async def try_lock_duties(self) -> bool:
        """Take the transaction lock of opening field-visit duties; False if another has it."""
        stmt = select(func.pg_try_advisory_xact_lock(FIELD_VISIT_DUTIES_LOCK))
        return bool((await self.session.execute(stmt)).scalar_one())

    async def leaders_without_duty(
        self, levels: Collection[UnitLevel], month: date
    ) -> Sequence[Official]:
        """Leaders who owe field visits and have no duty for `month` yet."""
        has_duty = exists().where(
            FieldVisitDuty.official_id == Official.id, FieldVisitDuty.month == month
        )
        stmt = _leaders_at(levels).where(~has_duty)
        return (await self.session.execute(stmt)).scalars().all()

    async def duty_deadlines(
        self, official_ids: Collection[uuid.UUID], month: date, *, for_update: bool = False
    ) -> dict[uuid.UUID, Deadline]:
        """Each official's field-visit deadline of `month`."""
        if not official_ids:
            return {}
        stmt = (
            select(FieldVisitDuty.official_id, Deadline)
            .join(Deadline, Deadline.id == FieldVisitDuty.deadline_id)
            .where(among(FieldVisitDuty.official_id, official_ids), FieldVisitDuty.month == month)
        )
        if for_update:
            stmt = stmt.with_for_update(of=Deadline)
        return {o: d for o, d in (await self.session.execute(stmt)).all()}

    async def onsite_duties(
        self, query: OnsiteDutyQuery, reader: Reader
    ) -> tuple[list[OnsiteDuty], str | None]:
        """A page of the on-site reception duties of cases the reader may see."""
        stmt = (
            select(OnsiteDuty).join(Case, Case.id == OnsiteDuty.case_id).where(readable_by(reader))
        )
        if query.open is not None:
            settled = OnsiteDuty.settled_at
            stmt = stmt.where(settled.is_(None) if query.open else settled.is_not(None))
        return await fetch_page(self.session, stmt, OnsiteDuty, query)

    async def onsite_facts(
        self, duties: Sequence[OnsiteDuty]
    ) -> tuple[dict[uuid.UUID, str], list[Deadline]]:
        """The duties' case numbers, and their arrival and settlement deadlines."""
        if not duties:
            return {}, []
        case_ids = [d.case_id for d in duties]
        settle_ids = [d.settle_deadline_id for d in duties if d.settle_deadline_id]
        numbers = await self.session.execute(
            select(Case.id, Case.number).where(Case.id.in_(case_ids))
        )
        stmt = (
            select(Deadline)
            .where(
                Deadline.case_id.in_(case_ids),
                (Deadline.kind == DeadlineKind.arrival) | Deadline.id.in_(settle_ids),
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
        found = (await self.session.execute(stmt)).scalars().all()
        return {row.id: row.number for row in numbers}, list(found)
