"""What the bulletin's criticism list is read from: missed arrival and handling deadlines
with their case, official and unit (read through the models of their own domains)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.models.case import Case
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.notice import Notice
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


@dataclass(frozen=True)
class NoticeLapse:
    """A written notice that lapsed in the month: served late, not served by its date, or
    served without its proof (送达回证)."""

    notice_id: uuid.UUID
    case_id: uuid.UUID
    case_number: str | None
    number: str
    kind: str
    unit_id: uuid.UUID
    unit_name: str
    due_at: datetime | None
    served_at: datetime | None
    lapse: str  # late | not_served | no_proof


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
                among(Deadline.unit_id, units),
                *conditions,
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
        return [Miss(**row._asdict()) for row in await self.session.execute(stmt)]

    async def case_numbers(self, case_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The human numbers of these cases."""
        if not case_ids:
            return {}
        stmt = select(Case.id, Case.number).where(among(Case.id, case_ids))
        return {case_id: number for case_id, number in await self.session.execute(stmt)}

    async def notice_lapses(
        self, *, start: datetime, end: datetime, now: datetime, units: Collection[uuid.UUID]
    ) -> list[NoticeLapse]:
        """Notices of `units` (the current version of each) that lapsed in [start, end): served
        in the month after their due time; due in the month (and by `now`) and not served by
        then; served in the month and still without a proof of service."""
        if not units:
            return []
        cutoff = min(end, now)
        served_in = and_(Notice.served_at >= start, Notice.served_at < end)
        late = and_(served_in, Notice.due_at.is_not(None), Notice.served_at > Notice.due_at)
        not_served = and_(
            Notice.due_at >= start,
            Notice.due_at < cutoff,
            or_(Notice.served_at.is_(None), Notice.served_at >= cutoff),
        )
        no_proof = and_(served_in, Notice.proof_at.is_(None))
        lapse = case((late, "late"), (not_served, "not_served"), else_="no_proof").label("lapse")
        stmt = (
            select(
                Notice.id.label("notice_id"),
                Notice.case_id,
                Case.number.label("case_number"),
                Notice.number,
                Notice.kind,
                Notice.unit_id,
                Unit.name.label("unit_name"),
                Notice.due_at,
                Notice.served_at,
                lapse,
            )
            .join(Unit, Unit.id == Notice.unit_id)
            .join(Case, Case.id == Notice.case_id)
            .where(
                among(Notice.unit_id, units),
                Notice.superseded_at.is_(None),
                or_(late, not_served, no_proof),
            )
            .order_by(Notice.issued_at, Notice.id)
        )
        return [NoticeLapse(**row._asdict()) for row in await self.session.execute(stmt)]
