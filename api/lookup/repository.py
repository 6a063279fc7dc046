"""Cases found by their number, for the petitioner's lookup."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case
from api.models.unit import Unit


class LookupRepository:
    """The reads of the petitioner's lookup."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_number(self, number: str) -> Sequence[Case]:
        """The cases of that number (one per county that issued it)."""
        stmt = select(Case).where(Case.number == number.upper())
        return (await self.session.execute(stmt)).scalars().all()

    async def unit_name(self, unit_id: uuid.UUID) -> str | None:
        """A unit's name."""
        return await self.session.scalar(select(Unit.name).where(Unit.id == unit_id))
