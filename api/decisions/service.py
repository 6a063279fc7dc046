"""Stability-risk assessment of major decisions (重大决策社会稳定风险评估, seed 003 六): a draft,
the assessment of its legality, reasonableness, feasibility and controllability with a response
plan, the risk level the policy's rule gives, the conclusion that level allows, and the cases
that later arose from the decision (seed 001 第二篇 (一)2)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official
from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.deadlines import service as deadlines
from api.decisions.repository import DecisionFiguresRepository, DecisionRepository
from api.decisions.schemas import (
    AssessBody,
    DecideBody,
    DecisionCreate,
    DecisionFigures,
    DecisionQuery,
    DecisionRead,
    DecisionUpdate,
    Finding,
    Findings,
    FindingsRead,
    LinkCaseBody,
    LinkedCase,
)
from api.escalations import misses
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import end_of_local_day, local, local_days, local_today
from api.models.case import Case
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.models.decision import (
    RISK_ORDER,
    Conclusion,
    DecisionAssessment,
    DecisionStatus,
    Dimension,
    RiskLevel,
    Verdict,
)
from api.models.official import LEADER_ROLES, Official
from api.officials.repository import OfficialRepository
from api.officials.service import leader_over
from api.policies.schemas import Policy
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository
from api.units.service import named_unit

# Who may answer for a decision (责任领导): the unit's main leader or the deputy in charge.
RISK_NAMES = {RiskLevel.high: "高风险", RiskLevel.medium: "中风险", RiskLevel.low: "低风险"}
DIMENSION_NAMES = {
    Dimension.legality: "合法性",
    Dimension.reasonableness: "合理性",
    Dimension.feasibility: "可行性",
    Dimension.controllability: "可控性",
}
# Fields of a draft that always have a value: `null` in a change is an error, not a clearing.
REQUIRED_FIELDS = ("unit_id", "title", "kind", "owner_leader_id")


# --- reading ---------------------------------------------------------------------------


def to_read(decision: DecisionAssessment, cases: Sequence[Case], policy: Policy) -> DecisionRead:
    """The API's view of an assessment with the linked cases the reader may see."""
    findings = FindingsRead.model_validate(
        {d.value: decision.findings.get(d.value) for d in Dimension}
    )
    level = RiskLevel(decision.risk_level) if decision.risk_level else None
    allowed = (
        list(policy.decisions.allowed_conclusions[level])
        if level is not None and decision.status == DecisionStatus.assessed
        else []
    )
    return DecisionRead.model_validate(
        {
            **{
                name: getattr(decision, name)
                for name in DecisionRead.model_fields
                if name not in {"findings", "allowed_conclusions", "cases"}
            },
            "findings": findings,
            "allowed_conclusions": allowed,
            "cases": [
                LinkedCase(id=c.id, number=c.number, title=c.alert_title(), status=c.status)
                for c in cases
            ],
        }
    )


async def view(
    session: AsyncSession,
    decisions: Sequence[DecisionAssessment],
    principal: Principal,
    policy: Policy,
) -> list[DecisionRead]:
    """The views of several assessments, their linked cases read in one query."""
    cases = await DecisionRepository(session).linked_cases([d.id for d in decisions], principal)
    return [to_read(d, cases.get(d.id, []), policy) for d in decisions]


async def get(
    session: AsyncSession, decision_id: uuid.UUID, principal: Principal
) -> DecisionAssessment:
    """The assessment, or 404 (also when its unit lies outside the caller's territory)."""
    return await _in_reach(session, decision_id, principal, for_update=False)


async def list_decisions(
    session: AsyncSession, query: DecisionQuery, principal: Principal
) -> tuple[list[DecisionAssessment], str | None]:
    """A page of the assessments of the caller's territory."""
    return await DecisionRepository(session).list(query, principal.reach)


# --- the draft ---------------------------------------------------------------------------


