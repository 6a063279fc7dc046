"""The one-vote veto (一票否决, seed 000 rule 8) and the scores under the scoring rule table
(考评细则, seed 001), computed case by case from the policy document."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.assessment.repository import AssessmentRepository, DeadlineFact, Visit
from api.assessment.schemas import (
    AssessmentQuery,
    Deduction,
    LodgedCount,
    ScoreReport,
    SectionScore,
    UnitScore,
    UnitVeto,
    VetoReport,
    VetoRuleVerdict,
)
from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.kit.db import utcnow
from api.kit.errors import NotFound
from api.kit.timeutil import CHINA, local
from api.models.case import LodgedLevel
from api.models.deadline import DeadlineStatus
from api.models.official import Role
from api.models.unit import Unit, UnitLevel
from api.policies.schemas import ScoreEvent, ScoreRule
from api.policies.service import current_policy
from api.units.repository import UnitRepository

LEVEL_ORDER = {level: n for n, level in enumerate(UnitLevel)}
LODGED_ORDER = {level: n for n, level in enumerate(LodgedLevel)}
SCORED_LODGED = (LodgedLevel.county, LodgedLevel.city, LodgedLevel.province, LodgedLevel.national)


class _Tree:
    """The units in scope, to find who answers for a visit or a deadline."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self.units = {u.id: u for u in units}

    def up_from(self, unit_id: uuid.UUID) -> list[Unit]:
        """The unit and its ancestors inside the scope, nearest first."""
        chain: list[Unit] = []
        current = self.units.get(unit_id)
        while current is not None and len(chain) <= len(self.units):
            chain.append(current)
            current = self.units.get(current.parent_id) if current.parent_id else None
        return chain

    def answerable(self, visit: Visit) -> list[Unit]:
        """Who answers for a visit: the territorial units it arose in (属地), and the
        department its case is assigned to (归口办理; departments answer for nothing else)."""
        units = self.up_from(visit.origin_unit_id)
        assigned = self.units.get(visit.assigned_unit_id) if visit.assigned_unit_id else None
        if assigned is not None and assigned.level is UnitLevel.department:
            units.append(assigned)
        return units


async def _scope(
    session: AsyncSession, principal: Principal, unit_id: uuid.UUID | None
) -> frozenset[uuid.UUID] | None:
    """The units the answer may show: the caller's territory, or a subtree inside it (404
    outside, as if it did not exist)."""
    if unit_id is None:
        return principal.reach
    units = UnitRepository(session)
    if not principal.reaches(unit_id) or await units.get(unit_id) is None:
        raise NotFound(f"Unit {unit_id} does not exist.")
    return await units.subtree_ids(unit_id)


def _year_bounds(year: int | None) -> tuple[int, datetime, datetime]:
    chosen = year if year is not None else local(utcnow()).year
    return (
        chosen,
        datetime(chosen, 1, 1, tzinfo=CHINA),
        datetime(chosen + 1, 1, 1, tzinfo=CHINA),
    )


def _unit_order(unit: Unit) -> tuple[int, str, str]:
    return LEVEL_ORDER[unit.level], unit.name, str(unit.id)


async def veto(
    session: AsyncSession,
    query: AssessmentQuery,
    principal: Principal,
    *,
    until: datetime | None = None,
) -> VetoReport:
    """Per area, village and department (the levels the veto rules name): collective visits
    of the year by lodged level, each rule's count against its threshold, and the verdict.
    `until` ends the year early: the veto as it stood then (a monthly bulletin's month end)."""
    read = await current_policy(session)
    policy = read.policy
    scope = await _scope(session, principal, query.unit_id)
    year, start, end = _year_bounds(query.year)
    if until is not None:
        end = min(end, until)
    repo = AssessmentRepository(session)
    tree = _Tree(await repo.units(scope))
    lodged = sorted(
        {lv for r in policy.veto.rules for lv in r.lodged_levels}, key=lambda lv: LODGED_ORDER[lv]
    )
    visits = await repo.collective_visits(
        start=start,
        end=end,
        levels=lodged,
        channels=policy.collective_visit_channels,
        scope=scope,
    )
    by_unit: dict[uuid.UUID, list[Visit]] = defaultdict(list)
    for visit in visits:
        for unit in tree.answerable(visit):
            by_unit[unit.id].append(visit)

    levels = {r.unit_level for r in policy.veto.rules}
    units: list[UnitVeto] = []
    for unit in sorted((u for u in tree.units.values() if u.level in levels), key=_unit_order):
        own = by_unit.get(unit.id, [])
        verdicts = []
        for rule in policy.veto.rules:
            if rule.unit_level is not unit.level:
                continue
            counted = [v.id for v in own if v.lodged_level in rule.lodged_levels]
            verdicts.append(
                VetoRuleVerdict(
                    key=rule.key,
                    description=rule.description,
                    lodged_levels=rule.lodged_levels,
                    at_least=rule.at_least,
                    count=len(counted),
                    applies=len(counted) >= rule.at_least,
                    case_ids=counted,
                )
            )
        counts = []
        for level in lodged:
            ids = [v.id for v in own if v.lodged_level is level]
            counts.append(LodgedCount(lodged_level=level, count=len(ids), case_ids=ids))
        units.append(
            UnitVeto(
                unit_id=unit.id,
                name=unit.name,
                level=unit.level,
                parent_id=unit.parent_id,
                vetoed=any(v.applies for v in verdicts),
                counts=counts,
                rules=verdicts,
            )
        )
    # figures count a case that complains about the reader, but do not name it to them
    about = await CaseRepository(session).about(
        principal, {i for u in units for c in u.counts for i in c.case_ids}
    )
    if about:
        for item in units:
            for count in item.counts:
                count.case_ids = [i for i in count.case_ids if i not in about]
            for verdict in item.rules:
                verdict.case_ids = [i for i in verdict.case_ids if i not in about]
    return VetoReport(year=year, unit_id=query.unit_id, policy_version=read.version, units=units)


