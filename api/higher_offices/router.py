"""`/v1/higher-offices`: the registry of higher petition offices (上级信访部门)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.higher_offices import service
from api.higher_offices.schemas import (
    HigherOfficeCreate,
    HigherOfficeQuery,
    HigherOfficeRead,
    HigherOfficeUpdate,
)
from api.kit.boundary import DbSession
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/higher-offices", tags=["higher offices"])


def _read(office: object) -> HigherOfficeRead:
    return HigherOfficeRead.model_validate(office, from_attributes=True)


@router.post(
    "",
    status_code=201,
    responses={409: {"description": "The code is taken."}},
    **needs(Permission.manage_policy),
)
async def create_higher_office(
    body: HigherOfficeCreate, session: DbSession, principal: CurrentPrincipal
) -> HigherOfficeRead:
    """Register a higher office (市信访局, 省信访局, 国家信访局, a leader's office) whose cases
    come down to the county transferred (转送) or assigned (交办); a city's or a province's
    bureau of this deployment names its unit (`unit_id`), whose officials then read the cases
    it handed down."""
    return _read(await service.create(session, body, principal))


@router.get("", **needs(Permission.read_directory))
async def list_higher_offices(
    session: DbSession, _: CurrentPrincipal, query: Annotated[HigherOfficeQuery, Query()]
) -> Page[HigherOfficeRead]:
    """List the registered higher offices, optionally of one level or only active ones."""
    rows, next_cursor = await service.list_offices(session, query)
    return Page(items=[_read(o) for o in rows], next_cursor=next_cursor)


@router.get("/{office_id}", **needs(Permission.read_directory))
async def get_higher_office(
    office_id: uuid.UUID, session: DbSession, _: CurrentPrincipal
) -> HigherOfficeRead:
    """One registered higher office."""
    return _read(await service.get(session, office_id))


@router.patch("/{office_id}", **needs(Permission.manage_policy))
async def update_higher_office(
    office_id: uuid.UUID, body: HigherOfficeUpdate, session: DbSession, principal: CurrentPrincipal
) -> HigherOfficeRead:
    """Rename a higher office, or make it inactive (it hands down nothing new): the
    deployment's admin only, as the registry serves every county (403 for a unit's admin)."""
    return _read(await service.update(session, office_id, body, principal))
