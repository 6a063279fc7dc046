"""Refresh and service token storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.token import RefreshToken, ServiceToken


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

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        """Revoke every token of a login."""
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def service_by_hash(self, token_hash: str) -> ServiceToken | None:
        """The service token with this hash."""
        stmt = select(ServiceToken).where(ServiceToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def service(self, token_id: uuid.UUID) -> ServiceToken | None:
        """The service token with this id."""
        return await self.session.get(ServiceToken, token_id)

    async def services(self) -> Sequence[ServiceToken]:
        """Every service token, newest first."""
        stmt = select(ServiceToken).order_by(ServiceToken.created_at.desc())
        return (await self.session.execute(stmt)).scalars().all()
