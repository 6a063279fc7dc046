"""Idempotency record storage and the per-key lock."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.idempotency import IdempotencyRecord


class IdempotencyRepository:
    """Reads, writes and locks idempotency records."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock(self, caller_id: uuid.UUID, key: str) -> bool:
        """Take the transaction-scoped lock of (caller, key); False if another request holds it."""
        stmt = select(
            func.pg_try_advisory_xact_lock(func.hashtextextended(f"{caller_id}:{key}", 0))
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def get(self, caller_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        """The stored response for the key, if any."""
        return await self.session.get(IdempotencyRecord, (caller_id, key))

    def add(self, record: IdempotencyRecord) -> None:
        """Stage a stored response."""
        self.session.add(record)

    async def purge_before(self, before: datetime) -> int:
        """Forget records created before `before`; returns how many."""
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
