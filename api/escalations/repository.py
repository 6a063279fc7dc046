"""Escalation storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.escalations.models import Escalation, EscalationStatus
from api.escalations.schemas import EscalationQuery
from api.pagination import fetch_page


class EscalationRepository:
    """Reads and writes escalations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, escalation: Escalation) -> None:
        """Stage a new escalation."""
        self.session.add(escalation)

    async def get(self, escalation_id: uuid.UUID, *, for_update: bool = False) -> Escalation | None:
        """The escalation; locked when `for_update`."""
        stmt = select(Escalation).where(Escalation.id == escalation_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_deadline(self, deadline_id: uuid.UUID) -> Sequence[Escalation]:
        """Every step of a deadline's chain so far, in order."""
        stmt = (
            select(Escalation)
            .where(Escalation.deadline_id == deadline_id)
            .order_by(Escalation.step)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_for_deadline(self, deadline_id: uuid.UUID) -> Sequence[Escalation]:
        """Unacknowledged escalations of a deadline, locked."""
        stmt = (
            select(Escalation)
            .where(
                Escalation.deadline_id == deadline_id,
                Escalation.status == EscalationStatus.open,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def list(self, query: EscalationQuery) -> tuple[list[Escalation], str | None]:
        """A page of escalations matching the query, newest first."""
        return await fetch_page(self.session, select(Escalation), Escalation, query)
