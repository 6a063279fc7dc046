"""The stored petitioners of every case, for re-sealing their numbers under new keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case


class PetitionerRepository:
    """Reads and rewrites the petitioners stored with the cases."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_petitioners_after(
        self, after: uuid.UUID | None, limit: int
    ) -> Sequence[tuple[uuid.UUID, Sequence[dict[str, Any]]]]:
        """The petitioners of the next `limit` cases by id after `after`, those cases locked
        until the transaction ends (FOR NO KEY UPDATE: rows that refer to a case, such as its
        deadlines and events, can still be written meanwhile)."""
        stmt = (
            select(Case.id, Case.petitioners)
            .order_by(Case.id)
            .limit(limit)
            .with_for_update(key_share=True)
        )
        if after is not None:
            stmt = stmt.where(Case.id > after)
        rows = await self.session.execute(stmt)
        return [(case_id, list(items)) for case_id, items in rows.all()]

    async def set_petitioners(self, case_id: uuid.UUID, items: Sequence[dict[str, Any]]) -> None:
        """Replace a case's stored petitioners as they are (re-encrypted), keeping `updated_at`:
        nothing a client syncs on has changed."""
        await self.session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(petitioners=list(items), updated_at=Case.updated_at)
            .execution_options(synchronize_session=False)
        )
