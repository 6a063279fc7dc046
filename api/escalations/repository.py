"""Escalation storage."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import ColumnElement, insert, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.escalations.schemas import EscalationQuery
from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.case import Arrival, Case, Reader, hidden_case
from api.models.deadline import Deadline
from api.models.escalation import UNANSWERED_REASONS, AckLink, Escalation, EscalationStatus


class AckLinkRepository:
    """One-click acknowledgement links."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, link: AckLink) -> None:
        """Stage a link."""
        self.session.add(link)

    async def add_many(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Insert many links at once (their escalations must be flushed already)."""
        if rows:
            await self.session.execute(insert(AckLink), list(rows))

    async def get(self, token_hash: str) -> AckLink | None:
        """The link with this token hash, locked."""
        stmt = select(AckLink).where(AckLink.token_hash == token_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()


def _visible(reach: frozenset[uuid.UUID], official_id: uuid.UUID) -> ColumnElement[bool]:
    """Escalations of deadlines in the territory, and those that alerted the official (the
    discipline office sits outside the county's tree)."""
    in_territory = (
        select(Deadline.id)
        .where(Deadline.id == Escalation.deadline_id, among(Deadline.unit_id, reach))
        .exists()
    )
    return or_(in_territory, Escalation.recipients.contains([str(official_id)]))


class EscalationRepository:
    """Reads and writes escalations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, escalation: Escalation) -> None:
        """Stage a new escalation."""
        self.session.add(escalation)

    async def get(
        self,
        escalation_id: uuid.UUID,
        *,
        for_update: bool = False,
        visible_to: Reader | None = None,
    ) -> Escalation | None:
        """The escalation; locked when `for_update`; None when `visible_to` (the caller) is
        given and may not see it: outside their territory and not sent to them, or of a case
        that complains about them."""
        stmt = select(Escalation).where(Escalation.id == escalation_id)
        if visible_to is not None:
            stmt = stmt.where(not_(hidden_case(visible_to, Escalation.case_id)))
            if visible_to.reach is not None:
                stmt = stmt.where(_visible(visible_to.reach, visible_to.id))
        if for_update:
            stmt = stmt.with_for_update(of=Escalation)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest_open_for(self, official_ids: Sequence[uuid.UUID]) -> Escalation | None:
        """The newest unacknowledged escalation that notified one of these officials."""
        if not official_ids:
            return None
        stmt = (
            select(Escalation)
            .where(
                Escalation.status == EscalationStatus.open,
                or_(*(Escalation.recipients.contains([str(i)]) for i in official_ids)),
            )
            .order_by(Escalation.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_deadline(self, deadline_id: uuid.UUID) -> Sequence[Escalation]:
        """Every step of a deadline's chain so far, in order."""
        stmt = (
            select(Escalation)
            .where(Escalation.deadline_id == deadline_id)
            .order_by(Escalation.step)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def deadlines_with_step(
        self, deadline_ids: Sequence[uuid.UUID], step: int
    ) -> set[uuid.UUID]:
        """Which of these deadlines already have step `step` of their chain."""
        if not deadline_ids:
            return set()
        stmt = select(Escalation.deadline_id).where(
            among(Escalation.deadline_id, deadline_ids), Escalation.step == step
        )
        return set((await self.session.execute(stmt)).scalars())

    async def open_for_deadline(self, deadline_id: uuid.UUID) -> Sequence[Escalation]:
        """Unacknowledged escalations of a deadline, locked."""
        stmt = (
            select(Escalation)
            .where(
                Escalation.deadline_id == deadline_id,
                Escalation.status == EscalationStatus.open,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def cases(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Case]:
        """The cases whose deadlines escalate, by id (their number and title go in the texts)."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Case).where(among(Case.id, ids)))
        return {c.id: c for c in rows.scalars()}

    async def has_arrived(self, case_id: uuid.UUID, official_id: uuid.UUID) -> bool:
        """Whether the official has checked in on the case (an arrival chain ends there)."""
        stmt = (
            select(Arrival.id)
            .where(Arrival.case_id == case_id, Arrival.official_id == official_id)
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def list(
        self, query: EscalationQuery, reader: Reader
    ) -> tuple[list[Escalation], str | None]:
        """A page of the escalations the official may see (none of a case that complains
        about them), matching the query, newest first."""
        stmt = select(Escalation).where(not_(hidden_case(reader, Escalation.case_id)))
        if reader.reach is not None:
            stmt = stmt.where(_visible(reader.reach, reader.id))
        if query.unanswered is not None:
            silent = Escalation.reason.in_(UNANSWERED_REASONS)
            stmt = stmt.where(silent if query.unanswered else ~silent)
        return await fetch_page(self.session, stmt, Escalation, query)
