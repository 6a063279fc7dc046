"""The monthly bulletin (每月通报, seed 000 rule 9): the month's figures of each child unit
(from the dashboard's counters), the praise list by the policy's rule, and the criticism list:
missed arrivals, overdue cases and the one-vote veto of the year so far."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.assessment import service as assessment
from api.assessment.schemas import AssessmentQuery
from api.auth.principal import Principal
from api.bulletin.repository import BulletinRepository, Miss
from api.bulletin.schemas import (
    BulletinQuery,
    CategoryCount,
    Criticism,
    MissedArrival,
    MissedSettlement,
    MonthlyBulletin,
    NoticeLapseRead,
    OverdueCase,
    PraiseEntry,
    VetoEntry,
)
from api.cases.repository import CaseRepository
from api.categories.service import vocabulary
from api.kit.db import utcnow
from api.kit.timeutil import CHINA, add_months, local
from api.policies.schemas import BulletinPolicy
from api.policies.service import current_policy
from api.stats import service as stats
from api.stats.schemas import PeriodQuery, UnitFigures, UnitRef
from api.units.repository import UnitRepository

DAY = timedelta(days=1)


def first_day(query: BulletinQuery, now: datetime) -> date:
    """The first day of the bulletin's month (default: the month before `now`'s)."""
    if query.month is not None:
        year, month = query.month.split("-")
        return date(int(year), int(month), 1)
    return add_months(local(now).date().replace(day=1), -1)


def days_over(due_at: datetime, stop: datetime) -> int:
    """Whole days from `due_at` to `stop`, a part of a day counting as one."""
    return max(0, math.ceil((stop - due_at) / DAY))


async def _child_of(
    session: AsyncSession, root: uuid.UUID, unit_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """For each unit below `root`, the child of `root` it lies under (the root itself and
    units outside have none)."""
    units = UnitRepository(session)
    wanted = set(unit_ids)
    await units.prefetch_ancestry(wanted)
    found: dict[uuid.UUID, uuid.UUID] = {}
    for unit_id in wanted:
        for unit in await units.ancestry(unit_id):
            if unit.parent_id == root:
                found[unit_id] = unit.id
                break
    return found


def _praise(
    item: UnitFigures, rule: BulletinPolicy, missed: int, overdue: int, vetoed: bool
) -> PraiseEntry | None:
    """The unit's praise entry when it meets every condition of the rule."""
    figures = item.summary
    completion = figures.rates.on_time_completion
    if (
        figures.cases < rule.praise_min_cases
        or (completion.rate is not None and completion.rate < rule.praise_min_on_time_completion)
        or missed > rule.praise_max_missed_arrivals
        or overdue > rule.praise_max_overdue_cases
        or (vetoed and rule.praise_excludes_vetoed)
    ):
        return None
    parts = [f"本月受理信访{figures.cases}件"]
    if completion.rate is not None:
        parts.append(f"按期办结率{completion.rate:.1%}")
    parts.append(f"到位超时{missed}次" if missed else "无到位超时")
    parts.append(f"超期案件{overdue}件" if overdue else "无超期案件")
    return PraiseEntry(
        unit=item.unit, cases=figures.cases, on_time_completion=completion, reason="，".join(parts)
    )


def _unnamed(miss: Miss) -> Miss:
    return dataclasses.replace(miss, case_id=None, case_number=None)


def _overdue(miss: Miss, end: datetime, now: datetime) -> OverdueCase:
    handled = miss.handled_at if miss.handled_at is not None and miss.handled_at < end else None
    stop = min(handled or end, end, now)
    return OverdueCase(
        deadline_id=miss.deadline_id,
        case_id=miss.case_id,
        case_number=miss.case_number,
        unit_id=miss.unit_id,
        unit_name=miss.unit_name,
        official_id=miss.official_id,
        official_name=miss.official_name,
        due_at=miss.due_at,
        handled_at=miss.handled_at,
        days_over=days_over(miss.due_at, stop),
        open_at_month_end=handled is None,
    )


async def _by_category(
    session: AsyncSession, counts: dict[str, int], total: int
) -> list[CategoryCount]:
    """The month's counts by category in the vocabulary's order, named in Chinese."""
    known = (await vocabulary(session)).classes
    listed = [c for c in known if counts.get(c)] + sorted(c for c in counts if c not in known)
    rows = []
    for code in listed:
        read = known.get(code)
        top = known.get(read.parent) if read is not None and read.parent else read
        rows.append(
            CategoryCount(
                code=code,
                name=read.name if read is not None else code,
                group=top.name if top is not None else code,
                cases=counts[code],
                share=round(counts[code] / total, 4) if total else 0.0,
            )
        )
    return rows


