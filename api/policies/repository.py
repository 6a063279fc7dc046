"""Storage of the policy: the deployment's document, the units' overrides and the history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among, utcnow
from api.kit.pagination import ListQuery, fetch_page
from api.models.policy import PolicyChange, PolicyDocument, PolicyOverride

CURRENT = 1


class PolicyRepository:
    """Reads and writes the policy's rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, *, for_update: bool = False) -> PolicyDocument | None:
        """The deployment's document row, if any."""
        stmt = select(PolicyDocument).where(PolicyDocument.id == CURRENT)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def version(self) -> int | None:
        """The policy's generation (without reading any document)."""
        stmt = select(PolicyDocument.version).where(PolicyDocument.id == CURRENT)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def overrides(self) -> Sequence[PolicyOverride]:
        """Every unit's override (a deployment keeps a few hundred at most)."""
        return (await self.session.execute(select(PolicyOverride))).scalars().all()

    async def next_generation(self, actor_id: uuid.UUID | None) -> PolicyDocument:
        """Lock the document row and bump the generation (creating the row, holding the
        built-in defaults, on the first change): changes to the policy are serialised."""
        row = await self.get(for_update=True)
        if row is None:
            row = PolicyDocument(id=CURRENT, version=1, document=None, updated_by=actor_id)
            self.session.add(row)
        else:
            row.version += 1
            row.updated_at = utcnow()
            row.updated_by = actor_id
        await self.session.flush()
        return row

    async def save_override(
        self, unit_id: uuid.UUID, document: dict[str, Any], version: int, actor_id: uuid.UUID | None
    ) -> PolicyOverride:
        """Set a unit's override (replacing the one it had)."""
        row = await self.session.get(PolicyOverride, unit_id)
        if row is None:
            row = PolicyOverride(
                unit_id=unit_id, document=document, version=version, updated_by=actor_id
            )
            self.session.add(row)
        else:
            row.document = document
            row.version = version
            row.updated_at = utcnow()
            row.updated_by = actor_id
        await self.session.flush()
        return row

    async def drop_override(self, unit_id: uuid.UUID) -> bool:
        """Remove a unit's override; whether it had one."""
        result = await self.session.execute(
            delete(PolicyOverride).where(PolicyOverride.unit_id == unit_id)
        )
        return bool(getattr(result, "rowcount", 0))

    def record_change(
        self,
        version: int,
        unit_id: uuid.UUID | None,
        document: dict[str, Any] | None,
        actor_id: uuid.UUID | None,
    ) -> None:
        """Append a change to the history."""
        self.session.add(
            PolicyChange(version=version, unit_id=unit_id, document=document, changed_by=actor_id)
        )

    async def changes(
        self, query: ListQuery, units: frozenset[uuid.UUID] | None, *, deployment: bool
    ) -> tuple[list[PolicyChange], str | None]:
        """A page of the history, newest first: changes of `units` (None: every unit), and of
        the deployment's document when `deployment`."""
        stmt = select(PolicyChange)
        if units is not None:
            wanted = among(PolicyChange.unit_id, units)
            stmt = stmt.where(wanted | PolicyChange.unit_id.is_(None) if deployment else wanted)
        elif not deployment:
            stmt = stmt.where(PolicyChange.unit_id.is_not(None))
        return await fetch_page(self.session, stmt, PolicyChange, query)
