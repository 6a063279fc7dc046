"""Outbox rows."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.kit.db import among
from api.models.outbox import OutboxMessage


class OutboxRepository:
    """Reads and marks outbox messages."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def insert_now(session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Insert outbox rows in one statement, from inside the synchronous commit (the unit
        of work's before-commit writes): Core, not ORM objects, as nothing reads them back in
        the transaction."""
        session.connection().execute(insert(OutboxMessage), list(rows))

    async def claim_undispatched(self, older_than: datetime, limit: int) -> Sequence[OutboxMessage]:
        """Undispatched messages created before `older_than`, locked for this transaction."""
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at < older_than)
            .order_by(OutboxMessage.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def undispatched(self) -> tuple[int, datetime | None]:
        """How many messages are not yet handed to Redis, and when the oldest was made."""
        stmt = select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.dispatched_at.is_(None)
        )
        count, oldest = (await self.session.execute(stmt)).one()
        return int(count), oldest

    async def mark_dispatched(self, ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Note that these messages reached Redis."""
        if ids:
            await self.session.execute(
                update(OutboxMessage)
                .where(
                    # one array parameter: one prepared statement whatever the count
                    OutboxMessage.id == any_(bindparam("ids", list(ids), type_=ARRAY(Uuid))),
                    OutboxMessage.dispatched_at.is_(None),
                )
                .values(dispatched_at=at)
            )

    async def undispatch_waiting(
        self, now: datetime, rerunnable: Collection[str], since: datetime
    ) -> int:
        """Mark dispatched messages undispatched again when their job may still have been
        waiting in Redis: deferred past `now`, or of a `rerunnable` kind (running twice is
        harmless) and recorded since `since`. Returns how many."""
        stmt = (
            update(OutboxMessage)
            .where(
                OutboxMessage.dispatched_at.is_not(None),
                or_(
                    OutboxMessage.defer_until > now,
                    and_(
                        OutboxMessage.job.in_(list(rerunnable)), OutboxMessage.created_at >= since
                    ),
                ),
            )
            .values(dispatched_at=None)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_handed_out(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` messages handed to Redis, recorded before `before` and, if
        deferred, due before it too (a job still waiting its time keeps its row: the Redis-loss
        recovery hands it out again). Returns how many. Read by `ix_outbox_purge`."""
        doomed = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.dispatched_at.is_not(None),
                func.greatest(OutboxMessage.created_at, OutboxMessage.defer_until) < before,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(doomed))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def handed_out_since(
        self, since: datetime, jobs: Collection[str]
    ) -> Sequence[tuple[uuid.UUID, str]]:
        """(row id, job id) of the messages of these `jobs` handed to Redis since `since`."""
        stmt = select(OutboxMessage.id, OutboxMessage.job_id).where(
            OutboxMessage.dispatched_at >= since, OutboxMessage.job.in_(list(jobs))
        )
        return [(row_id, job_id) for row_id, job_id in (await self.session.execute(stmt)).all()]

    async def lock_many(self, ids: Collection[uuid.UUID]) -> Sequence[OutboxMessage]:
        """These messages, locked for this transaction (skipping those another holds)."""
        if not ids:
            return []
        stmt = (
            select(OutboxMessage)
            .where(among(OutboxMessage.id, ids))
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_handed_out_again(self, ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Note that these messages reached Redis again, at `at`."""
        if ids:
            await self.session.execute(
                update(OutboxMessage).where(among(OutboxMessage.id, ids)).values(dispatched_at=at)
            )
