"""Officials: creating, changing, reading, and the first admin account."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import check_password, min_length
from api.auth.permissions import may_grant
from api.auth.principal import Principal
from api.auth.security import hash_password
from api.auth.service import revoke_logins
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.models.official import Official, Role
from api.models.unit import Unit
from api.officials.repository import OfficialRepository
from api.officials.schemas import (
    ContactIn,
    ContactOut,
    OfficialCreate,
    OfficialQuery,
    OfficialRead,
    OfficialUpdate,
)
from api.units.repository import UnitRepository
from api.units.service import known_units, named_unit

log = logging.getLogger(__name__)
ADMIN_USERNAME = "admin"


def to_read(official: Official) -> OfficialRead:
    """The API view of an official (no password hash, no contact secrets)."""
    return OfficialRead(
        id=official.id,
        name=official.name,
        phone=official.phone,
        unit_id=official.unit_id,
        role=official.role,
        username=official.username,
        contacts=[
            ContactOut(channel=c["channel"], address=c["address"], has_secret=bool(c.get("secret")))
            for c in official.contacts
        ],
        active=official.active,
        created_at=official.created_at,
        updated_at=official.updated_at,
    )


async def _hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def _contacts(contacts: list[ContactIn]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in contacts]


async def get_official(
    session: AsyncSession, official_id: uuid.UUID, principal: Principal | None = None
) -> Official:
    """The official, or 404 (also when the caller may not look them up)."""
    official = await OfficialRepository(session).get(official_id)
    if official is not None and principal is not None and official.id != principal.id:
        units = await known_units(session, principal)
        if units is not None and official.unit_id not in units:
            official = None
    if official is None:
        raise NotFound(Message("Official {official_id} does not exist.", official_id=official_id))
    return official


def _may_appoint(principal: Principal, role: Role) -> None:
    if role is Role.higher_office:
        raise InvalidInput(
            Message("A higher office speaks through a service token bound to it, not an official."),
            pointer="/role",
        )
    if not may_grant(principal.role, role, credential=False):
        raise Forbidden(Message("Only an admin may make an official {role}.", role=role.value))
    if role is Role.admin and not principal.deployment_wide:
        raise Forbidden(Message("Only the deployment's admin may appoint an admin."))


def _may_set_password(principal: Principal, role: Role) -> None:
    # A password set by someone else is known to them, as a service token is: nobody sets one
    # for an account holding a permission they lack (an IT administrator would otherwise sign
    # in as a petition officer and read what their own role may not).
    if not may_grant(principal.role, role, credential=True):
        raise Forbidden(
            Message(
                "Only an official holding every permission of a {role} (an admin) may "
                "set their password; they set it themselves afterwards.",
                role=role.value,
            )
        )


async def managed_official(
    session: AsyncSession, official_id: uuid.UUID, principal: Principal
) -> Official:
    """An official the caller may change, reset or sign out: one of their territory (404
    otherwise, even when they may look them up) whose role they may grant (403 otherwise:
    only an admin manages an admin or an it_admin, the caller included)."""
    official = await OfficialRepository(session).get(official_id)
    if official is None or not principal.reaches(official.unit_id):
        raise NotFound(Message("Official {official_id} does not exist.", official_id=official_id))
    if not may_grant(principal.role, official.role, credential=False):
        raise Forbidden(
            Message(
                "Only an admin may manage an official who is {official_role}.",
                official_role=official.role.value,
            )
        )
    if official.role is Role.admin and not principal.deployment_wide:
        raise Forbidden(Message("Only the deployment's admin may manage an admin."))
    return official


async def create_official(
    session: AsyncSession, data: OfficialCreate, principal: Principal
) -> Official:
    """Add an official to a unit of the caller's territory, in a role the caller may grant;
    a user name needs a password and must be free."""
    await named_unit(session, data.unit_id, principal)
    _may_appoint(principal, data.role)
    if (data.username is None) != (data.password is None):
        raise InvalidInput(
            Message("username and password go together."),
            pointer="/password" if data.username else "/username",
        )
    if data.password is not None:
        _may_set_password(principal, data.role)
        check_password(data.password, data.username, min_length(session))
    repo = OfficialRepository(session)
    if data.username and await repo.get_by_username(data.username):
        raise Conflict(Message("User name {username!r} is taken.", username=data.username))
    official = Official(
        name=data.name,
        phone=data.phone,
        unit_id=data.unit_id,
        role=data.role,
        username=data.username,
        password_hash=await _hash(data.password) if data.password else None,
        contacts=_contacts(data.contacts),
    )
    repo.add(official)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration took the name
        raise Conflict(Message("User name {username!r} is taken.", username=data.username)) from exc
    return official


async def update_official(
    session: AsyncSession, official_id: uuid.UUID, data: OfficialUpdate, principal: Principal
) -> Official:
    """Change an official's details, unit, role, password or contacts (see
    `managed_official`; a new unit and a new role are checked the same way as at creation)."""
    official = await managed_official(session, official_id, principal)
    if data.unit_id is not None:
        await named_unit(session, data.unit_id, principal)
    if data.role is not None:
        if official.role is Role.higher_office:
            raise InvalidInput(
                Message("A higher office's account keeps its role."), pointer="/role"
            )
        _may_appoint(principal, data.role)
    if data.password is not None:
        _may_set_password(principal, data.role or official.role)
    if data.unit_id is not None:
        official.unit_id = data.unit_id
    if data.name is not None:
        official.name = data.name
    if "phone" in data.model_fields_set:
        official.phone = data.phone
    if data.role is not None:
        official.role = data.role
    if data.password is not None:
        check_password(data.password, official.username, min_length(session))
        official.password_hash = await _hash(data.password)
        # a password set by an admin (a reset) ends every login that knew the old one
        await revoke_logins(session, official.id, "password_reset")
    if data.contacts is not None:
        official.contacts = _contacts(data.contacts)
    if data.active is not None:
        official.active = data.active
        if not data.active:
            await revoke_logins(session, official.id, "deactivated")
    OfficialRepository(session).forget_holders()
    await session.flush()
    return official


async def sign_out_everywhere(
    session: AsyncSession, official_id: uuid.UUID, principal: Principal
) -> int:
    """End every login of an official (a lost phone, a stolen password): their tokens fail
    from the next request on. Returns how many logins ended."""
    official = await managed_official(session, official_id, principal)
    ended = await revoke_logins(session, official.id, "signed_out_by_admin")
    await session.flush()
    return ended


async def list_officials(
    session: AsyncSession, query: OfficialQuery, principal: Principal
) -> tuple[list[Official], str | None]:
    """A page of the officials the caller may look up."""
    return await OfficialRepository(session).list(query, await known_units(session, principal))


async def ensure_admin(session: AsyncSession, password: str) -> str | None:
    """Create the `admin` account on an empty database; returns the password if created."""
    repo = OfficialRepository(session)
    if await repo.get_by_username(ADMIN_USERNAME) is not None:
        return None
    password = password or secrets.token_urlsafe(12)
    repo.add(
        Official(
            name="Administrator",
            unit_id=None,
            role=Role.admin,
            username=ADMIN_USERNAME,
            password_hash=await _hash(password),
            contacts=[],
        )
    )
    try:
        await session.flush()
    except IntegrityError:  # another replica created it first
        await session.rollback()
        return None
    return password


async def leader_over(
    session: AsyncSession,
    official_id: uuid.UUID,
    unit: Unit,
    principal: Principal,
    roles: Collection[Role],
    pointer: str,
) -> Official:
    """A leader named in a request body to answer for a matter of `unit` (包案领导, 责任领导):
    an active official of one of `roles` in that unit or a unit above it, inside the caller's
    territory (one outside it is unknown: 422 as if there were none)."""
    official = await OfficialRepository(session).get(official_id)
    if official is None or not official.active or not principal.reaches(official.unit_id):
        raise InvalidInput(
            Message("Official {official_id} does not exist.", official_id=official_id),
            pointer=pointer,
        )
    line = {u.id for u in await UnitRepository(session).ancestry(unit.id)}
    if official.role not in roles or official.unit_id not in line:
        allowed = ", ".join(r.value for r in roles)
        raise InvalidInput(
            Message(
                "{official_name} is not a leader ({allowed}) of {unit_name} or a unit above it.",
                official_name=official.name,
                allowed=allowed,
                unit_name=unit.name,
            ),
            pointer=pointer,
        )
    return official
