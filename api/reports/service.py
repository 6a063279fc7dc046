"""Situation reports: report days, the deadlines they make, and submitting a report."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.categories.service import accepted_code
from api.deadlines import service as deadlines
from api.escalations import misses
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput
from api.kit.i18n import Message
from api.kit.timeutil import end_of_local_day, local
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.models.report import SituationReport
from api.policies.schemas import Policy
from api.policies.service import PolicyTerritory, policy_territories
from api.reports.repository import ReportRepository
from api.reports.schemas import ReportCreate, ReportQuery
from api.sensitive.service import daily_report_period


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


def default_report_day(today: date, policy: Policy) -> date:
    """The day a report filed today is for unless it says: today when it is a daily report
    day of a sensitive period (日报告), else the month's next report day."""
    upcoming = current_period(today, policy.reports.days_of_month)[1]
    return today if daily_report_period(policy, today) is not None else upcoming


async def ensure_report_deadlines(session: AsyncSession) -> int:
    """Open the current period's report deadline for every officer who owes a report, and,
    on a day of a sensitive period with daily reports, that day's deadline (due at the end of
    the local day; the same deadline when it is also a report day of the month), each by the
    report days and roles of the policy where the officer is (a county may set its own).

    Run by the sweep; one sweeper at a time does it (advisory lock), so no deadline is
    created twice.
    """
    repo = ReportRepository(session)
    if not await repo.try_lock_generation():
        return 0
    today = local(utcnow()).date()
    opened = 0
    for where in await policy_territories(session):
        policy = where.policy
        previous, upcoming = current_period(today, policy.reports.days_of_month)
        opened += await _open_report_deadlines(session, where, previous, upcoming, subject=None)
        sensitive = daily_report_period(policy, today)
        if sensitive is not None:
            subject = f"{sensitive.name}期间每日信访形势报告({today.isoformat()})"
            yesterday = today - timedelta(days=1)
            opened += await _open_report_deadlines(session, where, yesterday, today, subject)
    return opened


async def _open_report_deadlines(
    session: AsyncSession, where: PolicyTerritory, previous: date, day: date, subject: str | None
) -> int:
    """Open the report deadline due at the end of `day` (counted from the end of `previous`)
    for every officer of the territory who owes one and has neither the deadline nor the
    report yet (filed before the sweep came by, it needs no deadline)."""
    policy = where.policy
    due_at = end_of_local_day(day)
    officers = await ReportRepository(session).officers_without_deadline(
        policy.reports.roles, day, due_at, under=where.root, cut=where.cut
    )
    for official in officers:
        deadlines.open_duty(
            session,
            official,
            DeadlineKind.report,
            starts_at=end_of_local_day(previous),
            due_at=due_at,
            reminders=policy.reminders,
            subject=subject,
        )
    await session.flush()
    return len(officers)


async def submit(
    session: AsyncSession, body: ReportCreate, principal: Principal, policy: Policy
) -> SituationReport:
    """File the caller's report for a report day (default: today on a daily report day of a
    sensitive period, else the month's next report day); meets that day's report deadline."""
    if principal.role not in policy.reports.roles or principal.unit_id is None:
        raise Forbidden(Message("Only the officers who owe situation reports file them."))
    now = utcnow()
    today = local(now).date()
    period = body.period_day or default_report_day(today, policy)
    upcoming = current_period(today, policy.reports.days_of_month)[1]
    # A month's report day may be filed ahead within its period; a daily one not before it.
    month_day = period in report_days(period.year, period.month, policy.reports.days_of_month)
    daily_day = period <= today and daily_report_period(policy, period) is not None
    if period > upcoming or not (month_day or daily_day):
        raise InvalidInput(
            Message(
                "{period} is not a report day up to the current period ({upcoming}).",
                period=period,
                upcoming=upcoming,
            ),
            pointer="/period_day",
        )
    for i, item in enumerate(body.items):
        if item.category is not None:
            await accepted_code(session, item.category, f"/items/{i}/category")
    repo = ReportRepository(session)
    if await repo.get_for(principal.id, period) is not None:
        raise Conflict(Message("A report for {period} was already filed.", period=period))
    due_at = end_of_local_day(period)
    on_time = now <= due_at
    deadline = await repo.deadline_for(principal.id, due_at)
    if deadline is not None and deadline.status is DeadlineStatus.open:
        if on_time:
            deadlines.meet(session, deadline, now, principal.id)
        else:  # late, before the worker flagged it: still a miss
            await misses.flag_missed(session, deadline, now, escalate=False)
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
