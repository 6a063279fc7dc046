"""What the veto and the scores are computed from: units, collective visits, the deadlines,
timeline events and registers the rules read (each through the models of its own domain).
Every query is one statement for the whole scope and year, never one per case."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.kit.db import among, id_array
from api.models.case import Case, CaseEvent, CaseSource, Channel, LodgedLevel, Outcome
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.reception import RosterEntry
from api.models.screening import ScreeningItem, ScreeningStatus
from api.models.unit import Unit

# The timeline action of 退回重办 (the action's name in the case's action table).
RETURN_FOR_REHANDLING = "return_for_rehandling"


@dataclass(frozen=True)
class Visit:
    """A collective visit as the assessment sees it."""

    id: uuid.UUID
    number: str
    origin_unit_id: uuid.UUID
    lodged_unit_id: uuid.UUID | None
    assigned_unit_id: uuid.UUID | None
    lodged_level: LodgedLevel
    is_repeat: bool
    received_at: datetime
    channel: Channel
    source: CaseSource


@dataclass(frozen=True)
class CaseTraits:
    """What a rule's case filter reads of a case, and its number to name it."""

    number: str
    lodged_level: LodgedLevel
    channel: Channel
    source: CaseSource
    is_collective: bool


@dataclass(frozen=True)
class DeadlineFact:
    """A deadline's outcome, enough to judge and trace a deduction."""

    id: uuid.UUID
    case_id: uuid.UUID | None
    unit_id: uuid.UUID
    role: str
    status: DeadlineStatus
    due_at: datetime
    kind: DeadlineKind = DeadlineKind.arrival
    closed_at: datetime | None = None
    case: CaseTraits | None = None


@dataclass(frozen=True)
class ReturnFact:
    """A case sent back for re-handling (退回重办), and the unit whose answer it was."""

    id: uuid.UUID
    case_id: uuid.UUID
    unit_id: uuid.UUID
    at: datetime
    case: CaseTraits


@dataclass(frozen=True)
class ScreeningFact:
    """A screened dispute and the parts its register entry lacks (plan, measures)."""

    id: uuid.UUID
    unit_id: uuid.UUID
    at: datetime
    missing: tuple[str, ...]


def _within(
    column: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID],
    scope: frozenset[uuid.UUID] | None,
) -> ColumnElement[bool]:
    return among(column, scope) if scope is not None else true()


