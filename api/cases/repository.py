"""Case, timeline and arrival storage."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, not_, null, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.cases.schemas import CaseQuery
from api.kit.db import among, utcnow
from api.kit.pagination import fetch_page
from api.models.case import (
    DONE_STATUSES,
    Arrival,
    Case,
    CaseNumberCounter,
    CaseUnit,
    Channel,
    Reader,
    complains_about,
    readable_by,
)
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.onsite import OnsiteDuty


class CaseRepository:
    """Reads and writes cases and hands out their numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_in_reach(
        self, case_id: uuid.UUID, reader: Reader, *, for_update: bool = False
    ) -> Case | None:
        """The case if the reader may see it (None otherwise: no existence leak): in their
        territory and not complaining about them (`readable_by`)."""
        stmt = select(Case).where(Case.id == case_id, readable_by(reader))
        if for_update:
            stmt = stmt.with_for_update(of=Case)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def about(self, reader: Reader, case_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Those of the cases that complain about the reader (被反映人): figures may count
        them, but never name them to the reader."""
        if not case_ids:
            return set()
        stmt = select(Case.id).where(among(Case.id, case_ids), complains_about(reader))
        return set((await self.session.execute(stmt)).scalars())

    async def by_reference(self, office_id: uuid.UUID, reference: str) -> uuid.UUID | None:
        """The case a higher office handed down under this reference number, if any."""
        stmt = select(Case.id).where(
            Case.higher_office_id == office_id, Case.higher_reference == reference
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_reference(self, office_id: uuid.UUID, reference: str) -> None:
        """Hold the office's reference number for this transaction: one of two transfers of
        it waits for the other's case, then finds it."""
        key = func.hashtextextended(f"{office_id}:{reference}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        """The case with this id; locked for this transaction when `for_update`."""
        if for_update:
            stmt = select(Case).where(Case.id == case_id).with_for_update()
            return (await self.session.execute(stmt)).scalar_one_or_none()
        return await self.session.get(Case, case_id)

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Case]:
        """Cases by id."""
        if not ids:
            return {}
        rows = await self.session.execute(select(Case).where(among(Case.id, ids)))
        return {c.id: c for c in rows.scalars()}

    async def related_on_intake(
        self,
        *,
        county_id: uuid.UUID,
        origin_unit_id: uuid.UUID,
        category: str,
        identities: list[dict[str, str]],
        since: datetime,
        day_start: datetime,
        day_end: datetime,
        grid: bool,
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """In one query, what a new registration may repeat or duplicate:

        - the most recent case of the same category since `since` whose petitioners include
          one of `identities` (each `{"id_number_hash": …}` or `{"phone_hash": …}`): 重复信访;
        - a case of the same origin and category received between `day_start` and `day_end`,
          registered through the grid (`grid=True`) or through a desk (`grid=False`).
        """
        channel_test = Case.channel == Channel.grid if grid else Case.channel != Channel.grid
        duplicate = (
            select(Case.id)
            .where(
                Case.origin_unit_id == origin_unit_id,
                Case.category == category,
                Case.received_at >= day_start,
                Case.received_at < day_end,
                channel_test,
            )
            .order_by(Case.received_at)
            .limit(1)
            .scalar_subquery()
        )
        repeat = (
            select(Case.id)
            .where(
                Case.county_id == county_id,
                Case.category == category,
                Case.received_at >= since,
                or_(*(Case.petitioners.contains([identity]) for identity in identities)),
            )
            .order_by(Case.received_at.desc())
            .limit(1)
            .scalar_subquery()
            if identities  # nobody to recognise (no ID or phone number given)
            else null()
        )
        row = (await self.session.execute(select(repeat, duplicate))).one()
        return row[0], row[1]

    def add(self, case: Case) -> None:
        """Stage a new case."""
        self.session.add(case)

    async def next_number(self, county_id: uuid.UUID, year: int) -> int:
        """The next sequence number for the county and year; atomic under concurrent intake."""
        stmt = (
            insert(CaseNumberCounter)
            .values(county_id=county_id, year=year, last=1)
            .on_conflict_do_update(
                index_elements=[CaseNumberCounter.county_id, CaseNumberCounter.year],
                set_={"last": CaseNumberCounter.last + 1},
            )
            .returning(CaseNumberCounter.last)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def list(
        self,
        query: CaseQuery,
        reader: Reader,
        petitioner: dict[str, str] | None = None,
    ) -> tuple[list[Case], str | None]:
        """A page of the cases the reader may see matching the query, newest first; with
        `petitioner` (keyed hashes, e.g. `{"id_number_hash": …}`), only the cases one of whose
        petitioners has all of them."""
        stmt = select(Case).where(readable_by(reader))
        if query.is_repeat is not None:
            stmt = stmt.where(
                Case.repeat_of_id.is_not(None) if query.is_repeat else Case.repeat_of_id.is_(None)
            )
        if query.category is not None:
            stmt = stmt.where(
                or_(
                    Case.category == query.category,
                    Case.category.startswith(query.category + ".", autoescape=True),
                )
            )
        if petitioner is not None:
            stmt = stmt.where(Case.petitioners.contains([petitioner]))
        if query.received_from is not None:
            stmt = stmt.where(Case.received_at >= query.received_from)
        if query.received_to is not None:
            stmt = stmt.where(Case.received_at < query.received_to)
        if query.overdue is not None:
            late = (
                select(Deadline.id)
                .where(
                    Deadline.case_id == Case.id,
                    Deadline.kind == DeadlineKind.handling,
                    or_(
                        Deadline.status == DeadlineStatus.missed,
                        and_(Deadline.status == DeadlineStatus.open, Deadline.due_at < utcnow()),
                    ),
                )
                .exists()
            )
            overdue = and_(Case.status.not_in(DONE_STATUSES), late)
            stmt = stmt.where(overdue if query.overdue else not_(overdue))
        return await fetch_page(self.session, stmt, Case, query)


class CaseUnitRepository:
    """The units handling a case jointly."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_case(self, case_id: uuid.UUID) -> Sequence[CaseUnit]:
        """The lead first, then contributors in the order they joined."""
        stmt = (
            select(CaseUnit)
            .where(CaseUnit.case_id == case_id)
            .order_by(CaseUnit.role.desc(), CaseUnit.added_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def set_lead(self, case_id: uuid.UUID, unit_id: uuid.UUID) -> None:
        """Make `unit_id` the case's only lead unit."""
        await self.session.execute(
            delete(CaseUnit).where(CaseUnit.case_id == case_id, CaseUnit.role == "lead")
        )
        await self.session.execute(
            delete(CaseUnit).where(CaseUnit.case_id == case_id, CaseUnit.unit_id == unit_id)
        )
        self.session.add(CaseUnit(case_id=case_id, unit_id=unit_id, role="lead"))
        await self.session.flush()

    async def add_contributor(self, case_id: uuid.UUID, unit_id: uuid.UUID) -> None:
        """Add a contributing unit (idempotent)."""
        await self.session.execute(
            insert(CaseUnit)
            .values(case_id=case_id, unit_id=unit_id, role="contributor", added_at=utcnow())
            .on_conflict_do_nothing()
        )

    async def clear(self, case_id: uuid.UUID) -> None:
        """Forget every handling unit (the assignment was objected to)."""
        await self.session.execute(delete(CaseUnit).where(CaseUnit.case_id == case_id))


class ArrivalRepository:
    """Check-ins at the scene."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, arrival: Arrival) -> None:
        """Stage a check-in."""
        self.session.add(arrival)


class OnsiteDutyRepository:
    """On-site reception duties (赴现场接待)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, duty: OnsiteDuty) -> None:
        """Stage a duty."""
        self.session.add(duty)

    async def for_case(self, case_id: uuid.UUID) -> OnsiteDuty | None:
        """The case's duty, if it has one."""
        stmt = select(OnsiteDuty).where(OnsiteDuty.case_id == case_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()
