"""Situation report storage, and who owes one."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.deadline import Deadline, DeadlineKind
from api.models.official import Official, Role
from api.models.report import SituationReport
from api.reports.schemas import ReportQuery
from api.units.repository import subtrees_of

# Any constant shared by every sweeper: only one of them creates report deadlines at a time.
REPORT_DEADLINES_LOCK = 0x5D_2E_50_07


class ReportRepository:
    """Reads and writes situation reports."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, report: SituationReport) -> None:
        """Stage a report."""
        self.session.add(report)

    async def get_for(self, official_id: uuid.UUID, period_day: date) -> SituationReport | None:
        """The official's report for the period, if any."""
        stmt = select(SituationReport).where(
            SituationReport.official_id == official_id, SituationReport.period_day == period_day
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(
        self, query: ReportQuery, units: frozenset[uuid.UUID] | None
    ) -> tuple[list[SituationReport], str | None]:
        """A page of the reports filed in `units` (None: all), newest first."""
        stmt = select(SituationReport)
        if units is not None:
            stmt = stmt.where(among(SituationReport.unit_id, units))
        return await fetch_page(self.session, stmt, SituationReport, query)

    async def try_lock_generation(self) -> bool:
        """Take the transaction lock of report-deadline generation; False if another has it."""
        stmt = select(func.pg_try_advisory_xact_lock(REPORT_DEADLINES_LOCK))
        return bool((await self.session.execute(stmt)).scalar_one())

    async def officers_without_deadline(
        self,
        roles: Collection[Role],
        day: date,
        due_at: datetime,
        *,
        under: uuid.UUID | None = None,
        cut: Collection[uuid.UUID] = (),
    ) -> Sequence[Official]:
        """Active officials of `roles` with a unit (under `under`, not under `cut`: where one
        policy holds) who have neither a report deadline due at `due_at` nor a report already
        filed for `day`."""
        has_deadline = exists().where(
            and_(
                Deadline.official_id == Official.id,
                Deadline.kind == DeadlineKind.report,
                Deadline.due_at == due_at,
            )
        )
        has_filed = exists().where(
            and_(
                SituationReport.official_id == Official.id,
                SituationReport.period_day == day,
            )
        )
        stmt = select(Official).where(
            Official.role.in_(list(roles)),
            Official.active.is_(True),
            Official.unit_id.is_not(None),
            ~has_deadline,
            ~has_filed,
        )
        if under is not None:
            stmt = stmt.where(Official.unit_id.in_(subtrees_of([under], "under")))
        if cut:
            stmt = stmt.where(Official.unit_id.not_in(subtrees_of(cut, "cut")))
        return (await self.session.execute(stmt)).scalars().all()

    async def deadline_for(self, official_id: uuid.UUID, due_at: datetime) -> Deadline | None:
        """The official's report deadline due at `due_at`, locked."""
        stmt = (
            select(Deadline)
            .where(
                Deadline.official_id == official_id,
                Deadline.kind == DeadlineKind.report,
                Deadline.due_at == due_at,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
