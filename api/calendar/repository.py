"""Storage of calendar overrides."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import utcnow
from api.models.calendar import CalendarOverride


class CalendarRepository:
    """Reads and writes calendar overrides."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def in_range(self, start: date, end: date) -> list[CalendarOverride]:
        """The overrides of the dates from `start` to `end`, both included, in date order."""
        stmt = (
            select(CalendarOverride)
            .where(CalendarOverride.day >= start, CalendarOverride.day <= end)
            .order_by(CalendarOverride.day)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def upsert(
        self, day: date, is_workday: bool, note: str | None, actor_id: uuid.UUID | None
    ) -> CalendarOverride:
        """Set the override of a date, replacing any earlier one."""
        values = {
            "is_workday": is_workday,
            "note": note,
            "updated_by": actor_id,
            "updated_at": utcnow(),
        }
        # One statement, so two admins setting the same date at once cannot collide on the key.
        stmt = (
            insert(CalendarOverride)
            .values(day=day, **values)
            .on_conflict_do_update(index_elements=[CalendarOverride.day], set_=values)
            .returning(CalendarOverride)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def delete(self, day: date) -> bool:
        """Remove the override of a date; whether there was one."""
        stmt = (
            delete(CalendarOverride)
            .where(CalendarOverride.day == day)
            .returning(CalendarOverride.day)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None
