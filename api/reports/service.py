"""Situation reports: report days, the deadlines they make, and submitting a report."""

from __future__ import annotations

import calendar
import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.dependencies import Principal
from api.calendar.service import end_of_local_day
from api.db import utcnow
from api.deadlines import service as deadlines
from api.deadlines.models import DeadlineKind, DeadlineStatus
from api.errors import Conflict, Forbidden, InvalidInput
from api.policies.schemas import Policy
from api.reports.models import SituationReport
from api.reports.repository import ReportRepository
from api.reports.schemas import ReportCreate, ReportQuery
from api.timeutil import local


def report_days(year: int, month: int, days_of_month: list[int]) -> list[date]:
    """The month's report days; a day past the month's end falls on its last day."""
    last = calendar.monthrange(year, month)[1]
    return sorted({date(year, month, min(d, last)) for d in days_of_month})


def current_period(today: date, days_of_month: list[int]) -> tuple[date, date]:
    """(previous report day, next report day on or after `today`)."""
    this_month = report_days(today.year, today.month, days_of_month)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    next_month = report_days(year, month, days_of_month)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    last_month = report_days(year, month, days_of_month)
    upcoming = next(d for d in [*this_month, *next_month] if d >= today)
    previous = [d for d in [*last_month, *this_month] if d < upcoming][-1]
    return previous, upcoming


async def ensure_report_deadlines(session: AsyncSession, policy: Policy) -> int:
    """Open the current period's report deadline for every officer who owes a report.

    Run by the sweep; one sweeper at a time does it (advisory lock), so no deadline is
    created twice.
    """
    repo = ReportRepository(session)
    if not await repo.try_lock_generation():
        return 0
    previous, upcoming = current_period(local(utcnow()).date(), policy.reports.days_of_month)
    due_at = end_of_local_day(upcoming)
    officers = await repo.officers_without_deadline(policy.reports.roles, due_at)
    for official in officers:
        assert official.unit_id is not None
        deadlines.open_deadline(
            session,
            case_id=None,
            kind=DeadlineKind.report,
            role=official.role.value,
            official_id=official.id,
            unit_id=official.unit_id,
            starts_at=end_of_local_day(previous),
            due_at=due_at,
            reminders=policy.reminders,
        )
    await session.flush()
    return len(officers)


async def submit(
    session: AsyncSession, body: ReportCreate, principal: Principal, policy: Policy
) -> SituationReport:
    """File the caller's report for a period; meets that period's report deadline."""
    if principal.role not in policy.reports.roles or principal.unit_id is None:
        raise Forbidden("Only the officers who owe situation reports file them.")
    now = utcnow()
    days = policy.reports.days_of_month
    upcoming = current_period(local(now).date(), days)[1]
    period = body.period_day or upcoming
    if period > upcoming or period not in report_days(period.year, period.month, days):
        raise InvalidInput(
            f"{period} is not a report day up to the current period ({upcoming}).",
            pointer="/period_day",
        )
    repo = ReportRepository(session)
    if await repo.get_for(principal.id, period) is not None:
        raise Conflict(f"A report for {period} was already filed.")
    due_at = end_of_local_day(period)
    on_time = now <= due_at
    deadline = await repo.deadline_for(principal.id, due_at)
    if deadline is not None and deadline.status is DeadlineStatus.open:
        if on_time:
            deadlines.meet(session, deadline, now, principal.id)
        else:  # late, before the worker flagged it: still a miss
            await deadlines.flag_missed(session, deadline, now, escalate=False)
    report = SituationReport(
        id=uuid.uuid4(),
        official_id=principal.id,
        unit_id=principal.unit_id,
        period_day=period,
        zero=body.zero,
        content=body.content,
        items=[i.model_dump(mode="json") for i in body.items],
        submitted_at=now,
        on_time=on_time,
    )
    repo.add(report)
    await session.flush()
    return report


async def list_reports(
    session: AsyncSession, query: ReportQuery, principal: Principal
) -> tuple[list[SituationReport], str | None]:
    """A page of the reports of the caller's territory."""
    return await ReportRepository(session).list(query, principal.reach)