async def monthly(
    session: AsyncSession, query: BulletinQuery, principal: Principal
) -> MonthlyBulletin:
    """The bulletin of a unit (default: the caller's) for a month: each child unit's figures
    for the cases received in the month, ranked; who is praised under the policy's rule; and
    who is criticised: every arrival missed and every case overdue in the month in the unit's
    subtree, and every unit vetoed in the year up to the month's end."""
    now = utcnow()
    first = first_day(query, now)
    following = add_months(first, 1)
    start = datetime(first.year, first.month, 1, tzinfo=CHINA)
    end = datetime(following.year, following.month, 1, tzinfo=CHINA)
    period = PeriodQuery(unit_id=query.unit_id, from_=first, to=following - DAY)
    # checks the unit: given by an admin, in the caller's territory
    unit, _, _, totals = await stats.totals(session, period, principal)
    ranked = await stats.by_unit(session, period, principal)
    subtree = await UnitRepository(session).subtree_ids(unit.id)
    read = await current_policy(session, unit.id)
    rule = read.policy.bulletin

    repo = BulletinRepository(session)
    arrivals = await repo.missed_arrivals(start=start, end=end, units=subtree)
    settlements = await repo.missed_settlements(start=start, end=end, units=subtree)
    overdue = await repo.overdue_handling(start=start, end=end, units=subtree)
    lapses = await repo.notice_lapses(start=start, end=end, now=now, units=subtree)
    # a case that complains about the reader is criticised without naming it to them
    about = await CaseRepository(session).about(
        principal,
        {m.case_id for m in [*arrivals, *settlements, *overdue] if m.case_id}
        | {n.case_id for n in lapses},
    )
    lapses = [replace(n, case_number=None) if n.case_id in about else n for n in lapses]
    arrivals = [_unnamed(m) if m.case_id in about else m for m in arrivals]
    settlements = [_unnamed(m) if m.case_id in about else m for m in settlements]
    overdue = [_unnamed(m) if m.case_id in about else m for m in overdue]
    veto = await assessment.veto(
        session, AssessmentQuery(year=first.year, unit_id=unit.id), principal, until=end
    )
    vetoed = [u for u in veto.units if u.vetoed]
    counted = {u.unit_id: [r for r in u.rules if r.applies] for u in vetoed}
    numbers = await repo.case_numbers(
        {case_id for rules in counted.values() for r in rules for case_id in r.case_ids}
    )
    vetoes = []
    for item in vetoed:
        case_ids = sorted(
            {c for r in counted[item.unit_id] for c in r.case_ids}, key=lambda c: numbers[c]
        )
        vetoes.append(
            VetoEntry(
                unit_id=item.unit_id,
                unit_name=item.name,
                level=item.level,
                rules=[r.description or r.key for r in counted[item.unit_id]],
                case_ids=case_ids,
                case_numbers=[numbers[c] for c in case_ids],
            )
        )

    child = await _child_of(
        session,
        unit.id,
        [m.unit_id for m in arrivals] + [m.unit_id for m in overdue] + list(counted),
    )
    missed_by = Counter(child.get(m.unit_id) for m in arrivals)
    overdue_by = Counter(child.get(m.unit_id) for m in overdue)
    vetoed_under = {child.get(u) for u in counted}
    praise = [
        entry
        for item in ranked.items
        if (
            entry := _praise(
                item,
                rule,
                missed_by[item.unit.id],
                overdue_by[item.unit.id],
                item.unit.id in vetoed_under,
            )
        )
        is not None
    ]
    return MonthlyBulletin(
        categories=await _by_category(session, totals.by_category, totals.cases),
        title=rule.title.format(unit=unit.name, year=first.year, month=first.month),
        month=f"{first:%Y-%m}",
        unit=UnitRef(id=unit.id, name=unit.name, level=unit.level.value, parent_id=unit.parent_id),
        from_=first,
        to=following - DAY,
        policy_version=read.version,
        totals=totals,
        units=ranked.items,
        praise=praise,
        criticism=Criticism(
            missed_arrivals=[
                MissedArrival.model_validate(m, from_attributes=True) for m in arrivals
            ],
            notice_lapses=[NoticeLapseRead.model_validate(n, from_attributes=True) for n in lapses],
            missed_settlements=[
                MissedSettlement.model_validate(m, from_attributes=True) for m in settlements
            ],
            overdue_cases=[_overdue(m, end, now) for m in overdue],
            vetoes=vetoes,
        ),
    )
