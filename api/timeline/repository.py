"""Timeline storage: appending events to a case and reading them back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import CaseEvent
from api.timeline.changes import mark_changed


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
        """Append an event to the case's timeline (and mark the case for the figures: every
        change to a case leaves an event)."""
        mark_changed(self.session, (case_id,))
        event = CaseEvent(
            case_id=case_id, action=action, actor_id=actor_id, client=client, data=data or {}
        )
        if at is not None:
            event.at = at
        self.session.add(event)
        return event

    async def record_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append many events at once (each row: id, case_id, action, actor_id, client, at,
        data), as a batch of escalations or flags does."""
        mark_changed(self.session, {row["case_id"] for row in rows})
        if rows:
            await self.session.execute(insert(CaseEvent), list(rows))

    async def for_case(self, case_id: uuid.UUID) -> Sequence[CaseEvent]:
        """The case's events in the order they happened."""
        stmt = (
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.at, CaseEvent.seq)
        )
        return (await self.session.execute(stmt)).scalars().all()
