"""`/v1/deadlines`: every due time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.deadlines import service
from api.deadlines.schemas import DeadlineQuery, DeadlineRead
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])


@router.get("", **needs(Permission.read_cases))
async def list_deadlines(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[DeadlineQuery, Query()]
) -> Page[DeadlineRead]:
    """List the deadlines of the caller's territory by status (open, met, missed, cancelled),
    kind, case, unit or official."""
    rows, next_cursor = await service.list_deadlines(session, query, principal)
    return Page(items=[service.to_read(d) for d in rows], next_cursor=next_cursor)
