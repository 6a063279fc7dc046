"""`/v1/escalations`: escalation steps and acknowledging them; the worker's calls for the clock
(deadlines falling due, reminders) and the chains."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, WorkerCaller, needs
from api.auth.permissions import Permission
from api.escalations import misses, service
from api.escalations.schemas import EscalateBody, EscalationQuery, EscalationRead
from api.kit.boundary import BulkWorkSlot, DbSession
from api.kit.pagination import Page
from shared.contracts import (
    DeadlineEvaluation,
    EscalationAdvance,
    EscalationStart,
    EscalationStartReport,
    FlagDueReport,
    ReminderOutcome,
)

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])
internal_router = APIRouter(
    prefix="/v1/internal/escalations", tags=["internal"], dependencies=[WorkerCaller]
)
deadlines_internal_router = APIRouter(
    prefix="/v1/internal/deadlines", tags=["internal"], dependencies=[WorkerCaller]
)


@router.get("", **needs(Permission.read_cases))
async def list_escalations(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[EscalationQuery, Query()]
) -> Page[EscalationRead]:
    """List the escalations of the caller's territory and those sent to them, optionally of
    one case or deadline, or by status."""
    rows, next_cursor = await service.list_escalations(
        session, query, (principal.reach, principal.id)
    )
    return Page(
        items=[EscalationRead.model_validate(e, from_attributes=True) for e in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/{escalation_id}/ack",
    responses={409: {"description": "Already acknowledged; names by whom."}},
    **needs(Permission.acknowledge_escalations),
)
async def acknowledge_escalation(
    escalation_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> EscalationRead:
    """Acknowledge an escalation (收到); this stops its chain."""
    escalation = await service.acknowledge(
        session,
        escalation_id,
        principal.id,
        principal.client,
        visible_to=(principal.reach, principal.id),
    )
    return EscalationRead.model_validate(escalation, from_attributes=True)


@router.post("/{escalation_id}/escalate", status_code=201, **needs(Permission.escalate_by_hand))
async def escalate_escalation(
    escalation_id: uuid.UUID, body: EscalateBody, session: DbSession, principal: CurrentPrincipal
) -> EscalationRead:
    """Jump the chain to a later step now (手动升级); that step's people are alerted at once."""
    escalation = await service.escalate_manually(
        session, escalation_id, body.step, principal.id, visible_to=(principal.reach, principal.id)
    )
    return EscalationRead.model_validate(escalation, from_attributes=True)


@internal_router.post("/start", dependencies=[BulkWorkSlot])
async def start_escalations(body: EscalationStart, session: DbSession) -> EscalationStartReport:
    """Worker only: start the chains of a chunk of missed deadlines (exactly once each)."""
    return EscalationStartReport(started=await service.start_chains(session, body.deadline_ids))


@internal_router.post("/advance")
async def advance_escalation(
    session: DbSession,
    deadline_id: uuid.UUID,
    step: Annotated[int, Query(ge=1)],
) -> EscalationAdvance:
    """Worker only: a step's delay has passed; open it unless someone acknowledged."""
    return await service.advance(session, deadline_id, step)


@internal_router.post("/{escalation_id}/renotify")
async def renotify_escalation(
    escalation_id: uuid.UUID, session: DbSession, round_: Annotated[int, Query(alias="round", ge=1)]
) -> EscalationAdvance:
    """Worker only: remind whoever acknowledged, while the matter stays unresolved."""
    return await service.renotify(session, escalation_id, round_)


@deadlines_internal_router.post("/flag-due")
async def flag_due(session: DbSession) -> FlagDueReport:
    """Worker only: flag one batch of open deadlines past due (the clock's tick)."""
    flagged = await misses.flag_overdue(session)
    return FlagDueReport(flagged=flagged, more=flagged >= misses.FLAG_BATCH)


@deadlines_internal_router.post("/{deadline_id}/remind")
async def remind_deadline(
    deadline_id: uuid.UUID,
    session: DbSession,
    fraction: Annotated[float, Query(gt=0, lt=1)],
) -> ReminderOutcome:
    """Worker only: send the reminder due at `fraction` of the deadline's span (once)."""
    return await misses.remind(session, deadline_id, fraction)


@deadlines_internal_router.post("/{deadline_id}/evaluate")
async def evaluate_deadline(deadline_id: uuid.UUID, session: DbSession) -> DeadlineEvaluation:
    """Worker only: flag the deadline missed if it is due and open (exactly once)."""
    return await misses.evaluate(session, deadline_id)
