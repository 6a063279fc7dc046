"""Audit trail storage: insert and read, never update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
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

    async def stranded_months(self) -> Sequence[date]:
        """The months of the rows in the default partition: dated where no month's partition
        was made (read from an index-less table that is empty but for such rows)."""
        found = await self.session.execute(
            text(
                "SELECT DISTINCT (date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai'))"
                "::date FROM audit_entries_default"
            )
        )
        return list(found.scalars())

    async def ensure_partitions(self, months: Sequence[date]) -> int:
        """Make the audit trail's partitions of these months where missing; returns how many
        were made, and moved into it the month's rows that had landed in the default partition.
        Making one locks the trail against inserts until the transaction ends, so
        it waits at most 2 s for the lock and else gives up quietly (a savepoint: the caller's
        transaction goes on; the next sweep tries again, months ahead of need)."""
        names = [f"audit_entries_{m:%Y_%m}" for m in months]
        missing = await self.session.execute(
            text(
                "SELECT count(*) FROM unnest(CAST(:names AS text[])) AS n "
                "WHERE to_regclass(n) IS NULL"
            ),
            {"names": names},
        )
        if not missing.scalar_one():
            return 0
        make = text(
            "SELECT count(*) FROM unnest(CAST(:days AS date[])) AS d "
            "WHERE audit_entries_ensure_partition(d)"
        )
        try:
            async with self.session.begin_nested():
                previous = (
                    await self.session.execute(text("SELECT current_setting('lock_timeout')"))
                ).scalar_one()
                await self.session.execute(text("SET LOCAL lock_timeout = '2s'"))
                made = (await self.session.execute(make, {"days": list(months)})).scalar_one()
                await self.session.execute(
                    text("SELECT set_config('lock_timeout', :previous, true)"),
                    {"previous": previous},
                )
        except DBAPIError:
            return 0
        return int(made)
