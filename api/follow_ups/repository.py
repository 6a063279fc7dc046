"""Follow-up calls: storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.models.case import Case, in_reach
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.follow_up import FollowUp


class FollowUpRepository:
    """Reads and writes follow-up calls."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, follow_up: FollowUp) -> None:
        """Stage a new call for insertion."""
        self.session.add(follow_up)

    async def of_case(self, case_id: uuid.UUID) -> Sequence[FollowUp]:
        """The case's calls, oldest first."""
        stmt = select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.at)
        return (await self.session.execute(stmt)).scalars().all()


@dataclass(frozen=True)
class CallCounts:
    """Calls in a period: made, reached, reached and satisfied."""

    calls: int
    reached: int
    satisfied: int


class FollowUpFiguresRepository:
    """The counts behind the dashboard's follow-up figures."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def deadlines(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime, now: datetime
    ) -> dict[str, int]:
        """Call-back deadlines of the units due in [start, end) by status, and those open
        past due now (`open_overdue`)."""
        kind = Deadline.kind == DeadlineKind.follow_up
        units = among(Deadline.unit_id, unit_ids)
        stmt = (
            select(Deadline.status, func.count())
            .where(kind, units, Deadline.due_at >= start, Deadline.due_at < end)
            .group_by(Deadline.status)
        )
        counts = {status.value: n for status, n in (await self.session.execute(stmt)).all()}
        overdue = select(func.count()).where(
            kind, units, Deadline.status == DeadlineStatus.open, Deadline.due_at <= now
        )
        counts["open_overdue"] = int(await self.session.scalar(overdue) or 0)
        return counts

    async def calls(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> CallCounts:
        """Calls made in [start, end) on cases taken in by the units."""
        stmt = (
            select(
                func.count(),
                func.count().filter(FollowUp.reached),
                func.count().filter(FollowUp.satisfied.is_(True)),
            )
            .join(Case, Case.id == FollowUp.case_id)
            .where(among(Case.intake_unit_id, unit_ids), FollowUp.at >= start, FollowUp.at < end)
        )
        calls, reached, satisfied = (await self.session.execute(stmt)).one()
        return CallCounts(int(calls), int(reached), int(satisfied))

    async def instructed(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> int:
        """Cases in the units' territory last instructed by a leader in [start, end)."""
        stmt = select(func.count()).where(
            in_reach(unit_ids), Case.instructed_at >= start, Case.instructed_at < end
        )
        return int(await self.session.scalar(stmt) or 0)
