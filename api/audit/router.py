"""`/v1/audit`: the audit trail, for county admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import service
from api.audit.schemas import AuditQuery, AuditRead
from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", **needs(Permission.read_audit))
async def list_audit(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[AuditQuery, Query()]
) -> Page[AuditRead]:
    """Admins only: who read or changed what, when, from which client and address; newest
    first. Reading the trail is itself recorded in it. A county's or a city's admin reads
    what the officials of their territory did; the deployment's admin all of it."""
    rows, next_cursor = await service.list_entries(session, query, principal)
    return Page(
        items=[AuditRead.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
