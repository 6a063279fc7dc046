"""`/v1/escalations`: escalation steps and acknowledging them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal
from api.dependencies import DbSession
from api.escalations import service
from api.escalations.schemas import EscalationQuery, EscalationRead
from api.pagination import Page

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])


@router.get("")
async def list_escalations(
    session: DbSession, _: CurrentPrincipal, query: Annotated[EscalationQuery, Query()]
) -> Page[EscalationRead]:
    """List escalations, optionally of one case or deadline, or by status."""
    rows, next_cursor = await service.list_escalations(session, query)
    return Page(
        items=[EscalationRead.model_validate(e, from_attributes=True) for e in rows],
        next_cursor=next_cursor,
    )


@router.post("/{escalation_id}/ack")
async def acknowledge_escalation(
    escalation_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> EscalationRead:
    """Acknowledge an escalation (收到); this stops its chain."""
    escalation = await service.acknowledge(session, escalation_id, principal.id, principal.client)
    return EscalationRead.model_validate(escalation, from_attributes=True)
