"""Case, timeline and arrival storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.cases.models import (
    Arrival,
    Case,
    CaseEvent,
    CaseNumberCounter,
)
from api.cases.schemas import CaseQuery
from api.pagination import fetch_page


class CaseRepository:
    """Reads and writes cases and hands out their numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID) -> Case | None:
        """The case with this id."""
        return await self.session.get(Case, case_id)

    def add(self, case: Case) -> None:
        """Stage a new case."""
        self.session.add(case)

    async def next_number(self, county_id: uuid.UUID, year: int) -> int:
        """The next sequence number for the county and year; atomic under concurrent intake."""
        stmt = (
            insert(CaseNumberCounter)
            .values(county_id=county_id, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[CaseNumberCounter.county_id, CaseNumberCounter.year],
                set_={"last": CaseNumberCounter.last + 1},
            )
            .returning(CaseNumberCounter.last)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def list(self, query: CaseQuery) -> tuple[list[Case], str | None]:
        """A page of cases matching the query, newest first."""
        return await fetch_page(self.session, select(Case), Case, query)


class CaseEventRepository:
    """The case timeline."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        case_id: uuid.UUID,
        action: str,
        *,
        actor_id: uuid.UUID | None = None,
        client: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> CaseEvent:
        """Append an event to the case's timeline."""
        event = CaseEvent(
            case_id=case_id, action=action, actor_id=actor_id, client=client, data=data or {}
        )
        if at is not None:
            event.at = at
        self.session.add(event)
        return event

    async def for_case(self, case_id: uuid.UUID) -> Sequence[CaseEvent]:
        """The case's events in the order they happened."""
        stmt = (
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.at, CaseEvent.seq)
        )
        return (await self.session.execute(stmt)).scalars().all()


class ArrivalRepository:
    """Check-ins at the scene."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, arrival: Arrival) -> None:
        """Stage a check-in."""
        self.session.add(arrival)
