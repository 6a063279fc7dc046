"""Storage of the screening register and the weekly rounds, and who owes a round."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.models.screening import ScreeningItem, ScreeningRound, ScreeningStatus
from api.models.unit import Unit, UnitLevel
from api.screening.schemas import ScreeningItemQuery, ScreeningRoundQuery

# Any constant shared by every sweeper and filer: one at a time opens round deadlines.
ROUND_DEADLINES_LOCK = 0x5C_2E_E1_14


class ScreeningRepository:
    """Reads and writes register entries and weekly rounds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: ScreeningItem | ScreeningRound) -> None:
        """Stage an entry or a round."""
        self.session.add(row)

    # --- the register ---------------------------------------------------------------------

    async def get_in_reach(
        self, item_id: uuid.UUID, reach: frozenset[uuid.UUID] | None, *, for_update: bool = False
    ) -> ScreeningItem | None:
        """The entry if its unit lies in `reach` (None: everywhere); locked when asked."""
        stmt = select(ScreeningItem).where(ScreeningItem.id == item_id)
        if reach is not None:
            stmt = stmt.where(among(ScreeningItem.unit_id, reach))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def ids_in_reach(
        self, ids: Collection[uuid.UUID], reach: frozenset[uuid.UUID] | None
    ) -> set[uuid.UUID]:
        """Those of `ids` that are entries in `reach`."""
        if not ids:
            return set()
        stmt = select(ScreeningItem.id).where(among(ScreeningItem.id, ids))
        if reach is not None:
            stmt = stmt.where(among(ScreeningItem.unit_id, reach))
        return set((await self.session.execute(stmt)).scalars())

    async def list_items(
        self, query: ScreeningItemQuery, reach: frozenset[uuid.UUID] | None
    ) -> tuple[list[ScreeningItem], str | None]:
        """A page of the entries in `reach` matching the query, newest first."""
        stmt = select(ScreeningItem)
        if reach is not None:
            stmt = stmt.where(among(ScreeningItem.unit_id, reach))
        return await fetch_page(self.session, stmt, ScreeningItem, query)

    # --- weekly rounds --------------------------------------------------------------------

    async def get_round(self, official_id: uuid.UUID, week: date) -> ScreeningRound | None:
        """The official's round for the week, if filed."""
        stmt = select(ScreeningRound).where(
            ScreeningRound.official_id == official_id, ScreeningRound.week == week
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_rounds(
        self, query: ScreeningRoundQuery, reach: frozenset[uuid.UUID] | None
    ) -> tuple[list[ScreeningRound], str | None]:
        """A page of the rounds filed for units in `reach`, newest first."""
        stmt = select(ScreeningRound)
        if reach is not None:
            stmt = stmt.where(among(ScreeningRound.unit_id, reach))
        return await fetch_page(self.session, stmt, ScreeningRound, query)

    async def try_lock_round_deadlines(self) -> bool:
        """Take the transaction lock of round-deadline opening; False if another has it."""
        stmt = select(func.pg_try_advisory_xact_lock(ROUND_DEADLINES_LOCK))
        return bool((await self.session.execute(stmt)).scalar_one())

    async def lock_round_deadlines(self) -> None:
        """Take the same lock, waiting for a sweeper that holds it."""
        await self.session.execute(select(func.pg_advisory_xact_lock(ROUND_DEADLINES_LOCK)))

    async def officials_owing_round(
        self, roles: Collection[Role], levels: Collection[UnitLevel], week_start: datetime
    ) -> Sequence[Official]:
        """Active officials of `roles` in units of `levels` without the round deadline of
        the week starting at `week_start`."""
        if not roles or not levels:
            return []
        has_deadline = exists().where(
            and_(
                Deadline.official_id == Official.id,
                Deadline.kind == DeadlineKind.screening_round,
                Deadline.starts_at == week_start,
            )
        )
        stmt = (
            select(Official)
            .join(Unit, Unit.id == Official.unit_id)
            .where(
                Official.role.in_(list(roles)),
                Official.active.is_(True),
                Unit.level.in_(list(levels)),
                ~has_deadline,
            )
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def round_deadline(self, official_id: uuid.UUID, week_start: datetime) -> Deadline | None:
        """The official's round deadline of the week starting at `week_start`, locked."""
        stmt = (
            select(Deadline)
            .where(
                Deadline.official_id == official_id,
                Deadline.kind == DeadlineKind.screening_round,
                Deadline.starts_at == week_start,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class ScreeningFiguresRepository:
    """Counts for the monthly roll-up and the dashboard."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def screened_states(
        self, unit_ids: Collection[uuid.UUID], first: date, last: date, now: datetime
    ) -> list[tuple[uuid.UUID, str, str, bool, int]]:
        """(unit, risk level, status, open past due now, count) of the entries screened on
        the local days `first`..`last`."""
        overdue = and_(ScreeningItem.status == ScreeningStatus.open, ScreeningItem.due_at < now)
        stmt = (
            select(
                ScreeningItem.unit_id,
                ScreeningItem.risk_level,
                ScreeningItem.status,
                overdue.label("overdue"),
                func.count(),
            )
            .where(
                among(ScreeningItem.unit_id, unit_ids),
                ScreeningItem.screened_on.between(first, last),
            )
            .group_by(
                ScreeningItem.unit_id, ScreeningItem.risk_level, ScreeningItem.status, overdue
            )
        )
        rows = await self.session.execute(stmt)
        return [(u, r, s, bool(o), int(n)) for u, r, s, o, n in rows]

    async def open_now(
        self, unit_ids: Collection[uuid.UUID], now: datetime
    ) -> list[tuple[str, bool, int]]:
        """(risk level, past due, count) of the open entries."""
        overdue = ScreeningItem.due_at < now
        stmt = (
            select(ScreeningItem.risk_level, overdue.label("overdue"), func.count())
            .where(
                among(ScreeningItem.unit_id, unit_ids),
                ScreeningItem.status == ScreeningStatus.open,
            )
            .group_by(ScreeningItem.risk_level, overdue)
        )
        rows = await self.session.execute(stmt)
        return [(r, bool(o), int(n)) for r, o, n in rows]

    async def ended_between(
        self, unit_ids: Collection[uuid.UUID], start: datetime, end: datetime
    ) -> dict[str, int]:
        """Entries that stopped being open in [start, end), by the status they went to."""
        stmt = (
            select(ScreeningItem.status, func.count())
            .where(
                among(ScreeningItem.unit_id, unit_ids),
                ScreeningItem.closed_at >= start,
                ScreeningItem.closed_at < end,
            )
            .group_by(ScreeningItem.status)
        )
        return {s: int(n) for s, n in await self.session.execute(stmt)}

    async def round_deadlines(
        self, unit_ids: Collection[uuid.UUID], start: datetime, end: datetime
    ) -> list[tuple[uuid.UUID, DeadlineStatus, bool, int]]:
        """(unit, status, filed, count) of the round deadlines due in [start, end), cancelled
        ones left out."""
        filed = exists().where(ScreeningRound.deadline_id == Deadline.id)
        stmt = (
            select(Deadline.unit_id, Deadline.status, filed.label("filed"), func.count())
            .where(
                Deadline.kind == DeadlineKind.screening_round,
                among(Deadline.unit_id, unit_ids),
                Deadline.due_at >= start,
                Deadline.due_at < end,
                Deadline.status != DeadlineStatus.cancelled,
            )
            .group_by(Deadline.unit_id, Deadline.status, filed)
        )
        rows = await self.session.execute(stmt)
        return [(u, s, bool(f), int(n)) for u, s, f, n in rows]
