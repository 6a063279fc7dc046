"""The notices' rows and their numbers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.pagination import fetch_page
from api.models.case import Case, Reader, readable_by
from api.models.notice import Notice, NoticeCounter
from api.notices.schemas import NoticeQuery


class NoticeRepository:
    """Reads and writes notices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, notice: Notice) -> None:
        """Stage a new notice."""
        self.session.add(notice)

    async def get(self, notice_id: uuid.UUID, *, for_update: bool = False) -> Notice | None:
        """A notice by id (the caller checks that its case is in reach)."""
        stmt = select(Notice).where(Notice.id == notice_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_case(self, case_id: uuid.UUID) -> Sequence[Notice]:
        """The notices of a case, in the order they were issued."""
        stmt = (
            select(Notice)
            .where(Notice.case_id == case_id)
            .order_by(Notice.issued_at, Notice.kind, Notice.version)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def list(
        self, query: NoticeQuery, reader: Reader, now: datetime
    ) -> tuple[list[Notice], str | None]:
        """A page of the notices of cases the reader may see, newest first."""
        stmt = select(Notice).join(Case, Case.id == Notice.case_id).where(readable_by(reader))
        if query.lapse is not None:
            stmt = stmt.where(Notice.superseded_at.is_(None))
            if query.lapse == "unserved":
                stmt = stmt.where(Notice.served_at.is_(None), Notice.due_at < now)
            else:
                stmt = stmt.where(Notice.served_at.is_not(None), Notice.proof_at.is_(None))
        return await fetch_page(self.session, stmt, Notice, query)

    async def next_number(self, county_id: uuid.UUID, year: int, kind: str) -> int:
        """The next number of this kind of notice in the county and year (atomic)."""
        stmt = (
            insert(NoticeCounter)
            .values(county_id=county_id, year=year, kind=kind, last=1)
            .on_conflict_do_update(
                index_elements=[NoticeCounter.county_id, NoticeCounter.year, NoticeCounter.kind],
                set_={"last": NoticeCounter.last + 1},
            )
            .returning(NoticeCounter.last)
        )
        return int((await self.session.execute(stmt)).scalar_one())
