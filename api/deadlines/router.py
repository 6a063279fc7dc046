"""`/v1/deadlines`: every due time, and the worker's evaluation endpoint."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, WorkerCaller, needs
from api.auth.permissions import Permission
from api.deadlines import service
from api.deadlines.schemas import DeadlineQuery, DeadlineRead
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from shared.contracts import DeadlineEvaluation, FlagDueReport, ReminderOutcome

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])
internal_router = APIRouter(
    prefix="/v1/internal/deadlines", tags=["internal"], dependencies=[WorkerCaller]
)


@router.get("", **needs(Permission.read_cases))
async def list_deadlines(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[DeadlineQuery, Query()]
) -> Page[DeadlineRead]:
    """List the deadlines of the caller's territory by status (open, met, missed, cancelled),
    kind, case, unit or official."""
    rows, next_cursor = await service.list_deadlines(session, query, principal.reach)
    return Page(items=[service.to_read(d) for d in rows], next_cursor=next_cursor)


@internal_router.post("/flag-due")
async def flag_due(session: DbSession) -> FlagDueReport:
    """Worker only: flag one batch of open deadlines past due (the clock's tick)."""
    flagged = await service.flag_overdue(session)
    return FlagDueReport(flagged=flagged, more=flagged >= service.FLAG_BATCH)


@internal_router.post("/{deadline_id}/remind")
async def remind_deadline(
    deadline_id: uuid.UUID,
    session: DbSession,
    fraction: Annotated[float, Query(gt=0, lt=1)],
) -> ReminderOutcome:
    """Worker only: send the reminder due at `fraction` of the deadline's span (once)."""
    return await service.remind(session, deadline_id, fraction)


@internal_router.post("/{deadline_id}/evaluate")
async def evaluate_deadline(deadline_id: uuid.UUID, session: DbSession) -> DeadlineEvaluation:
    """Worker only: flag the deadline missed if it is due and open (exactly once)."""
    return await service.evaluate(session, deadline_id)
