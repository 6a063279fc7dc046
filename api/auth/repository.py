"""Refresh and service token storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.kit.uow import unit_of
from api.models.higher_office import HigherOffice
from api.models.official import Official
from api.models.token import Login, RefreshToken, ServiceToken
from api.units.repository import (
    KNOWN_SUBTREES,
    bureau_of,
    counties_of,
    settle_subtree,
    subtree_unless_known,
    tree_generation,
)


class CallerOfLogin(NamedTuple):
    """The official behind an access token and the units that bound what they reach."""

    official: Official
    subtree: frozenset[uuid.UUID]
    counties: frozenset[uuid.UUID]
    bureau: frozenset[uuid.UUID]


class TokenRepository:
    """Reads and writes refresh and service tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, token: RefreshToken | ServiceToken) -> None:
        """Stage a new token."""
        self.session.add(token)

    async def refresh_by_hash(self, token_hash: str) -> RefreshToken | None:
        """The refresh token with this hash, locked (two refreshes cannot both use it)."""
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_login(self, login: Login) -> None:
        """Stage a new login."""
        self.session.add(login)

    async def official_in_login(
        self, official_id: uuid.UUID, login_id: uuid.UUID
    ) -> Official | None:
        """The official of an access token, if its login still stands (one statement: the
        check every request with an access token pays)."""
        stmt = (
            select(Official)
            .join(Login, Login.official_id == Official.id)
            .where(Official.id == official_id, Login.id == login_id, Login.revoked_at.is_(None))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def caller_of_login(
        self, official_id: uuid.UUID, login_id: uuid.UUID
    ) -> CallerOfLogin | None:
        """The official of an access token, if its login still stands, with the ids of their
        unit's subtree (empty without a unit) and the counties it lies in or holds (their
        unit's county, or the counties below a city or province: whose data versions their
        polls compare, `api.kit.polling`) and, for a city's or a province's official, the units
        of their bureau (their own, above the counties: `Principal.bureau`): one statement,
        the one every request with an access token pays (issue 22: the subtree was a second
        round trip of every request). The subtree comes back only when this process does not
        already know it at the tree's generation (`units.repository.KnownSubtrees`): a
        province's official reaches 35,000 units."""
        kept = unit_of(self.session).resources.get(KNOWN_SUBTREES)
        known = kept.of_official(official_id) if kept is not None else None
        start = select(Official.unit_id).where(Official.id == official_id).scalar_subquery()
        stmt = (
            select(
                Official,
                tree_generation(),
                subtree_unless_known(start, known),
                func.array(counties_of(start).scalar_subquery()),
                func.array(bureau_of(start).scalar_subquery()),
            )
            .join(Login, Login.official_id == Official.id)
            .where(Official.id == official_id, Login.id == login_id, Login.revoked_at.is_(None))
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        official, generation, sent, in_counties, bureau = row
        subtree = settle_subtree(
            self.session, official.unit_id, generation, sent, known, official_id
        )
        return CallerOfLogin(
            official, subtree, frozenset(in_counties or ()), frozenset(bureau or ())
        )

    async def revoke_logins(
        self,
        official_id: uuid.UUID,
        reason: str,
        at: datetime,
        *,
        only: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
    ) -> int:
        """Revoke the official's standing logins (only one of them, or all but one) and their
        refresh tokens; returns how many logins ended."""
        logins = update(Login).where(Login.official_id == official_id, Login.revoked_at.is_(None))
        if only is not None:
            logins = logins.where(Login.id == only)
        if keep is not None:
            logins = logins.where(Login.id != keep)
        ended = list(
            (
                await self.session.execute(
                    logins.values(revoked_at=at, revoked_reason=reason).returning(Login.id)
                )
            ).scalars()
        )
        if ended:
            await self.session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id.in_(ended), RefreshToken.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return len(ended)

    async def service_by_hash(self, token_hash: str) -> ServiceToken | None:
        """The service token with this hash."""
        stmt = select(ServiceToken).where(ServiceToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def office_active(self, office_id: uuid.UUID) -> bool:
        """Whether the higher office is registered and active (a token may speak for it)."""
        office = await self.session.get(HigherOffice, office_id)
        return office is not None and office.active

    async def service(self, token_id: uuid.UUID) -> ServiceToken | None:
        """The service token with this id."""
        return await self.session.get(ServiceToken, token_id)

    async def services(self, units: frozenset[uuid.UUID] | None) -> Sequence[ServiceToken]:
        """The service tokens whose account works in one of `units` (None: every token),
        newest first."""
        stmt = select(ServiceToken).order_by(ServiceToken.created_at.desc())
        if units is not None:
            stmt = stmt.join(Official, Official.id == ServiceToken.official_id).where(
                among(Official.unit_id, units)
            )
        return (await self.session.execute(stmt)).scalars().all()
