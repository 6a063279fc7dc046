"""The one-vote veto (一票否决, seed 000 rule 8) and the scores under the scoring rule tables
(考评细则, seed 001), computed from the recorded facts under the policy document: a bounded
number of queries for the whole scope and year, whatever the number of cases."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.assessment.repository import AssessmentRepository, CaseTraits, DeadlineFact, Visit
from api.assessment.rules import (
    Occurrence,
    of_deadline,
    of_return,
    of_roster_day,
    of_screening,
    of_visit,
    settle,
)
from api.assessment.schemas import (
    AssessmentQuery,
    FactType,
    LodgedCount,
    ScoreQuery,
    ScoreReport,
    ScoreTableRead,
    SectionScore,
    UnitScore,
    UnitVeto,
    VetoReport,
    VetoRuleVerdict,
)
from api.auth.principal import Principal
from api.calendar.service import load_calendar
from api.cases.repository import CaseRepository
from api.kit.db import utcnow
from api.kit.errors import InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import CHINA, local, local_today, start_of_local_day
from api.models.case import LodgedLevel
from api.models.deadline import DeadlineStatus
from api.models.official import Role
from api.models.unit import Unit, UnitLevel
from api.policies.reception import ReceptionDays
from api.policies.schemas import Policy
from api.policies.scoring import ScoreEvent, ScoreRule, ScoreTable, ScoringPolicy
from api.policies.service import current_policy, policies_for
from api.reception.service import reception_days
from api.units.repository import UnitRepository

LEVEL_ORDER = {level: n for n, level in enumerate(UnitLevel)}
LODGED_ORDER = {level: n for n, level in enumerate(LodgedLevel)}
SCORED_LODGED = (LodgedLevel.county, LodgedLevel.city, LodgedLevel.province, LodgedLevel.national)
# The events of 第一篇 (五).2: what a collective visit at the county or above is.
VISIT_EVENTS = (
    ScoreEvent.county_collective_first_dispersed,
    ScoreEvent.county_collective_first_stayed,
    ScoreEvent.county_collective_repeat,
    ScoreEvent.city_collective,
    ScoreEvent.province_collective_dispersed,
    ScoreEvent.province_collective_registered,
    ScoreEvent.national_collective,
)


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
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
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
    read = await current_policy(session, query.unit_id or principal.unit_id)
    policy = read.policy
    scope = await _scope(session, principal, query.unit_id)
    year, start, end = _year_bounds(query.year)
    if until is not None:
        end = min(end, until)
    repo = AssessmentRepository(session)
    tree = _Tree(await repo.units(scope))
    # each unit is judged by its own policy (a county may set its own thresholds); the visits
    # read are those any of them counts
    own_policy = await policies_for(session, tree.units)
    policies = {id(p): p for p in own_policy.values()} or {id(policy): policy}
    lodged_all = {lv for p in policies.values() for r in p.veto.rules for lv in r.lodged_levels}
    visits = await repo.collective_visits(
        start=start,
        end=end,
        levels=sorted(lodged_all, key=lambda lv: LODGED_ORDER[lv]),
        channels=sorted({c for p in policies.values() for c in p.collective_visit_channels}),
        scope=scope,
    )
    by_unit: dict[uuid.UUID, list[Visit]] = defaultdict(list)
    for visit in visits:
        for unit in tree.answerable(visit):
            by_unit[unit.id].append(visit)

    units: list[UnitVeto] = []
    for unit in sorted(tree.units.values(), key=_unit_order):
        judged_by = own_policy.get(unit.id, policy)
        rules = [r for r in judged_by.veto.rules if r.unit_level is unit.level]
        if not rules:
            continue
        channels = set(judged_by.collective_visit_channels)
        own = [v for v in by_unit.get(unit.id, []) if v.channel in channels]
        verdicts = []
        for rule in rules:
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
        for level in sorted(
            {lv for r in judged_by.veto.rules for lv in r.lodged_levels},
            key=lambda lv: LODGED_ORDER[lv],
        ):
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


def _visit_event(
    visit: Visit, arrivals: list[DeadlineFact]
) -> tuple[ScoreEvent, list[DeadlineFact]]:
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
    if level is LodgedLevel.county:
        return (
            ScoreEvent.county_collective_first_dispersed
            if in_time
            else ScoreEvent.county_collective_first_stayed
        ), chiefs
    return (
        ScoreEvent.province_collective_dispersed
        if in_time
        else ScoreEvent.province_collective_registered
    ), chiefs


@dataclass(frozen=True)
class _Year:
    """The year scored: its bounds as moments and as local days."""

    year: int
    start: datetime
    end: datetime

    @property
    def first(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last(self) -> date:
        return date(self.year, 12, 31)


@dataclass
class _Facts:
    """What the rules of one table read, fetched once for the scope and the year."""

    session: AsyncSession
    repo: AssessmentRepository
    tree: _Tree
    policy: Policy
    scope: frozenset[uuid.UUID] | None
    span: _Year

    def owed_by(self, unit_id: uuid.UUID) -> list[Unit]:
        """The unit a fact is owed by, if it is in scope (a deadline's miss is its unit's)."""
        unit = self.tree.units.get(unit_id)
        return [unit] if unit is not None else []

    async def visits(self, rules: list[ScoreRule]) -> list[Occurrence]:
        """第一篇 (五).2: collective visits at the county and above, charged to the units
        they arose in (属地) and the department they are assigned to."""
        if not rules:
            return []
        visits = await self.repo.collective_visits(
            start=self.span.start,
            end=self.span.end,
            levels=SCORED_LODGED,
            channels=self.policy.collective_visit_channels,
            scope=self.scope,
        )
        arrivals: dict[uuid.UUID | None, list[DeadlineFact]] = defaultdict(list)
        for fact in await self.repo.arrival_deadlines([v.id for v in visits]):
            arrivals[fact.case_id].append(fact)
        found = []
        for visit in visits:
            event, deadlines = _visit_event(visit, arrivals[visit.id])
            facts = [of_visit(visit), *(of_deadline(d) for d in deadlines)]
            traits = _traits_of(visit)
            for rule in rules:
                if rule.event is event and rule.admits(traits):
                    found.append(
                        Occurrence(
                            rule=rule,
                            units=self.tree.answerable(visit),
                            at=visit.received_at,
                            facts=facts,
                            case_id=visit.id,
                            case_number=visit.number,
                            deadline_ids=[d.id for d in deadlines],
                        )
                    )
        return found

    async def reports(self, rules: list[ScoreRule]) -> list[Occurrence]:
        """第一篇 (四).2: missed situation reports, charged to the unit and those above it."""
        if not rules:
            return []
        missed = await self.repo.missed_reports(
            start=self.span.start, end=self.span.end, scope=self.scope
        )
        return [
            Occurrence(
                rule=rule,
                units=self.tree.up_from(fact.unit_id),
                at=fact.due_at,
                facts=[of_deadline(fact)],
                deadline_ids=[fact.id],
            )
            for fact in missed
            for rule in rules
        ]

    async def deadlines(self, rules: list[ScoreRule]) -> list[Occurrence]:
        """Deadlines of the rules' kinds missed or met late, each charged to the unit that
        owed it."""
        if not rules:
            return []
        facts = await self.repo.unmet_deadlines(
            kinds={k for r in rules for k in r.deadline_kinds},
            start=self.span.start,
            end=self.span.end,
            scope=self.scope,
        )
        found = []
        for fact in facts:
            missed = fact.status is DeadlineStatus.missed
            for rule in rules:
                if (rule.event is ScoreEvent.deadline_missed) != missed:
                    continue
                if rule.counts_deadline(fact.kind, fact.role, fact.case):
                    found.append(
                        Occurrence(
                            rule=rule,
                            units=self.owed_by(fact.unit_id),
                            at=fact.due_at,
                            facts=[of_deadline(fact)],
                            case_id=fact.case_id,
                            case_number=fact.case.number if fact.case else None,
                            deadline_ids=[fact.id],
                        )
                    )
        return found

    async def returns(self, rules: list[ScoreRule]) -> list[Occurrence]:
        """Answers sent back for re-handling (退回重办), charged to the unit whose answer it
        was."""
        if not rules:
            return []
        returned = await self.repo.returned_cases(
            start=self.span.start, end=self.span.end, scope=self.scope
        )
        return [
            Occurrence(
                rule=rule,
                units=self.owed_by(fact.unit_id),
                at=fact.at,
                facts=[of_return(fact)],
                case_id=fact.case_id,
                case_number=fact.case.number,
            )
            for fact in returned
            for rule in rules
            if rule.admits(fact.case)
        ]

    async def screenings(self, rules: list[ScoreRule]) -> list[Occurrence]:
        """Screened disputes of the year lacking a plan or measures: one occurrence per part
        missing, charged to the unit that screened it."""
        if not rules:
            return []
        items = await self.repo.incomplete_screenings(
            first=self.span.first, last=self.span.last, scope=self.scope
        )
        return [
            Occurrence(
                rule=rule,
                units=self.owed_by(item.unit_id),
                at=item.at,
                facts=[of_screening(item, part)],
            )
            for item in items
            for part in item.missing
            for rule in rules
        ]

    async def roster(self, rules: list[ScoreRule], levels: set[UnitLevel]) -> list[Occurrence]:
        """Reception days (接访日) of the units' levels under the policy that passed with no
        duty leader on the roster: from the year's first day, or the day the unit was set up,
        to yesterday (a day is judged once it is over)."""
        if not rules:
            return []
        last = min(self.span.last, local_today() - timedelta(days=1))
        owing: list[tuple[Unit, ReceptionDays, date]] = []
        for unit in self.tree.units.values():
            days = self.policy.reception.days_for(unit.level)
            first = max(self.span.first, local(unit.created_at).date())
            if days is not None and unit.level in levels and first <= last:
                owing.append((unit, days, first))
        if not owing:
            return []
        earliest = min(first for _, _, first in owing)
        work = await load_calendar(self.session, earliest, last)
        covered = await self.repo.roster_days([u.id for u, _, _ in owing], earliest, last)
        found = []
        for unit, days, first in owing:
            for day in reception_days(days, work, first, last, self.policy):
                if (unit.id, day) in covered:
                    continue
                at = start_of_local_day(day)
                for rule in rules:
                    found.append(
                        Occurrence(
                            rule=rule,
                            units=[unit],
                            at=at,
                            facts=[of_roster_day(unit.id, at)],
                        )
                    )
        return found


def _traits_of(visit: Visit) -> CaseTraits:
    """A collective visit as a rule's case filter reads it."""
    return CaseTraits(
        number=visit.number,
        lodged_level=visit.lodged_level,
        channel=visit.channel,
        source=visit.source,
        is_collective=True,
    )


