"""Official storage."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.kit.pagination import fetch_page
from api.kit.uow import Slot, unit_of
from api.models.official import Official, Role
from api.officials.schemas import OfficialQuery

HOLDERS: Slot[dict[tuple[uuid.UUID, Role], Official | None]] = Slot("holders of posts", dict)
"""Who holds which post in which unit, as read in this transaction."""


class OfficialRepository:
    """Reads and writes officials."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, official_id: uuid.UUID) -> Official | None:
        """The official with this id."""
        return await self.session.get(Official, official_id)

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Official]:
        """Officials by id."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Official).where(among(Official.id, ids)))
        return {o.id: o for o in rows.scalars()}

    async def get_by_username(self, username: str) -> Official | None:
        """The official who logs in with this user name."""
        stmt = select(Official).where(Official.username == username)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def holder_of(self, unit_id: uuid.UUID, role: Role) -> Official | None:
        """The longest-serving active official with `role` in the unit (looked up once per
        transaction: escalating a batch of deadlines asks the same question many times)."""
        cache: dict[tuple[uuid.UUID, Role], Official | None] = unit_of(self.session).get(HOLDERS)
        if (unit_id, role) not in cache:
            stmt = (
                select(Official)
                .where(
                    Official.unit_id == unit_id, Official.role == role, Official.active.is_(True)
                )
                .order_by(Official.created_at, Official.id)
                .limit(1)
            )
            cache[(unit_id, role)] = (await self.session.execute(stmt)).scalar_one_or_none()
        return cache[(unit_id, role)]

    async def prefetch_holders(
        self, unit_ids: Collection[uuid.UUID], roles: Collection[Role]
    ) -> None:
        """Answer `holder_of` for every pair of these units and roles with one query."""
        cache: dict[tuple[uuid.UUID, Role], Official | None] = unit_of(self.session).get(HOLDERS)
        pairs = {(u, r) for u in unit_ids for r in roles} - cache.keys()
        if not pairs:
            return
        stmt = (
            select(Official)
            .where(
                Official.unit_id.in_({u for u, _ in pairs}),
                Official.role.in_({r for _, r in pairs}),
                Official.active.is_(True),
            )
            .order_by(Official.created_at, Official.id)
        )
        found: dict[tuple[uuid.UUID | None, Role], Official] = {}
        for official in (await self.session.execute(stmt)).scalars():
            found.setdefault((official.unit_id, official.role), official)
        for pair in pairs:
            cache[pair] = found.get(pair)

    def forget_holders(self) -> None:
        """Drop the per-transaction holder cache (an official changed unit, role or status)."""
        unit_of(self.session).forget(HOLDERS)

    async def by_sms_number(self, numbers: Sequence[str]) -> Sequence[Official]:
        """Active officials whose phone or SMS contact is one of `numbers`."""
        stmt = select(Official).where(
            Official.active.is_(True),
            or_(
                Official.phone.in_(list(numbers)),
                *(Official.contacts.contains([{"channel": "sms", "address": n}]) for n in numbers),
            ),
        )
        return (await self.session.execute(stmt)).scalars().all()

    def add(self, official: Official) -> None:
        """Stage a new official."""
        self.session.add(official)

    async def list(
        self, query: OfficialQuery, units: frozenset[uuid.UUID] | None
    ) -> tuple[list[Official], str | None]:
        """A page of the officials of `units` (None: all) matching the query, newest first."""
        stmt = select(Official)
        if units is not None:
            stmt = stmt.where(among(Official.unit_id, units))
        return await fetch_page(self.session, stmt, Official, query)