def _leaders_in_time(visit: Visit, arrivals: list[DeadlineFact]) -> tuple[bool, list[DeadlineFact]]:
    """Whether the main leaders summoned from the visit's own side (主要领导: chiefs of the
    units below the place lodged) came in time, and their arrival deadlines. None summoned
    is not "in time": nothing shows that anyone came."""
    chiefs = [
        d for d in arrivals if d.role == Role.chief.value and d.unit_id != visit.lodged_unit_id
    ]
    in_time = bool(chiefs) and all(d.status is not DeadlineStatus.missed for d in chiefs)
    return in_time, chiefs


def _visit_event(visit: Visit, arrivals: list[DeadlineFact]) -> tuple[ScoreEvent, list[uuid.UUID]]:
    """The scoring event a collective visit is (seed 001 第一篇 (五).2), with the deadlines
    that decided it."""
    level = visit.lodged_level
    if level is LodgedLevel.county and visit.is_repeat:
        return ScoreEvent.county_collective_repeat, []
    if level is LodgedLevel.city:
        return ScoreEvent.city_collective, []
    if level is LodgedLevel.national:
        return ScoreEvent.national_collective, []
    in_time, chiefs = _leaders_in_time(visit, arrivals)
    ids = [d.id for d in chiefs]
    if level is LodgedLevel.county:
        return (
            ScoreEvent.county_collective_first_dispersed
            if in_time
            else ScoreEvent.county_collective_first_stayed
        ), ids
    return (
        ScoreEvent.province_collective_dispersed
        if in_time
        else ScoreEvent.province_collective_registered
    ), ids


def _deduction(
    rule: ScoreRule,
    at: datetime,
    deadline_ids: list[uuid.UUID],
    case: Visit | None = None,
) -> Deduction:
    return Deduction(
        event=rule.event,
        section=rule.section,
        points=rule.points,
        description=rule.description,
        at=at,
        case_id=case.id if case else None,
        case_number=case.number if case else None,
        deadline_ids=deadline_ids,
    )


async def scores(
    session: AsyncSession, query: AssessmentQuery, principal: Principal
) -> ScoreReport:
    """Per unit of the scored levels: each section's maximum less the deductions of the
    rule table for the year's events (floored at zero), the total, and the rank."""
    read = await current_policy(session)
    table = read.policy.scoring
    scope = await _scope(session, principal, query.unit_id)
    year, start, end = _year_bounds(query.year)
    repo = AssessmentRepository(session)
    tree = _Tree(await repo.units(scope))
    rules = {r.event: r for r in table.rules}
    scored = set(table.unit_levels)
    found: dict[uuid.UUID, list[Deduction]] = defaultdict(list)

    def charge(units: Iterable[Unit], deduction: Deduction) -> None:
        for unit in units:
            if unit.level in scored:
                found[unit.id].append(deduction)

    visits = await repo.collective_visits(
        start=start,
        end=end,
        levels=SCORED_LODGED,
        channels=read.policy.collective_visit_channels,
        scope=scope,
    )
    arrivals: dict[uuid.UUID | None, list[DeadlineFact]] = defaultdict(list)
    for fact in await repo.arrival_deadlines([v.id for v in visits]):
        arrivals[fact.case_id].append(fact)
    for visit in visits:
        event, deadline_ids = _visit_event(visit, arrivals[visit.id])
        if event in rules:
            deduction = _deduction(rules[event], visit.received_at, deadline_ids, visit)
            charge(tree.answerable(visit), deduction)
    if ScoreEvent.report_missed in rules:
        for fact in await repo.missed_reports(start=start, end=end, scope=scope):
            deduction = _deduction(rules[ScoreEvent.report_missed], fact.due_at, [fact.id])
            charge(tree.up_from(fact.unit_id), deduction)

    assessed = {r.section for r in table.rules}
    maximum = sum(s.maximum for s in table.sections)
    units: list[UnitScore] = []
    for unit in (u for u in tree.units.values() if u.level in scored):
        deductions = sorted(found.get(unit.id, []), key=lambda d: (d.at, d.event.value))
        sections = []
        for section in table.sections:
            taken = sum(d.points for d in deductions if d.section == section.key)
            sections.append(
                SectionScore(
                    key=section.key,
                    name=section.name,
                    maximum=section.maximum,
                    deducted=round(taken, 4),
                    score=round(max(section.maximum - taken, 0.0), 4),
                    assessed=section.key in assessed,
                )
            )
        units.append(
            UnitScore(
                unit_id=unit.id,
                name=unit.name,
                level=unit.level,
                parent_id=unit.parent_id,
                rank=0,
                score=round(sum(s.score for s in sections), 4),
                maximum=maximum,
                sections=sections,
                deductions=deductions,
            )
        )
    about = await CaseRepository(session).about(
        principal, {d.case_id for u in units for d in u.deductions if d.case_id}
    )
    for item in units:
        for d in item.deductions:
            if d.case_id in about:
                d.case_id, d.case_number = None, None
    units.sort(key=lambda u: (-u.score, LEVEL_ORDER[u.level], u.name, str(u.unit_id)))
    for item in units:
        item.rank = 1 + sum(other.score > item.score for other in units)
    return ScoreReport(year=year, unit_id=query.unit_id, policy_version=read.version, units=units)
