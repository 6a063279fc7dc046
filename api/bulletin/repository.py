"""What the bulletin's criticism list is read from: missed arrival and handling deadlines
with their case, official and unit (read through the models of their own domains)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official
from api.models.unit import Unit

# When a case was handled: answered (书面答复), or closed without an answer.
HANDLED_AT = func.coalesce(Case.replied_at, Case.closed_at)


@dataclass(frozen=True)
class Miss:
    """A missed deadline with the names the bulletin prints."""

    deadline_id: uuid.UUID
    case_id: uuid.UUID | None
    case_number: str | None
    official_id: uuid.UUID | None
    official_name: str | None
    role: str
    unit_id: uuid.UUID
    unit_name: str
    due_at: datetime
    handled_at: datetime | None  # the case answered (or closed)


class BulletinRepository:
    """Read-only queries of the monthly bulletin."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def missed_arrivals(
        self, *, start: datetime, end: datetime, units: Collection[uuid.UUID]
    ) -> list[Miss]:
        """Arrival deadlines (到位时限) of `units` due in [start, end) and missed."""
        return await self._missed(
            DeadlineKind.arrival, units, Deadline.due_at >= start, Deadline.due_at < end
        )

    async def missed_settlements(
        self, *, start: datetime, end: datetime, units: Collection[uuid.UUID]
    ) -> list[Miss]:
        """Settlement deadlines after an on-site reception (事要解决时限) of `units` due in
        [start, end) and missed."""
        return await self._missed(
            DeadlineKind.onsite_settlement,
            units,
            Deadline.due_at >= start,
            Deadline.due_at < end,
        )

    async def overdue_handling(
        self, *, start: datetime, end: datetime, units: Collection[uuid.UUID]
    ) -> list[Miss]:
        """Handling deadlines (办理时限) of `units` missed, due before `end`, whose case was
        not yet answered (or closed) at `start`: the cases overdue in [start, end)."""
        return await self._missed(
            DeadlineKind.handling,
            units,
            Deadline.due_at < end,
            or_(Deadline.due_at >= start, HANDLED_AT.is_(None), start <= HANDLED_AT),
        )

    async def _missed(
        self,
        kind: DeadlineKind,
        units: Collection[uuid.UUID],
        *conditions: ColumnElement[bool],
    ) -> list[Miss]:
        if not units:
            return []
        stmt = (
            select(
                Deadline.id.label("deadline_id"),
                Deadline.case_id,
                Case.number.label("case_number"),
                Deadline.official_id,
                Official.name.label("official_name"),
                Deadline.role,
                Deadline.unit_id,
                Unit.name.label("unit_name"),
                Deadline.due_at,
                HANDLED_AT.label("handled_at"),
            )
            .join(Unit, Unit.id == Deadline.unit_id)
            .outerjoin(Case, Case.id == Deadline.case_id)
            .outerjoin(Official, Official.id == Deadline.official_id)
            .where(
                Deadline.kind == kind,
                Deadline.status == DeadlineStatus.missed,
                Deadline.unit_id.in_(list(units)),
                *conditions,
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
        return [Miss(**row._asdict()) for row in await self.session.execute(stmt)]

    async def case_numbers(self, case_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The human numbers of these cases."""
        if not case_ids:
            return {}
        stmt = select(Case.id, Case.number).where(Case.id.in_(list(case_ids)))
        return {case_id: number for case_id, number in await self.session.execute(stmt)}