async def create(
    session: AsyncSession, body: DecisionCreate, principal: Principal, policy: Policy
) -> DecisionAssessment:
    """Record a planned major decision as a draft to be assessed (风险前置评估); with a planned
    day far enough ahead, the responsible leader owes the assessment by the policy's days
    before it (a `decision_assessment` deadline)."""
    unit = await named_unit(session, body.unit_id, principal)
    owner = await leader_over(
        session, body.owner_leader_id, unit, principal, LEADER_ROLES, "/owner_leader_id"
    )
    decision = DecisionAssessment(
        id=uuid.uuid4(),
        unit_id=unit.id,
        title=body.title,
        kind=body.kind.value,
        description=body.description,
        planned_on=body.planned_on,
        owner_leader_id=body.owner_leader_id,
        findings=_stored(body.findings),
        response_plan=body.response_plan,
        status=DecisionStatus.draft.value,
        created_by=principal.id,
    )
    DecisionRepository(session).add(decision)
    _open_assessment_deadline(session, decision, owner, utcnow(), policy)
    await session.flush()
    return decision


async def update(
    session: AsyncSession,
    decision_id: uuid.UUID,
    body: DecisionUpdate,
    principal: Principal,
    policy: Policy,
) -> DecisionAssessment:
    """Change a draft; an assessed or decided one is 409. A new planned day or responsible
    leader replaces the assessment deadline."""
    decision = await _in_reach(session, decision_id, principal, for_update=True)
    _expect(decision, DecisionStatus.draft, Message("Only a draft may be changed"))
    given = body.model_fields_set
    for name in REQUIRED_FIELDS:
        if name in given and getattr(body, name) is None:
            raise InvalidInput(Message("{name} may not be null.", name=name), pointer=f"/{name}")
    old_owner, old_planned = decision.owner_leader_id, decision.planned_on
    if given & {"unit_id", "owner_leader_id"}:
        owner_id = body.owner_leader_id or decision.owner_leader_id
        unit = await named_unit(session, body.unit_id or decision.unit_id, principal)
        await leader_over(session, owner_id, unit, principal, LEADER_ROLES, "/owner_leader_id")
        decision.unit_id, decision.owner_leader_id = unit.id, owner_id
    if body.title is not None:
        decision.title = body.title
    if body.kind is not None:
        decision.kind = body.kind.value
    for name in ("description", "planned_on", "response_plan"):
        if name in given:
            setattr(decision, name, getattr(body, name))
    if body.findings is not None:
        decision.findings = {**decision.findings, **_stored(body.findings)}
    if (decision.owner_leader_id, decision.planned_on) != (old_owner, old_planned):
        now = utcnow()
        await misses.settle(
            session, decision.deadline_id, DeadlineStatus.cancelled, now, principal.id
        )
        decision.deadline_id = decision.assessment_due_at = None
        owner = await OfficialRepository(session).get(decision.owner_leader_id)
        assert owner is not None  # foreign key
        _open_assessment_deadline(session, decision, owner, now, policy)
    await session.flush()
    return decision


# --- the assessment and the conclusion ------------------------------------------------------


async def assess(
    session: AsyncSession,
    decision_id: uuid.UUID,
    body: AssessBody,
    principal: Principal,
    policy: Policy,
) -> DecisionAssessment:
    """评估: with all four findings and a response plan, the policy's rule gives the risk
    level (an assessor may only raise it, with a reason). A high risk alerts the responsible
    leader at once, in the same transaction."""
    decision = await _in_reach(session, decision_id, principal, for_update=True)
    _expect(decision, DecisionStatus.draft, Message("Only a draft is assessed"))
    findings = {**decision.findings, **_stored(body.findings)}
    plan = body.response_plan or decision.response_plan
    errors = [
        {
            "pointer": f"/findings/{d.value}",
            "detail": Message(
                "The {dimension} finding ({name}) is missing.",
                dimension=d.value,
                name=DIMENSION_NAMES[d],
            ),
        }
        for d in Dimension
        if d.value not in findings
    ]
    if not plan:
        errors.append(
            {
                "pointer": "/response_plan",
                "detail": Message("The response plan (应对预案) is missing."),
            }
        )
    if errors:
        raise InvalidInput(
            Message("An assessment needs all four findings and a response plan."), errors=errors
        )
    rule = policy.decisions.level_for(Verdict(findings[d.value]["verdict"]) for d in Dimension)
    level = body.risk_level or rule
    if RISK_ORDER[level] < RISK_ORDER[rule]:
        raise InvalidInput(
            Message(
                "The findings make this a {rule} risk; the level may be raised, never lowered.",
                rule=rule.value,
            ),
            pointer="/risk_level",
        )
    if level != rule and not body.level_reason:
        raise InvalidInput(
            Message("Raising the level above the rule's {rule} needs a reason.", rule=rule.value),
            pointer="/level_reason",
        )
    if level == rule and body.level_reason:
        raise InvalidInput(
            Message("A reason is given only for a level raised above the rule's."),
            pointer="/level_reason",
        )
    now = utcnow()
    decision.findings = findings
    decision.response_plan = plan
    decision.rule_risk_level = rule.value
    decision.risk_level = level.value
    decision.level_reason = body.level_reason
    decision.status = DecisionStatus.assessed.value
    decision.assessed_by, decision.assessed_at = principal.id, now
    await misses.settle(session, decision.deadline_id, DeadlineStatus.met, now, principal.id)
    if level is RiskLevel.high:
        await _alert_owner(session, decision)
    await session.flush()
    return decision


