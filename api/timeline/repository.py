"""Timeline storage: appending events to a case and reading them back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.kit.db import utcnow
from api.kit.uow import Slot, unit_of
from api.models.case import CaseEvent
from api.timeline.changes import mark_changed

STAGED_EVENTS: Slot[list[dict[str, Any]]] = Slot("timeline events to write at commit", list)


def _write_staged(session: Session) -> None:
    events = unit_of(session).get(STAGED_EVENTS)
    if events:
        session.flush()  # the cases they name first (a commit flushes only after this)
        session.connection().execute(insert(CaseEvent), events)


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
    ) -> uuid.UUID:
        """Append an event to the case's timeline (and mark the case for the figures: every
        change to a case leaves an event); returns its id.

        The event is written as the transaction commits, with the others it recorded, in one
        statement (issue 22: an ORM object each was an INSERT each); nothing reads a timeline
        back in the transaction that writes it."""
        mark_changed(self.session, (case_id,))
        unit = unit_of(self.session)
        unit.data_changed = True
        staged = unit.get(STAGED_EVENTS)
        if not staged:
            unit.before_commit(_write_staged)
        event_id = uuid.uuid4()
        staged.append(
            {
                "id": event_id,
                "case_id": case_id,
                "action": action,
                "actor_id": actor_id,
                "client": client,
                "data": data or {},
                "at": at or utcnow(),
            }
        )
        return event_id

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
