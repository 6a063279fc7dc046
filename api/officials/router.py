"""`/v1/officials`: the people who are summoned and alerted."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.officials import service
from api.officials.schemas import OfficialCreate, OfficialQuery, OfficialRead, OfficialUpdate

router = APIRouter(prefix="/v1/officials", tags=["officials"])
USERNAME_TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "The user name is taken."}}


@router.post("", status_code=201, responses=USERNAME_TAKEN, **needs(Permission.manage_directory))
async def create_official(
    body: OfficialCreate, session: DbSession, principal: CurrentPrincipal
) -> OfficialRead:
    """Add an official (chief 一把手, deputy 分管领导, petition staff, grid worker …) to a unit
    of the caller's territory (422 outside it). Only an admin appoints an admin or an
    it_admin (403)."""
    return service.to_read(await service.create_official(session, body, principal))


@router.get("", **needs(Permission.read_directory))
async def list_officials(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[OfficialQuery, Query()]
) -> Page[OfficialRead]:
    """List the officials of the caller's territory and of the units above it, optionally of
    one unit or one role."""
    rows, next_cursor = await service.list_officials(session, query, principal)
    return Page(items=[service.to_read(o) for o in rows], next_cursor=next_cursor)


@router.get("/{official_id}", **needs(Permission.read_directory))
async def get_official(
    official_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> OfficialRead:
    """Read one official of the caller's territory or of the units above it."""
    return service.to_read(await service.get_official(session, official_id, principal))


@router.patch("/{official_id}", responses=USERNAME_TAKEN, **needs(Permission.manage_directory))
async def update_official(
    official_id: uuid.UUID, body: OfficialUpdate, session: DbSession, principal: CurrentPrincipal
) -> OfficialRead:
    """Change an official's details, unit, role, password, contacts or active flag: an
    official of the caller's territory (404 outside it), moved only within it (422). Only an
    admin changes an admin or an it_admin, or makes someone one (403)."""
    return service.to_read(await service.update_official(session, official_id, body, principal))


@router.post("/{official_id}/sign-out", status_code=204, **needs(Permission.manage_directory))
async def sign_out_everywhere(
    official_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """End every login of the official at once (a lost phone, a password that leaked): their
    access and refresh tokens stop working from the next request on, on every replica. The
    same territory and role rules as for changing the official apply."""
    await service.sign_out_everywhere(session, official_id, principal)
    return Response(status_code=204)
