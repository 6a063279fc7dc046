"""Reads and writes the registry of higher offices."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.higher_offices.schemas import HigherOfficeQuery
from api.kit.pagination import fetch_page
from api.models.higher_office import HigherOffice


class HigherOfficeRepository:
    """The registry of higher offices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, office_id: uuid.UUID) -> HigherOffice | None:
        """The office with this id."""
        return await self.session.get(HigherOffice, office_id)

    async def by_code(self, code: str) -> HigherOffice | None:
        """The office with this code."""
        stmt = select(HigherOffice).where(HigherOffice.code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, office: HigherOffice) -> None:
        """Stage a new office."""
        self.session.add(office)

    async def list(self, query: HigherOfficeQuery) -> tuple[list[HigherOffice], str | None]:
        """A page of offices matching the query, newest first."""
        return await fetch_page(self.session, select(HigherOffice), HigherOffice, query)
