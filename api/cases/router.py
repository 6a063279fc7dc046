"""`/v1/cases`: registering petitions, reading them, and arrivals at the scene."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal
from api.cases import service
from api.cases.schemas import (
    ArrivalCreate,
    ArrivalRead,
    CaseCreate,
    CaseEventRead,
    CaseQuery,
    CaseRead,
)
from api.dependencies import DbSession
from api.pagination import Page

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("", status_code=201)
async def register_case(
    body: CaseCreate, session: DbSession, principal: CurrentPrincipal
) -> CaseRead:
    """Register a petition (登记). A visit lodged above its origin summons the chiefs at once."""
    case, deadlines = await service.register_case(session, body, principal)
    return service.to_read(case, deadlines)


@router.get("")
async def list_cases(
    session: DbSession, _: CurrentPrincipal, query: Annotated[CaseQuery, Query()]
) -> Page[CaseRead]:
    """List cases, newest first, with filters and a cursor."""
    rows, next_cursor = await service.list_cases(session, query)
    return Page(items=[service.to_read(c) for c in rows], next_cursor=next_cursor)


@router.get("/{case_id}")
async def get_case(case_id: uuid.UUID, session: DbSession, _: CurrentPrincipal) -> CaseRead:
    """Read a case with its deadlines."""
    case, deadlines = await service.get_case(session, case_id)
    return service.to_read(case, deadlines)


@router.get("/{case_id}/timeline")
async def case_timeline(
    case_id: uuid.UUID, session: DbSession, _: CurrentPrincipal
) -> list[CaseEventRead]:
    """The case's events, oldest first: who did what, when, from which client."""
    return await service.timeline(session, case_id)


@router.post("/{case_id}/arrivals", status_code=201)
async def record_arrival(
    case_id: uuid.UUID, body: ArrivalCreate, session: DbSession, principal: CurrentPrincipal
) -> ArrivalRead:
    """Check in at the scene (到位签到); meets the official's arrival deadline if in time."""
    return await service.record_arrival(session, case_id, body, principal)
