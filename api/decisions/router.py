"""`/v1/decisions`: stability-risk assessments of major decisions (重大决策社会稳定风险评估)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.decisions import service
from api.decisions.schemas import (
    AssessBody,
    DecideBody,
    DecisionCreate,
    DecisionQuery,
    DecisionRead,
    DecisionUpdate,
    LinkCaseBody,
)
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.models.decision import DecisionAssessment
from api.policies.service import current_policy

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input, with a JSON pointer to each bad field."}
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the assessment's status (`decision_status`)."},
    **INVALID,
}


async def _read(
    session: DbSession, decision: DecisionAssessment, principal: CurrentPrincipal
) -> DecisionRead:
    policy = (await current_policy(session)).policy
    [read] = await service.view(session, [decision], principal, policy)
    return read


@router.post(
    "",
    status_code=201,
    response_model=DecisionRead,
    responses=INVALID,
    **needs(Permission.assess_decisions),
)
async def create_decision(
    body: DecisionCreate, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """Record a planned major decision of a unit as a draft to be assessed before it is taken
    (重大决策社会稳定风险前置评估, seed 003 六.二), with its responsible leader. With a planned
    day, the leader owes the assessment by the end of the day `assess_days_before` (policy,
    default 1) days before it: a `decision_assessment` deadline that escalates when missed."""
    policy = (await current_policy(session)).policy
    decision = await service.create(session, body, principal, policy)
    return await _read(session, decision, principal)


@router.get("", **needs(Permission.read_cases))
async def list_decisions(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[DecisionQuery, Query()]
) -> Page[DecisionRead]:
    """List the assessments of the caller's territory by unit, kind, risk level or status,
    newest first."""
    rows, next_cursor = await service.list_decisions(session, query, principal)
    policy = (await current_policy(session)).policy
    return Page(items=await service.view(session, rows, principal, policy), next_cursor=next_cursor)


@router.get("/{decision_id}", **needs(Permission.read_cases))
async def get_decision(
    decision_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """Read an assessment with its findings, risk level, conclusion and the cases that arose
    from the decision (404 outside the caller's territory, as for one that does not exist)."""
    return await _read(session, await service.get(session, decision_id, principal), principal)


@router.patch(
    "/{decision_id}",
    response_model=DecisionRead,
    responses=ACTION_ERRORS,
    **needs(Permission.assess_decisions),
)
async def update_decision(
    decision_id: uuid.UUID, body: DecisionUpdate, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """Change a draft: its facts, the findings known so far, the response plan. A new planned
    day or responsible leader replaces the assessment deadline."""
    policy = (await current_policy(session)).policy
    decision = await service.update(session, decision_id, body, principal, policy)
    return await _read(session, decision, principal)


@router.post(
    "/{decision_id}/assess",
    response_model=DecisionRead,
    responses=ACTION_ERRORS,
    **needs(Permission.assess_decisions),
)
async def assess_decision(
    decision_id: uuid.UUID, body: AssessBody, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """评估: complete the four findings (合法性、合理性、可行性、可控性) and the response plan
    (应对预案); the policy's rule gives the risk level, which the assessor may raise with a
    reason but never lower. A high risk alerts the responsible leader at once."""
    policy = (await current_policy(session)).policy
    decision = await service.assess(session, decision_id, body, principal, policy)
    return await _read(session, decision, principal)


@router.post(
    "/{decision_id}/decide",
    response_model=DecisionRead,
    responses=ACTION_ERRORS,
    **needs(Permission.assess_decisions),
)
async def decide_decision(
    decision_id: uuid.UUID, body: DecideBody, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """评估结论: implement, implement after measures, postpone or do not implement, as the
    policy allows for the risk level (a high risk is never simply implemented)."""
    policy = (await current_policy(session)).policy
    decision = await service.decide(session, decision_id, body, principal, policy)
    return await _read(session, decision, principal)


@router.post(
    "/{decision_id}/cases",
    response_model=DecisionRead,
    responses={409: {"description": "The case is already linked."}, **INVALID},
    **needs(Permission.assess_decisions),
)
async def link_decision_case(
    decision_id: uuid.UUID, body: LinkCaseBody, session: DbSession, principal: CurrentPrincipal
) -> DecisionRead:
    """Link a case that arose from the decision (因风险评估不到位引发的信访, seed 001 第二篇
    (一)2); the case's timeline records `decision_linked`."""
    decision = await service.link_case(session, decision_id, body, principal)
    return await _read(session, decision, principal)
