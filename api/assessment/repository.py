"""What the veto and the scores are computed from: units, collective visits, arrival and
report deadlines (read through the models of their own domains)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case, Channel, LodgedLevel, Outcome
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.unit import Unit


@dataclass(frozen=True)
class Visit:
    """A collective visit as the assessment sees it."""

    id: uuid.UUID
    number: str
    origin_unit_id: uuid.UUID
    lodged_unit_id: uuid.UUID | None
    assigned_unit_id: uuid.UUID | None
    lodged_level: LodgedLevel
    is_repeat: bool
    received_at: datetime


@dataclass(frozen=True)
class DeadlineFact:
    """A deadline's outcome, enough to judge and trace a deduction."""

    id: uuid.UUID
    case_id: uuid.UUID | None
    unit_id: uuid.UUID
    role: str
    status: DeadlineStatus
    due_at: datetime


class AssessmentRepository:
    """Read-only queries of the assessment."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def units(self, scope: frozenset[uuid.UUID] | None) -> Sequence[Unit]:
        """The units in `scope` (None: all), to rank and to walk up from."""
        stmt = select(Unit)
        if scope is not None:
            stmt = stmt.where(Unit.id.in_(list(scope)))
        return (await self.session.execute(stmt)).scalars().all()

    async def collective_visits(
        self,
        *,
        start: datetime,
        end: datetime,
        levels: Collection[LodgedLevel],
        channels: Collection[Channel],
        scope: frozenset[uuid.UUID] | None,
    ) -> list[Visit]:
        """Collective petitions received in [start, end) lodged at one of `levels`, arising
        in or assigned to a unit of `scope`; a case closed as a duplicate registration of
        another is the same visit and does not count twice."""
        if not levels or not channels:
            return []
        stmt = select(
            Case.id,
            Case.number,
            Case.origin_unit_id,
            Case.lodged_unit_id,
            Case.assigned_unit_id,
            Case.lodged_level,
            Case.repeat_of_id,
            Case.received_at,
        ).where(
            Case.is_collective.is_(True),
            Case.channel.in_(list(channels)),
            Case.lodged_level.in_(list(levels)),
            Case.received_at >= start,
            Case.received_at < end,
            or_(Case.outcome.is_(None), Case.outcome != Outcome.duplicate),
        )
        if scope is not None:
            units = list(scope)
            stmt = stmt.where(or_(Case.origin_unit_id.in_(units), Case.assigned_unit_id.in_(units)))
        rows = await self.session.execute(stmt.order_by(Case.received_at, Case.id))
        return [
            Visit(
                id=r.id,
                number=r.number,
                origin_unit_id=r.origin_unit_id,
                lodged_unit_id=r.lodged_unit_id,
                assigned_unit_id=r.assigned_unit_id,
                lodged_level=r.lodged_level,
                is_repeat=r.repeat_of_id is not None,
                received_at=r.received_at,
            )
            for r in rows
        ]

    async def arrival_deadlines(self, case_ids: Collection[uuid.UUID]) -> list[DeadlineFact]:
        """The arrival deadlines (到位时限) of these cases."""
        if not case_ids:
            return []
        stmt = (
            select(Deadline)
            .where(Deadline.case_id.in_(list(case_ids)), Deadline.kind == DeadlineKind.arrival)
            .order_by(Deadline.due_at, Deadline.id)
        )
        return [_fact(d) for d in (await self.session.execute(stmt)).scalars()]

    async def missed_reports(
        self, *, start: datetime, end: datetime, scope: frozenset[uuid.UUID] | None
    ) -> list[DeadlineFact]:
        """Situation report deadlines due in [start, end) and missed (漏报), of units in
        `scope`."""
        stmt = select(Deadline).where(
            Deadline.kind == DeadlineKind.report,
            Deadline.status == DeadlineStatus.missed,
            Deadline.due_at >= start,
            Deadline.due_at < end,
        )
        if scope is not None:
            stmt = stmt.where(Deadline.unit_id.in_(list(scope)))
        rows = await self.session.execute(stmt.order_by(Deadline.due_at, Deadline.id))
        return [_fact(d) for d in rows.scalars()]


def _fact(d: Deadline) -> DeadlineFact:
    return DeadlineFact(
        id=d.id, case_id=d.case_id, unit_id=d.unit_id, role=d.role, status=d.status, due_at=d.due_at
    )
