"""Storage of the policy document."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import utcnow
from api.models.policy import PolicyDocument

CURRENT = 1


class PolicyRepository:
    """Reads and writes the single policy row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, for_update: bool = False) -> PolicyDocument | None:
        """The stored document, if any."""
        stmt = select(PolicyDocument).where(PolicyDocument.id == CURRENT)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def version(self) -> int | None:
        """The stored document's version, if any (without reading the document)."""
        stmt = select(PolicyDocument.version).where(PolicyDocument.id == CURRENT)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save(self, document: dict[str, Any], actor_id: uuid.UUID | None) -> PolicyDocument:
        """Replace the document, bumping its version."""
        row = await self.get(for_update=True)
        if row is None:
            row = PolicyDocument(id=CURRENT, version=1, document=document, updated_by=actor_id)
            self.session.add(row)
        else:
            row.version += 1
            row.document = document
            row.updated_at = utcnow()
            row.updated_by = actor_id
        await self.session.flush()
        return row
