"""`/v1/alerts`: every message and its delivery state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.alerts import service
from api.alerts.schemas import AlertQuery, AlertRead
from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", **needs(Permission.read_cases))
async def list_alerts(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[AlertQuery, Query()]
) -> Page[AlertRead]:
    """List the alerts to officials of the caller's territory (and to the caller) with
    channel, recipient, status, attempts and last error."""
    rows, next_cursor = await service.list_alerts(session, query, principal)
    return Page(
        items=[AlertRead.model_validate(a, from_attributes=True) for a in rows],
        next_cursor=next_cursor,
    )
