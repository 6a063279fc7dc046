"""The queries of a case search and of likely repeats, over `cases.search_tokens`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, Text, and_, desc, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from api.cases.search_tokens import Query
from api.kit.db import among
from api.models.case import Case, Reader, readable_by


def content_readable(reader_id: uuid.UUID | None, staff: bool) -> ColumnElement[bool]:
    """Cases whose content the reader may read: `Disclosure.reads_content` in SQL (any case
    not confidential; a confidential one for petition staff and the leaders named on it)."""
    if staff:
        return true()
    if reader_id is None:
        return Case.confidential.is_(False)
    return or_(
        Case.confidential.is_(False),
        Case.registered_by == reader_id,
        Case.leader_id == reader_id,
        Case.handler_id == reader_id,
        Case.owner_leader_id == reader_id,
        Case.confidential_readers.any_() == reader_id,
    )


def search_statement(
    query: Query, reader: Reader, *, staff: bool, limit: int, offset: int, max_ranked: int
) -> Select[tuple[uuid.UUID, str, str, str, datetime, bool, int]]:
    """Cases in the reader's reach, whose content they may read, holding every term of the
    query (in clear or, for names and addresses, hashed), best ranked first, then newest.

    The newest `max_ranked` matches are ranked (how many of the query's tokens the case holds,
    title bigrams counted again by their `t:` copy), not every match: a name or a rare word
    matches a few cases, found by the GIN index; a common word matches a tenth of the county,
    and those are best read newest first (PostgreSQL then walks `received_at` backwards and
    stops) than ranked all at a cost that grows with the county."""
    matches = [
        or_(
            Case.search_tokens.contains(literal(term.clear, ARRAY(Text))),
            Case.search_tokens.contains(literal(term.blinded, ARRAY(Text))),
        )
        for term in query.terms
    ]
    newest = (
        select(Case.id)
        .where(and_(*matches), readable_by(reader), content_readable(reader.id, staff))
        .order_by(Case.received_at.desc())
        .limit(max_ranked)
        .subquery("newest")
    )
    ranked = (
        func.unnest(literal(query.ranked, ARRAY(Text))).table_valued("tok").render_derived(name="q")
    )
    rank = (
        select(func.count())
        .select_from(ranked)
        .where(ranked.c.tok == Case.search_tokens.any_())
        .scalar_subquery()
        .label("rank")
    )
    return (
        select(
            Case.id,
            Case.number,
            Case.title,
            Case.status,
            Case.received_at,
            Case.confidential,
            rank,
        )
        .join(newest, newest.c.id == Case.id)
        .order_by(desc("rank"), Case.received_at.desc(), Case.id)
        .limit(limit)
        .offset(offset)
    )


class SearchRepository:
    """Runs the searches."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self,
        query: Query,
        reader: Reader,
        *,
        staff: bool,
        limit: int,
        offset: int,
        max_ranked: int,
    ) -> Sequence[Row[tuple[uuid.UUID, str, str, str, datetime, bool, int]]]:
        """A page of hits (see `search_statement`)."""
        if not query.terms:
            return []
        stmt = search_statement(
            query, reader, staff=staff, limit=limit, offset=offset, max_ranked=max_ranked
        )
        return (await self.session.execute(stmt)).all()

    async def texts(self, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Case]:
        """The cases of a page, to say where each hit matched."""
        if not case_ids:
            return {}
        rows = await self.session.execute(select(Case).where(among(Case.id, case_ids)))
        return {c.id: c for c in rows.scalars()}

    async def sharing(
        self,
        tokens: list[str],
        reader: Reader,
        *,
        staff: bool,
        origin_unit_id: uuid.UUID,
        received_from: datetime,
        received_to: datetime,
        exclude: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Case]:
        """The cases of this origin received in the window (in the reader's reach, content
        readable) sharing the most of `tokens`, most first: the candidates of a likely repeat.

        The tokens of each case of the town and window are joined to `tokens` by hash: a few
        thousand cases of one town and half a year, not the county's million."""
        if not tokens:
            return []
        theirs = (
            func.unnest(Case.search_tokens)
            .table_valued("tok")
            .render_derived(name="theirs")
            .lateral()
        )
        ours = (
            func.unnest(literal(tokens, ARRAY(Text)))
            .table_valued("tok")
            .render_derived(name="ours")
        )
        shared = func.count().label("shared")
        conditions = [
            Case.origin_unit_id == origin_unit_id,
            Case.received_at >= received_from,
            Case.received_at <= received_to,
            readable_by(reader),
            content_readable(reader.id, staff),
        ]
        if exclude is not None:
            conditions.append(Case.id != exclude)
        best = (
            select(Case.id, shared)
            .select_from(Case)
            .join(theirs, true())
            .join(ours, ours.c.tok == theirs.c.tok)
            .where(*conditions)
            .group_by(Case.id)
            .order_by(desc("shared"), Case.id)
            .limit(limit)
            .subquery()
        )
        rows = await self.session.execute(
            select(Case).join(best, best.c.id == Case.id).order_by(best.c.shared.desc())
        )
        return rows.scalars().all()

    async def reindex_batch(self, after: uuid.UUID | None, size: int) -> Sequence[Case]:
        """The next `size` cases by id after `after`, locked until the caller commits."""
        stmt = select(Case).order_by(Case.id).limit(size).with_for_update()
        if after is not None:
            stmt = stmt.where(Case.id > after)
        return (await self.session.execute(stmt)).scalars().all()