def _blank(column: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
    return func.coalesce(func.btrim(column), "") == ""


def _traits(
    number: str | None,
    lodged: LodgedLevel | None,
    channel: Channel | None,
    source: CaseSource | None,
    collective: bool | None,
) -> CaseTraits | None:
    if number is None or lodged is None or channel is None or source is None:
        return None
    return CaseTraits(number, lodged, channel, source, bool(collective))


class AssessmentRepository:
    """Read-only queries of the assessment."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def units(self, scope: frozenset[uuid.UUID] | None) -> Sequence[Unit]:
        """The units in `scope` (None: all), to rank and to walk up from."""
        stmt = select(Unit)
        if scope is not None:
            stmt = stmt.where(among(Unit.id, scope))
        return (await self.session.execute(stmt)).scalars().all()

    async def collective_visits(
        self,
        *,
        start: datetime,
        end: datetime,
        levels: Collection[LodgedLevel],
        channels: Collection[Channel],
        scope: frozenset[uuid.UUID] | None,
    ) -> list[Visit]:
        """Collective petitions received in [start, end) lodged at one of `levels`, arising
        in or assigned to a unit of `scope`; a case closed as a duplicate registration of
        another is the same visit and does not count twice."""
        if not levels or not channels:
            return []
        stmt = select(
            Case.id,
            Case.number,
            Case.origin_unit_id,
            Case.lodged_unit_id,
            Case.assigned_unit_id,
            Case.lodged_level,
            Case.repeat_of_id,
            Case.received_at,
            Case.channel,
            Case.source,
        ).where(
            Case.is_collective.is_(True),
            Case.channel.in_(list(channels)),
            Case.lodged_level.in_(list(levels)),
            Case.received_at >= start,
            Case.received_at < end,
            or_(Case.outcome.is_(None), Case.outcome != Outcome.duplicate),
        )
        if scope is not None:
            units = id_array(scope)
            stmt = stmt.where(
                or_(among(Case.origin_unit_id, units), among(Case.assigned_unit_id, units))
            )
        rows = await self.session.execute(stmt.order_by(Case.received_at, Case.id))
        return [
            Visit(
                id=r.id,
                number=r.number,
                origin_unit_id=r.origin_unit_id,
                lodged_unit_id=r.lodged_unit_id,
                assigned_unit_id=r.assigned_unit_id,
                lodged_level=r.lodged_level,
                is_repeat=r.repeat_of_id is not None,
                received_at=r.received_at,
                channel=r.channel,
                source=r.source,
            )
            for r in rows
        ]

    async def arrival_deadlines(self, case_ids: Collection[uuid.UUID]) -> list[DeadlineFact]:
        """The arrival deadlines (到位时限) of these cases."""
        if not case_ids:
            return []
        stmt = (
            select(Deadline)
            .where(among(Deadline.case_id, case_ids), Deadline.kind == DeadlineKind.arrival)
            .order_by(Deadline.due_at, Deadline.id)
        )
        return [_fact(d) for d in (await self.session.execute(stmt)).scalars()]

    async def missed_reports(
        self, *, start: datetime, end: datetime, scope: frozenset[uuid.UUID] | None
    ) -> list[DeadlineFact]:
        """Situation report deadlines due in [start, end) and missed (漏报), of units in
        `scope`."""
        stmt = select(Deadline).where(
            Deadline.kind == DeadlineKind.report,
            Deadline.status == DeadlineStatus.missed,
            Deadline.due_at >= start,
            Deadline.due_at < end,
        )
        if scope is not None:
            stmt = stmt.where(among(Deadline.unit_id, scope))
        rows = await self.session.execute(stmt.order_by(Deadline.due_at, Deadline.id))
        return [_fact(d) for d in rows.scalars()]

    async def unmet_deadlines(
        self,
        *,
        kinds: Collection[DeadlineKind],
        start: datetime,
        end: datetime,
        scope: frozenset[uuid.UUID] | None,
    ) -> list[DeadlineFact]:
        """Deadlines of these kinds due in [start, end), owed by units of `scope`, that were
        missed or met after they fell due, with the traits of their case (if any)."""
        if not kinds:
            return []
        stmt = (
            select(
                Deadline.id,
                Deadline.case_id,
                Deadline.unit_id,
                Deadline.role,
                Deadline.status,
                Deadline.due_at,
                Deadline.kind,
                Deadline.closed_at,
                Case.number,
                Case.lodged_level,
                Case.channel,
                Case.source,
                Case.is_collective,
            )
            .outerjoin(Case, Case.id == Deadline.case_id)
            .where(
                Deadline.kind.in_(list(kinds)),
                Deadline.due_at >= start,
                Deadline.due_at < end,
                or_(
                    Deadline.status == DeadlineStatus.missed,
                    and_(
                        Deadline.status == DeadlineStatus.met,
                        Deadline.closed_at > Deadline.due_at,
                    ),
                ),
                _within(Deadline.unit_id, scope),
            )
            .order_by(Deadline.due_at, Deadline.id)
        )
        return [
            DeadlineFact(
                id=r.id,
                case_id=r.case_id,
                unit_id=r.unit_id,
                role=r.role,
                status=r.status,
                due_at=r.due_at,
                kind=r.kind,
                closed_at=r.closed_at,
                case=_traits(r.number, r.lodged_level, r.channel, r.source, r.is_collective),
            )
            for r in await self.session.execute(stmt)
        ]

    async def returned_cases(
        self, *, start: datetime, end: datetime, scope: frozenset[uuid.UUID] | None
    ) -> list[ReturnFact]:
        """Answers sent back for re-handling (退回重办) in [start, end), each charged to the
        unit the case is assigned to (the one whose answer it was, unless reassigned since;
        the desk's own unit when nobody holds it now), of `scope`."""
        unit = func.coalesce(Case.assigned_unit_id, Case.intake_unit_id)
        stmt = (
            select(
                CaseEvent.id,
                CaseEvent.case_id,
                CaseEvent.at,
                unit.label("unit_id"),
                Case.number,
                Case.lodged_level,
                Case.channel,
                Case.source,
                Case.is_collective,
            )
            .join(Case, Case.id == CaseEvent.case_id)
            .where(
                CaseEvent.action == RETURN_FOR_REHANDLING,
                CaseEvent.at >= start,
                CaseEvent.at < end,
                _within(unit, scope),
            )
            .order_by(CaseEvent.at, CaseEvent.seq)
        )
        return [
            ReturnFact(
                id=r.id,
                case_id=r.case_id,
                unit_id=r.unit_id,
                at=r.at,
                case=CaseTraits(r.number, r.lodged_level, r.channel, r.source, r.is_collective),
            )
            for r in await self.session.execute(stmt)
        ]

    async def incomplete_screenings(
        self, *, first: date, last: date, scope: frozenset[uuid.UUID] | None
    ) -> list[ScreeningFact]:
        """Disputes screened from `first` to `last` (not struck off as needing no resolving)
        whose register entry has no resolution plan or no containment measures now."""
        plan, measures = _blank(ScreeningItem.plan), _blank(ScreeningItem.measures)
        stmt = (
            select(
                ScreeningItem.id,
                ScreeningItem.unit_id,
                ScreeningItem.created_at,
                plan.label("no_plan"),
                measures.label("no_measures"),
            )
            .where(
                ScreeningItem.screened_on >= first,
                ScreeningItem.screened_on <= last,
                ScreeningItem.status != ScreeningStatus.closed.value,
                or_(plan, measures),
                _within(ScreeningItem.unit_id, scope),
            )
            .order_by(ScreeningItem.created_at, ScreeningItem.id)
        )
        return [
            ScreeningFact(
                id=r.id,
                unit_id=r.unit_id,
                at=r.created_at,
                missing=tuple(
                    part
                    for part, lacks in (("plan", r.no_plan), ("measures", r.no_measures))
                    if lacks
                ),
            )
            for r in await self.session.execute(stmt)
        ]

    async def roster_days(
        self, unit_ids: Collection[uuid.UUID], first: date, last: date
    ) -> set[tuple[uuid.UUID, date]]:
        """The (unit, day) pairs of these units' duty rosters from `first` to `last`."""
        if not unit_ids:
            return set()
        stmt = select(RosterEntry.unit_id, RosterEntry.day).where(
            among(RosterEntry.unit_id, unit_ids),
            RosterEntry.day >= first,
            RosterEntry.day <= last,
        )
        return {(r.unit_id, r.day) for r in await self.session.execute(stmt)}


def _fact(d: Deadline) -> DeadlineFact:
    return DeadlineFact(
        id=d.id,
        case_id=d.case_id,
        unit_id=d.unit_id,
        role=d.role,
        status=d.status,
        due_at=d.due_at,
        kind=d.kind,
        closed_at=d.closed_at,
    )
