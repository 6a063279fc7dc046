"""Audit trail storage: insert and read, never update."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.schemas import AuditQuery
from api.kit.pagination import fetch_page
from api.models.audit import AuditEntry


class AuditRepository:
    """Appends to and reads the audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        """Stage an entry (written with the request's transaction)."""
        self.session.add(entry)

    async def list(self, query: AuditQuery) -> tuple[list[AuditEntry], str | None]:
        """A page of entries, newest first."""
        return await fetch_page(self.session, select(AuditEntry), AuditEntry, query)