async def decide(
    session: AsyncSession,
    decision_id: uuid.UUID,
    body: DecideBody,
    principal: Principal,
    policy: Policy,
) -> DecisionAssessment:
    """评估结论: a conclusion the risk level allows (a high risk is never simply
    implemented); 409 before the assessment or after a conclusion."""
    decision = await _in_reach(session, decision_id, principal, for_update=True)
    _expect(decision, DecisionStatus.assessed, Message("A conclusion follows the assessment"))
    assert decision.risk_level is not None  # every assessed decision has its level
    level = RiskLevel(decision.risk_level)
    if not policy.decisions.allows(level, body.conclusion):
        allowed = [c.value for c in policy.decisions.allowed_conclusions[level]]
        raise InvalidInput(
            Message(
                "A {level}-risk decision may not be concluded {conclusion}; allowed: {names}.",
                level=level.value,
                conclusion=body.conclusion.value,
                names=", ".join(allowed),
            ),
            pointer="/conclusion",
            allowed_conclusions=allowed,
        )
    decision.conclusion = body.conclusion.value
    decision.conclusion_note = body.note
    decision.status = DecisionStatus.decided.value
    decision.decided_by, decision.decided_at = principal.id, utcnow()
    await session.flush()
    return decision


async def link_case(
    session: AsyncSession, decision_id: uuid.UUID, body: LinkCaseBody, principal: Principal
) -> DecisionAssessment:
    """Link a case that arose from the decision (因决策引发的信访); its timeline records
    `decision_linked`. Linking the same case twice is 409."""
    decision = await _in_reach(session, decision_id, principal, for_update=True)
    case = await CaseRepository(session).get_in_reach(body.case_id, principal)
    if case is None:
        raise InvalidInput(
            Message("Case {case_id} does not exist.", case_id=body.case_id), pointer="/case_id"
        )
    now = utcnow()
    if not await DecisionRepository(session).link_case(decision.id, case.id, principal.id, now):
        raise Conflict(
            Message(
                "Case {case_number} is already linked to this decision.", case_number=case.number
            )
        )
    decision.updated_at = now
    CaseEventRepository(session).record(
        case.id,
        "decision_linked",
        actor_id=principal.id,
        client=principal.client,
        data={
            "decision_id": str(decision.id),
            "title": decision.title,
            "risk_level": decision.risk_level,
        },
        at=now,
    )
    await session.flush()
    return decision


# --- the dashboard ------------------------------------------------------------------------


