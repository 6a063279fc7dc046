"""Reads and writes the category vocabulary."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.category import Category


class CategoryRepository:
    """The `categories` table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Category]:
        """Every class, retired ones too, top-level before their children, in order."""
        stmt = select(Category).order_by(
            Category.parent.is_not(None), Category.position, Category.code
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, code: str) -> Category | None:
        """The class with this code."""
        return await self.session.get(Category, code)

    def add(self, category: Category) -> None:
        """Stage a new class."""
        self.session.add(category)
