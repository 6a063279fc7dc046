"""Sensitive periods (敏感时期): date windows of the policy with their own duties.

In a period's window the officers who owe situation reports owe one every day (日报告制度,
seed 001 第一篇 (四).2; the report days themselves live in `api.reports.service`), and
visits received in it may get shorter arrival times (`arrival_policy_at`)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.kit.errors import InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import local, local_days, local_today
from api.models.case import LodgedLevel
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.policies.schemas import ArrivalPolicy, Policy
from api.policies.sensitive import SensitivePeriod
from api.sensitive.repository import SensitiveFiguresRepository
from api.sensitive.schemas import (
    PendingReporter,
    PeriodFigures,
    PeriodState,
    ReportDay,
    SensitiveArrivalFigures,
    SensitiveCaseFigures,
    SensitiveFigures,
    SensitivePeriodFigures,
    SensitivePeriodRead,
    SensitiveReportFigures,
)
from api.units.repository import UnitRepository
from api.units.service import get_unit


def arrival_policy_at(policy: Policy, at: datetime) -> ArrivalPolicy:
    """The arrival times (到位时限) in force at `at`: those of `policy.arrival`, each replaced
    by the shorter one of the sensitive period whose window holds `at`'s local day, if any.

    A period never lengthens an arrival time: an override longer than the normal time (which
    the policy should have refused) leaves the normal one."""
    period = policy.sensitive_periods.at(local(at).date())
    if period is None:
        return policy.arrival
    normal = policy.arrival
    shorter = {
        name: min(value, getattr(normal, name))
        for name in ("chief", "staff", "leader")
        if (value := getattr(period.arrival, name)) is not None
    }
    return normal.model_copy(update=shorter) if shorter else normal


def daily_report_period(policy: Policy, day: date) -> SensitivePeriod | None:
    """The period that makes `day` a daily report day (日报告), if any."""
    period = policy.sensitive_periods.at(day)
    return period if period is not None and period.daily_report else None


def state_of(period: SensitivePeriod, today: date) -> PeriodState:
    """Whether the period is still to come, running or over."""
    if today < period.starts_on:
        return PeriodState.upcoming
    return PeriodState.active if today <= period.ends_on else PeriodState.over


def to_read(period: SensitivePeriod, today: date) -> SensitivePeriodRead:
    """The API view of a period, seen from `today`."""
    state = state_of(period, today)
    left = (period.ends_on - max(today, period.starts_on)).days + 1
    return SensitivePeriodRead(
        **period.model_dump(),
        state=state,
        active=state is PeriodState.active,
        days_left=max(left, 0),
    )


def list_periods(policy: Policy) -> list[SensitivePeriodRead]:
    """The policy's sensitive periods in the order of their windows."""
    today = local_today()
    ordered = sorted(policy.sensitive_periods.periods, key=lambda p: p.starts_on)
    return [to_read(p, today) for p in ordered]


async def period_figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    period: SensitivePeriod,
    policy: Policy,
) -> PeriodFigures:
    """A period's figures for a unit subtree over its whole window (days still to come count
    nothing): cases received, arrival deadlines, daily reports per day, and who has not
    reported today."""
    repo = SensitiveFiguresRepository(session)
    today = local_today()
    start, end = local_days(period.starts_on, period.ends_on)

    levels: Counter[LodgedLevel] = Counter()
    collective = skipped = 0
    cases_per_day: Counter[date] = Counter()
    for day, level, is_collective, skip, n in await repo.cases_by_day(unit_ids, start, end):
        levels[level] += n
        collective += n if is_collective else 0
        skipped += n if skip else 0
        cases_per_day[day] += n

    arrivals: Counter[DeadlineStatus] = Counter()
    for _, status, n in await repo.deadlines_by_status(unit_ids, DeadlineKind.arrival, start, end):
        arrivals[status] += n

    owed: Counter[date] = Counter()
    missed: Counter[date] = Counter()
    for day, status, n in await repo.deadlines_by_status(unit_ids, DeadlineKind.report, start, end):
        if status is not DeadlineStatus.cancelled:
            owed[day] += n
        if status is DeadlineStatus.missed:
            missed[day] += n
    filed: Counter[date] = Counter()
    zero: Counter[date] = Counter()
    late: Counter[date] = Counter()
    for day, is_zero, on_time, n in await repo.reports_by_day(
        unit_ids, period.starts_on, period.ends_on
    ):
        filed[day] += n
        zero[day] += n if is_zero else 0
        late[day] += 0 if on_time else n

    days = [
        period.starts_on + timedelta(days=i)
        for i in range((min(period.ends_on, today) - period.starts_on).days + 1)
    ]
    pending = []
    if period.covers(today) and period.daily_report:
        pending = [
            PendingReporter(official_id=o.id, official_name=o.name, unit_id=u.id, unit_name=u.name)
            for o, u in await repo.not_reported(unit_ids, policy.reports.roles, today)
        ]
    return PeriodFigures(
        cases=SensitiveCaseFigures(
            received=sum(levels.values()),
            collective=collective,
            skip_level=skipped,
            national=levels[LodgedLevel.national],
            by_lodged_level={lv.value: levels[lv] for lv in LodgedLevel if levels[lv]},
        ),
        arrivals=SensitiveArrivalFigures(
            due=sum(n for s, n in arrivals.items() if s is not DeadlineStatus.cancelled),
            met=arrivals[DeadlineStatus.met],
            missed=arrivals[DeadlineStatus.missed],
        ),
        reports=SensitiveReportFigures(
            owed=sum(owed.values()),
            filed=sum(filed.values()),
            zero=sum(zero.values()),
            late=sum(late.values()),
            missed=sum(missed.values()),
            per_day=[
                ReportDay(
                    day=d,
                    owed=owed[d],
                    filed=filed[d],
                    zero=zero[d],
                    late=late[d],
                    missed=missed[d],
                    cases_received=cases_per_day[d],
                )
                for d in days
            ],
        ),
        not_reported_today=pending,
    )


async def figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    first: date,
    last: date,
    policy: Policy,
) -> SensitiveFigures:
    """The dashboard's sensitive-period block for a unit subtree: the period active today,
    else the last one whose window overlaps the local days `first`..`last`, with its figures
    over its whole window; no period, no figures."""
    today = local_today()
    periods = policy.sensitive_periods
    period = periods.at(today)
    if period is None:
        overlapping = [p for p in periods.periods if p.starts_on <= last and p.ends_on >= first]
        period = max(overlapping, key=lambda p: p.starts_on, default=None)
    if period is None:
        return SensitiveFigures(period=None, figures=None)
    return SensitiveFigures(
        period=to_read(period, today),
        figures=await period_figures(session, unit_ids, period, policy),
    )


async def figures_of(
    session: AsyncSession,
    key: str,
    unit_id: uuid.UUID | None,
    principal: Principal,
    policy: Policy,
) -> SensitivePeriodFigures:
    """One period's figures for a unit subtree in the caller's reach (default: their unit);
    an unknown period or a unit out of reach is 404."""
    period = policy.sensitive_periods.get(key)
    if period is None:
        raise NotFound(Message("Sensitive period {key} does not exist.", key=key))
    unit_id = unit_id or principal.unit_id
    if unit_id is None:
        raise InvalidInput(Message("Give the unit whose figures you want."), pointer="/unit_id")
    unit = await get_unit(session, unit_id)
    if not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    unit_ids = await UnitRepository(session).subtree_ids(unit.id)
    return SensitivePeriodFigures(
        unit_id=unit.id,
        period=to_read(period, local_today()),
        figures=await period_figures(session, unit_ids, period, policy),
    )