async def figures(
    session: AsyncSession,
    unit_ids: frozenset[uuid.UUID],
    first: date,
    last: date,
    policy: Policy,
) -> DecisionFigures:
    """The subtree's decision assessments in the local days `first`..`last`: assessments by
    risk level, conclusions by kind, high risks awaiting a conclusion (now), drafts whose
    planned day in the period has passed, and the cases received in the period that arose
    from the subtree's decisions."""
    del policy
    start, end = local_days(first, last)
    repo = DecisionFiguresRepository(session)
    levels = await repo.assessed_by_level(unit_ids, start, end)
    conclusions = await repo.decided_by_conclusion(unit_ids, start, end)
    yesterday = local_today() - timedelta(days=1)
    overdue = (
        await repo.drafts_planned_between(unit_ids, first, min(last, yesterday))
        if first <= yesterday
        else 0
    )
    due, late = await repo.assessment_deadlines(unit_ids, start, end)
    linked, collective = await repo.linked_cases(unit_ids, start, end)
    return DecisionFigures(
        assessed=sum(levels.values()),
        by_risk_level={level: levels.get(level.value, 0) for level in RiskLevel},
        decided=sum(conclusions.values()),
        by_conclusion={c: conclusions.get(c.value, 0) for c in Conclusion},
        high_risk_undecided=await repo.high_risk_undecided(unit_ids),
        drafts_past_planned_date=overdue,
        assessments_due=due,
        assessments_late=late,
        linked_cases=linked,
        linked_collective=collective,
    )


# --- helpers ------------------------------------------------------------------------------


def _stored(findings: Findings | None) -> dict[str, Any]:
    """Findings as stored: `{dimension: {"verdict": …, "note": …}}` for those given."""
    if findings is None:
        return {}
    given: dict[Dimension, Finding] = findings.given()
    return {d.value: f.model_dump(mode="json") for d, f in given.items()}


def _open_assessment_deadline(
    session: AsyncSession,
    decision: DecisionAssessment,
    owner: Official,
    now: datetime,
    policy: Policy,
) -> None:
    """The responsible leader's `decision_assessment` deadline: due at the end of the local
    day `assess_days_before` days before the planned day, in the leader's unit (a miss
    escalates from there upwards). Recorded too late for that, it is due when the planned day
    begins: the assessment still comes before the decision. None without a planned day, or
    when that day has begun: a decision recorded after the fact is assessed late anyway, and
    the dashboard counts drafts past their planned day."""
    planned = decision.planned_on
    if planned is None:
        return
    today = local(now).date()
    last_day = planned - timedelta(days=policy.decisions.assess_days_before)
    if last_day < today:
        last_day = planned - timedelta(days=1)
    if last_day < today:
        return
    due_at = end_of_local_day(last_day)
    deadline = deadlines.open_duty(
        session,
        owner,
        DeadlineKind.decision_assessment,
        starts_at=now,
        due_at=due_at,
        reminders=policy.reminders,
        subject=decision.title,
    )
    decision.deadline_id, decision.assessment_due_at = deadline.id, due_at


def _expect(decision: DecisionAssessment, status: DecisionStatus, what: Message) -> None:
    if decision.status != status:
        raise Conflict(
            Message(
                "{what}; this assessment is {decision_status}.",
                what=what,
                decision_status=decision.status,
            ),
            decision_status=decision.status,
        )


async def _in_reach(
    session: AsyncSession, decision_id: uuid.UUID, principal: Principal, *, for_update: bool
) -> DecisionAssessment:
    decision = await DecisionRepository(session).get_in_reach(
        decision_id, principal.reach, for_update=for_update
    )
    if decision is None:
        raise NotFound(Message("Decision {decision_id} does not exist.", decision_id=decision_id))
    return decision


async def _alert_owner(session: AsyncSession, decision: DecisionAssessment) -> None:
    """Tell the responsible leader of a high-risk decision at once (risk_alert)."""
    owner = await OfficialRepository(session).get(decision.owner_leader_id)
    unit = await UnitRepository(session).get(decision.unit_id)
    assert owner is not None and unit is not None  # foreign keys
    planned = decision.planned_on
    await alert_official(
        session,
        owner,
        purpose="decision_risk",
        template="risk_alert",
        fields={
            "subject": decision.title,
            "risk_name": RISK_NAMES[RiskLevel.high],
            "unit_name": unit.name,
            "official_name": owner.name,
            # The risk is to be defused before the decision is taken (维稳关口前移).
            "due_local": f"{planned.month}月{planned.day}日决策前" if planned else "决策前",
        },
        case_id=None,
    )
