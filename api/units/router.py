"""`/v1/units`: the territory and department tree."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import AdminPrincipal, CurrentPrincipal
from api.dependencies import DbSession
from api.pagination import Page
from api.units import service
from api.units.schemas import UnitCreate, UnitQuery, UnitRead, UnitUpdate

router = APIRouter(prefix="/v1/units", tags=["units"])


@router.post("", status_code=201)
async def create_unit(body: UnitCreate, session: DbSession, _: AdminPrincipal) -> UnitRead:
    """Add a unit (county, town, area, village or department) to the tree."""
    return service.to_read(await service.create_unit(session, body))


@router.get("")
async def list_units(
    session: DbSession, _: CurrentPrincipal, query: Annotated[UnitQuery, Query()]
) -> Page[UnitRead]:
    """List units, optionally the children of one parent or those of one level."""
    rows, next_cursor = await service.list_units(session, query)
    return Page(items=[service.to_read(u) for u in rows], next_cursor=next_cursor)


@router.get("/{unit_id}")
async def get_unit(unit_id: uuid.UUID, session: DbSession, _: CurrentPrincipal) -> UnitRead:
    """Read one unit."""
    return service.to_read(await service.get_unit(session, unit_id))


@router.patch("/{unit_id}")
async def update_unit(
    unit_id: uuid.UUID, body: UnitUpdate, session: DbSession, _: AdminPrincipal
) -> UnitRead:
    """Rename a unit or change its location."""
    return service.to_read(await service.update_unit(session, unit_id, body))
