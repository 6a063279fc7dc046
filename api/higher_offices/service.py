"""The registry of higher offices (上级信访部门) whose cases come down to the county."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.higher_offices.repository import HigherOfficeRepository
from api.higher_offices.schemas import (
    HigherOfficeCreate,
    HigherOfficeQuery,
    HigherOfficeUpdate,
)
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.higher_office import HigherOffice


async def create(session: AsyncSession, body: HigherOfficeCreate) -> HigherOffice:
    """Register an office; its code is unique (409 when taken)."""
    repo = HigherOfficeRepository(session)
    if await repo.by_code(body.code) is not None:
        raise Conflict(Message("Code {code!r} is taken.", code=body.code))
    office = HigherOffice(id=uuid.uuid4(), name=body.name, level=body.level, code=body.code)
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
    session: AsyncSession, office_id: uuid.UUID, body: HigherOfficeUpdate
) -> HigherOffice:
    """Rename an office or (de)activate it."""
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
