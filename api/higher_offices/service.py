"""The registry of higher offices (上级信访部门) whose cases come down to the county."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.higher_offices.repository import HigherOfficeRepository
from api.higher_offices.schemas import (
    HigherOfficeCreate,
    HigherOfficeQuery,
    HigherOfficeUpdate,
)
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.higher_office import HigherOffice
from api.units.service import named_unit


async def create(
    session: AsyncSession, body: HigherOfficeCreate, principal: Principal
) -> HigherOffice:
    """Register an office; its code is unique (409 when taken); the unit it is, when given,
    is one the caller reaches, of the office's level (422 at `/unit_id` otherwise)."""
    repo = HigherOfficeRepository(session)
    if body.unit_id is not None:
        unit = await named_unit(session, body.unit_id, principal)
        if unit.level.value != body.level.value:
            raise InvalidInput(
                Message(
                    "A {level} office is a {level} unit, not a {unit_level}.",
                    level=body.level.value,
                    unit_level=unit.level.value,
                ),
                pointer="/unit_id",
            )
    if await repo.by_code(body.code) is not None:
        raise Conflict(Message("Code {code!r} is taken.", code=body.code))
    office = HigherOffice(
        id=uuid.uuid4(), name=body.name, level=body.level, code=body.code, unit_id=body.unit_id
    )
    repo.add(office)
    try:
        await session.flush()
    except IntegrityError as exc:  # registered at the same moment
        raise Conflict(Message("Code {code!r} is taken.", code=body.code)) from exc
    return office


async def get(session: AsyncSession, office_id: uuid.UUID) -> HigherOffice:
    """The office, or 404."""
    office = await HigherOfficeRepository(session).get(office_id)
    if office is None:
        raise NotFound(Message("Higher office {office_id} does not exist.", office_id=office_id))
    return office


async def update(
    session: AsyncSession, office_id: uuid.UUID, body: HigherOfficeUpdate, principal: Principal
) -> HigherOffice:
    """Rename an office or (de)activate it (the deployment's admin only)."""
    if not principal.deployment_wide:
        raise Forbidden(Message("Only the deployment's admin may change a registered office."))
    office = await get(session, office_id)
    if body.name is not None:
        office.name = body.name
    if body.active is not None:
        office.active = body.active
    office.updated_at = utcnow()
    await session.flush()
    return office


async def list_offices(
    session: AsyncSession, query: HigherOfficeQuery
) -> tuple[list[HigherOffice], str | None]:
    """A page of the registry."""
    return await HigherOfficeRepository(session).list(query)


async def named_office(session: AsyncSession, office_id: uuid.UUID, pointer: str) -> HigherOffice:
    """An active office named in a request body; otherwise 422."""
    office = await HigherOfficeRepository(session).get(office_id)
    if office is None or not office.active:
        raise InvalidInput(
            Message("Higher office {office_id} does not exist.", office_id=office_id),
            pointer=pointer,
        )
    return office
