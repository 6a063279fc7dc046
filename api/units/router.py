"""`/v1/units`: the territory and department tree."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.units import service
from api.units.schemas import UnitCreate, UnitQuery, UnitRead, UnitUpdate

router = APIRouter(prefix="/v1/units", tags=["units"])


@router.post("", status_code=201, **needs(Permission.manage_directory))
async def create_unit(
    body: UnitCreate, session: DbSession, principal: CurrentPrincipal
) -> UnitRead:
    """Add a unit (county, town, area, village or department) to the tree, under a unit of
    the caller's territory (422 outside it); a county, with no parent, is an admin's to add
    (403)."""
    return service.to_read(await service.create_unit(session, body, principal))


@router.get("", **needs(Permission.read_directory))
async def list_units(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[UnitQuery, Query()]
) -> Page[UnitRead]:
    """List the units the caller may see (their territory and the units above it),
    optionally the children of one parent or those of one level."""
    rows, next_cursor = await service.list_units(session, query, principal)
    return Page(items=[service.to_read(u) for u in rows], next_cursor=next_cursor)


@router.get("/{unit_id}", **needs(Permission.read_directory))
async def get_unit(unit_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> UnitRead:
    """Read one unit (404 outside the caller's territory and the units above it)."""
    return service.to_read(await service.get_unit(session, unit_id, principal))


@router.patch("/{unit_id}", **needs(Permission.manage_directory))
async def update_unit(
    unit_id: uuid.UUID, body: UnitUpdate, session: DbSession, principal: CurrentPrincipal
) -> UnitRead:
    """Rename a unit of the caller's territory or change its location (404 outside it)."""
    return service.to_read(await service.update_unit(session, unit_id, body, principal))