def _table(scoring: ScoringPolicy, key: str | None) -> ScoreTable:
    """The table asked for, or the policy's first; 422 for a key the policy has not."""
    if key is None:
        return scoring.tables[0]
    for table in scoring.tables:
        if table.key == key:
            return table
    known = ", ".join(t.key for t in scoring.tables)
    raise InvalidInput(
        Message("The policy has no score table {key!r} (it has {known}).", key=key, known=known),
        pointer="/table",
    )


def _hide_cases(units: list[UnitScore], about: set[uuid.UUID]) -> None:
    """Figures count a case that complains about the reader, but do not name it to them."""
    for item in units:
        for d in item.deductions:
            if d.case_id in about:
                d.case_id, d.case_number = None, None
            for fact in d.facts:
                if fact.case_id in about:
                    if fact.type is FactType.case:
                        fact.id = None
                    fact.case_id, fact.case_number = None, None


async def scores(session: AsyncSession, query: ScoreQuery, principal: Principal) -> ScoreReport:
    """Per unit of the scored levels, in one rule table: each section's maximum less the
    deductions of the table's rules for the year's recorded facts (each rule capped,
    each section floored at zero), the total, and the rank."""
    read = await current_policy(session, query.unit_id or principal.unit_id)
    policy = read.policy
    scoring = policy.scoring
    table = _table(scoring, query.table)
    sections = [s for s in scoring.sections if s.table == table.key]
    keys = {s.key for s in sections}
    rules = [r for r in scoring.rules if r.section in keys]
    scope = await _scope(session, principal, query.unit_id)
    year, start, end = _year_bounds(query.year)
    repo = AssessmentRepository(session)
    tree = _Tree(await repo.units(scope))
    scored = set(scoring.unit_levels)
    facts = _Facts(session, repo, tree, policy, scope, _Year(year, start, end))

    def of(*events: ScoreEvent) -> list[ScoreRule]:
        return [r for r in rules if r.event in events]

    occurrences = [
        *await facts.visits(of(*VISIT_EVENTS)),
        *await facts.reports(of(ScoreEvent.report_missed)),
        *await facts.deadlines(of(ScoreEvent.deadline_missed, ScoreEvent.deadline_late)),
        *await facts.returns(of(ScoreEvent.case_returned)),
        *await facts.screenings(of(ScoreEvent.screening_incomplete)),
        *await facts.roster(of(ScoreEvent.roster_day_uncovered), scored),
    ]
    found = settle(occurrences, table.key, scored)

    assessed = {r.section for r in rules}
    maximum = round(sum(s.maximum for s in sections), 6)
    units: list[UnitScore] = []
    for unit in (u for u in tree.units.values() if u.level in scored):
        deductions = sorted(found.get(unit.id, []), key=lambda d: (d.at, d.rule))
        section_scores = []
        for section in sections:
            taken = sum(d.points for d in deductions if d.section == section.key)
            section_scores.append(
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
                score=round(sum(s.score for s in section_scores), 4),
                maximum=maximum,
                sections=section_scores,
                deductions=deductions,
            )
        )
    named = {d.case_id for u in units for d in u.deductions if d.case_id}
    named |= {f.case_id for u in units for d in u.deductions for f in d.facts if f.case_id}
    _hide_cases(units, await CaseRepository(session).about(principal, named))
    units.sort(key=lambda u: (-u.score, LEVEL_ORDER[u.level], u.name, str(u.unit_id)))
    # competition ranking (1, 2, 2, 4): sorted best first, a score's rank is where it first
    # appears (a province scores 30,000 villages: no pairwise count)
    first_at: dict[float, int] = {}
    for n, item in enumerate(units, start=1):
        item.rank = first_at.setdefault(item.score, n)
    return ScoreReport(
        year=year,
        unit_id=query.unit_id,
        policy_version=read.version,
        table=table.key,
        tables=[
            ScoreTableRead(
                key=t.key,
                name=t.name,
                description=t.description,
                maximum=round(sum(s.maximum for s in scoring.sections if s.table == t.key), 6),
            )
            for t in scoring.tables
        ],
        units=units,
    )
