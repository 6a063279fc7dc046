"""Deadline storage."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.deadlines.schemas import DeadlineQuery
from api.kit.db import ROWS_NOTED, among, note_rows
from api.kit.pagination import fetch_page
from api.models.case import Reader, hidden_case
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus


class DeadlineRepository:
    """Reads, locks and writes deadlines."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, deadline: Deadline) -> None:
        """Stage a new deadline."""
        self.session.add(deadline)

    async def get(
        self, deadline_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> Deadline | None:
        """The deadline; locked for this transaction when `for_update` (None, without
        waiting, when `skip_locked` and another transaction holds it)."""
        stmt = select(Deadline).where(Deadline.id == deadline_id)
        if for_update:
            stmt = stmt.with_for_update(skip_locked=skip_locked)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_case(self, case_id: uuid.UUID) -> Sequence[Deadline]:
        """All deadlines of a case, earliest due first."""
        stmt = select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.due_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def open_arrivals_of(
        self, case_id: uuid.UUID, official_id: uuid.UUID
    ) -> Sequence[Deadline]:
        """The official's arrival deadlines on a case, locked, whatever their status."""
        stmt = (
            select(Deadline)
            .where(
                Deadline.case_id == case_id,
                Deadline.official_id == official_id,
                Deadline.kind == DeadlineKind.arrival,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open_of_case(
        self, case_id: uuid.UUID, kinds: Collection[DeadlineKind]
    ) -> Sequence[Deadline]:
        """The case's open deadlines of the given kinds, locked."""
        stmt = (
            select(Deadline)
            .where(
                Deadline.case_id == case_id,
                Deadline.status == DeadlineStatus.open,
                Deadline.kind.in_(list(kinds)),
            )
            .order_by(Deadline.due_at)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def flag_overdue_missed(self, now: datetime, limit: int) -> Sequence[Deadline]:
        """Mark up to `limit` open deadlines past due missed in one statement (skipping rows
        another transaction holds); returns them, oldest due first."""
        claimed = (
            select(Deadline.id)
            .where(Deadline.status == DeadlineStatus.open, Deadline.due_at <= now)
            .order_by(Deadline.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(Deadline)
            .where(Deadline.id.in_(claimed))
            .values(status=DeadlineStatus.missed, closed_at=now)
            .returning(Deadline)
            .execution_options(
                synchronize_session=False, populate_existing=True, **{ROWS_NOTED: True}
            )
        )
        flagged = (await self.session.execute(stmt)).scalars().all()
        note_rows(self.session, flagged)  # their counties' ETags change, not everybody's
        return sorted(flagged, key=lambda d: d.due_at)

    async def lock_many(self, ids: Collection[uuid.UUID]) -> Sequence[Deadline]:
        """These deadlines, locked in id order (so two batches cannot deadlock)."""
        if not ids:
            return []
        stmt = (
            select(Deadline).where(among(Deadline.id, ids)).order_by(Deadline.id).with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def list(self, query: DeadlineQuery, reader: Reader) -> tuple[list[Deadline], str | None]:
        """A page of the reader's territory's deadlines matching the query, newest first;
        none of a case that complains about the reader."""
        stmt = select(Deadline).where(not_(hidden_case(reader, Deadline.case_id)))
        if reader.reach is not None:
            stmt = stmt.where(among(Deadline.unit_id, reader.reach))
        if query.flag is not None:
            stmt = stmt.where(Deadline.flags.contains([query.flag]))
        return await fetch_page(self.session, stmt, Deadline, query)
