"""The counts behind a sensitive period's figures (敏感时期)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import Date, cast, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from api.kit.db import among
from api.kit.timeutil import CHINA
from api.models.case import Case, LodgedLevel
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.models.report import SituationReport
from api.models.unit import Unit

ZONE = str(CHINA)


def _local_day(column: InstrumentedAttribute[datetime]) -> ColumnElement[date]:
    """The Asia/Shanghai calendar day of a timestamptz column, in SQL."""
    return cast(func.timezone(ZONE, column), Date)


class SensitiveFiguresRepository:
    """Reads the cases, deadlines and reports of a unit subtree in a window."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cases_by_day(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> Sequence[tuple[date, LodgedLevel, bool, bool, int]]:
        """Cases of origin in the units received in [start, end): (local day, lodged level,
        collective, skip-level, count)."""
        day = _local_day(Case.received_at)
        stmt = (
            select(day, Case.lodged_level, Case.is_collective, Case.skip_level, func.count())
            .where(
                among(Case.origin_unit_id, unit_ids),
                Case.received_at >= start,
                Case.received_at < end,
            )
            .group_by(day, Case.lodged_level, Case.is_collective, Case.skip_level)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(d, lv, c, skip, n) for d, lv, c, skip, n in rows]

    async def deadlines_by_status(
        self,
        unit_ids: frozenset[uuid.UUID],
        kind: DeadlineKind,
        start: datetime,
        end: datetime,
    ) -> Sequence[tuple[date, DeadlineStatus, int]]:
        """Deadlines of `kind` of the units due in [start, end): (local day, status, count);
        a report deadline is due in the last microsecond of its day."""
        day = _local_day(Deadline.due_at)
        stmt = (
            select(day, Deadline.status, func.count())
            .where(
                Deadline.kind == kind,
                among(Deadline.unit_id, unit_ids),
                Deadline.due_at >= start,
                Deadline.due_at < end,
            )
            .group_by(day, Deadline.status)
        )
        return [(d, s, n) for d, s, n in (await self.session.execute(stmt)).all()]

    async def reports_by_day(
        self, unit_ids: frozenset[uuid.UUID], first: date, last: date
    ) -> Sequence[tuple[date, bool, bool, int]]:
        """Situation reports of the units for the days `first`..`last`: (day, zero, on time,
        count)."""
        stmt = (
            select(
                SituationReport.period_day,
                SituationReport.zero,
                SituationReport.on_time,
                func.count(),
            )
            .where(
                among(SituationReport.unit_id, unit_ids),
                SituationReport.period_day.between(first, last),
            )
            .group_by(SituationReport.period_day, SituationReport.zero, SituationReport.on_time)
        )
        return [(d, z, t, n) for d, z, t, n in (await self.session.execute(stmt)).all()]

    async def not_reported(
        self, unit_ids: frozenset[uuid.UUID], roles: Collection[Role], day: date
    ) -> Sequence[tuple[Official, Unit]]:
        """Active officials of `roles` in the units with no report for the day, by unit and
        name."""
        filed = exists().where(
            SituationReport.official_id == Official.id, SituationReport.period_day == day
        )
        stmt = (
            select(Official, Unit)
            .join(Unit, Unit.id == Official.unit_id)
            .where(
                Official.role.in_(list(roles)),
                Official.active.is_(True),
                among(Official.unit_id, unit_ids),
                ~filed,
            )
            .order_by(Unit.name, Official.name, Official.id)
        )
        return [(o, u) for o, u in (await self.session.execute(stmt)).all()]
