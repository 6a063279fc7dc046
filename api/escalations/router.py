"""`/v1/escalations`: escalation steps and acknowledging them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.escalations import service
from api.escalations.schemas import EscalateBody, EscalationQuery, EscalationRead
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])


@router.get("", **needs(Permission.read_cases))
async def list_escalations(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[EscalationQuery, Query()]
) -> Page[EscalationRead]:
    """List the escalations of the caller's territory and those sent to them, optionally of
    one case or deadline, or by status."""
    rows, next_cursor = await service.list_escalations(session, query, principal)
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
        visible_to=principal,
    )
    return EscalationRead.model_validate(escalation, from_attributes=True)


@router.post("/{escalation_id}/escalate", status_code=201, **needs(Permission.escalate_by_hand))
async def escalate_escalation(
    escalation_id: uuid.UUID, body: EscalateBody, session: DbSession, principal: CurrentPrincipal
) -> EscalationRead:
    """Jump the chain to a later step now (手动升级); that step's people are alerted at once."""
    escalation = await service.escalate_manually(
        session, escalation_id, body.step, principal.id, visible_to=principal
    )
    return EscalationRead.model_validate(escalation, from_attributes=True)
