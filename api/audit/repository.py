"""Audit trail storage: insert and read, never update."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.schemas import AuditQuery
from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.audit import AuditEntry
from api.models.official import Official


class AuditRepository:
    """Appends to and reads the audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        """Stage an entry (written with the request's transaction)."""
        self.session.add(entry)

    async def list(
        self, query: AuditQuery, reach: frozenset[uuid.UUID] | None
    ) -> tuple[list[AuditEntry], str | None]:
        """A page of entries, newest first: of the officials of the units in `reach` (None:
        every entry, the anonymous and the worker's too)."""
        stmt = select(AuditEntry)
        if reach is not None:
            officials = select(Official.id).where(among(Official.unit_id, reach))
            stmt = stmt.where(AuditEntry.official_id.in_(officials))
        return await fetch_page(self.session, stmt, AuditEntry, query)
