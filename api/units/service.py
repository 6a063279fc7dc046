"""The territory tree: where a unit may hang, and reading it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.unit import Unit, UnitLevel
from api.units.repository import UnitRepository
from api.units.schemas import Location, UnitCreate, UnitQuery, UnitRead, UnitUpdate

# Which parent levels each level may hang under (省 > 市 > 县 > 镇/街道 > 管理区 > 村/居; 部门
# under a city, county or town). A county may stand alone (a one-county deployment) or under a
# city; a city alone or under a province.
ALLOWED_PARENTS: dict[UnitLevel, set[UnitLevel | None]] = {
    UnitLevel.province: {None},
    UnitLevel.city: {None, UnitLevel.province},
    UnitLevel.county: {None, UnitLevel.city},
    UnitLevel.town: {UnitLevel.county},
    UnitLevel.area: {UnitLevel.town},
    UnitLevel.village: {UnitLevel.town, UnitLevel.area},
    UnitLevel.department: {UnitLevel.city, UnitLevel.county, UnitLevel.town},
}


def to_read(unit: Unit) -> UnitRead:
    """The API view of a unit."""
    location = (
        Location(lat=unit.lat, lon=unit.lon)
        if unit.lat is not None and unit.lon is not None
        else None
    )
    return UnitRead(
        id=unit.id,
        name=unit.name,
        level=unit.level,
        parent_id=unit.parent_id,
        location=location,
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


async def known_units(session: AsyncSession, principal: Principal) -> frozenset[uuid.UUID] | None:
    """Whose officials a caller may look up: their territory, and the units above them (the
    leaders they answer to and escalate to). None: everyone (admins)."""
    if principal.reach is None:
        return None
    above = await UnitRepository(session).ancestry(principal.unit_id) if principal.unit_id else []
    return principal.reach | {u.id for u in above}


async def get_unit(
    session: AsyncSession, unit_id: uuid.UUID, principal: Principal | None = None
) -> Unit:
    """The unit, or 404 (also when the caller may not look it up)."""
    unit = await UnitRepository(session).get(unit_id)
    if unit is not None and principal is not None:
        units = await known_units(session, principal)
        if units is not None and unit.id not in units:
            unit = None
    if unit is None:
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    return unit


async def named_unit(
    session: AsyncSession, unit_id: uuid.UUID, principal: Principal, pointer: str = "/unit_id"
) -> Unit:
    """A unit named in a request body, inside the caller's territory (属地); otherwise 422, as
    if there were no such unit."""
    unit = await UnitRepository(session).get(unit_id)
    if unit is None or not principal.reaches(unit.id):
        raise InvalidInput(
            Message("Unit {unit_id} does not exist.", unit_id=unit_id), pointer=pointer
        )
    return unit


async def create_unit(session: AsyncSession, data: UnitCreate, principal: Principal) -> Unit:
    """Add a unit under a parent of the caller's territory (422 outside it) of a level it may
    hang under; a unit without a parent is the root of a territory: an admin's to add."""
    repo = UnitRepository(session)
    parent_level: UnitLevel | None = None
    if data.parent_id is not None:
        parent = await repo.get(data.parent_id)
        if parent is None or not principal.reaches(parent.id):
            raise InvalidInput(
                Message("Parent unit {parent_id} does not exist.", parent_id=data.parent_id),
                pointer="/parent_id",
            )
        parent_level = parent.level
    elif principal.reach is not None:
        raise Forbidden(Message("Only an admin may add a unit without a parent."))
    allowed = ALLOWED_PARENTS[data.level]
    if parent_level not in allowed:
        names = sorted(a.value if a else "none" for a in allowed)
        raise InvalidInput(
            Message(
                "A {level} must hang under: {names}.",
                level=data.level.value,
                names=", ".join(names),
            ),
            pointer="/parent_id",
        )
    unit = Unit(
        name=data.name,
        level=data.level,
        parent_id=data.parent_id,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
    )
    repo.add(unit)
    await session.flush()
    return unit


async def update_unit(
    session: AsyncSession, unit_id: uuid.UUID, data: UnitUpdate, principal: Principal
) -> Unit:
    """Rename or move the location of a unit of the caller's territory (404 outside it, even
    for a unit above it that they may look up)."""
    unit = await UnitRepository(session).get(unit_id)
    if unit is None or not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    if data.name is not None:
        unit.name = data.name
    if "location" in data.model_fields_set:
        unit.lat = data.location.lat if data.location else None
        unit.lon = data.location.lon if data.location else None
    await session.flush()
    return unit


async def list_units(
    session: AsyncSession, query: UnitQuery, principal: Principal
) -> tuple[list[Unit], str | None]:
    """A page of units."""
    return await UnitRepository(session).list(query, await known_units(session, principal))
