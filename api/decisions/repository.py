"""Decision assessment storage, the cases linked to decisions, and the dashboard's counts."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.decisions.schemas import DecisionQuery
from api.kit.db import among
from api.kit.pagination import fetch_page
from api.models.case import Case, Reader, readable_by
from api.models.deadline import Deadline, DeadlineStatus
from api.models.decision import DecisionAssessment, DecisionCase, DecisionStatus, RiskLevel


def _of_units(units: frozenset[uuid.UUID]) -> ColumnElement[bool]:
    """The condition that a decision belongs to one of `units`."""
    return among(DecisionAssessment.unit_id, units)


class DecisionRepository:
    """Reads and writes decision assessments and their linked cases."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, decision: DecisionAssessment) -> None:
        """Stage a new assessment."""
        self.session.add(decision)

    async def get_in_reach(
        self,
        decision_id: uuid.UUID,
        reach: frozenset[uuid.UUID] | None,
        *,
        for_update: bool = False,
    ) -> DecisionAssessment | None:
        """The assessment if its unit lies in the territory (None otherwise: no existence
        leak); locked for the transaction when `for_update`."""
        stmt = select(DecisionAssessment).where(DecisionAssessment.id == decision_id)
        if reach is not None:
            stmt = stmt.where(among(DecisionAssessment.unit_id, reach))
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def link_case(
        self, decision_id: uuid.UUID, case_id: uuid.UUID, linked_by: uuid.UUID, at: datetime
    ) -> bool:
        """Link a case to the decision; False when it already was (concurrent links too)."""
        stmt = (
            insert(DecisionCase)
            .values(
                id=uuid.uuid4(),
                decision_id=decision_id,
                case_id=case_id,
                linked_by=linked_by,
                linked_at=at,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(constraint="uq_decision_cases_pair")
            .returning(DecisionCase.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def linked_cases(
        self, decision_ids: Collection[uuid.UUID], reader: Reader
    ) -> dict[uuid.UUID, list[Case]]:
        """The cases linked to each decision, in the order they were linked, only those the
        reader may see (`readable_by`)."""
        if not decision_ids:
            return {}
        stmt = (
            select(DecisionCase.decision_id, Case)
            .join(Case, Case.id == DecisionCase.case_id)
            .where(among(DecisionCase.decision_id, decision_ids), readable_by(reader))
            .order_by(DecisionCase.linked_at, DecisionCase.id)
        )
        out: dict[uuid.UUID, list[Case]] = {}
        for decision_id, case in (await self.session.execute(stmt)).all():
            out.setdefault(decision_id, []).append(case)
        return out

    async def list(
        self, query: DecisionQuery, reach: frozenset[uuid.UUID] | None
    ) -> tuple[list[DecisionAssessment], str | None]:
        """A page of the territory's assessments matching the query, newest first."""
        stmt = select(DecisionAssessment)
        if reach is not None:
            stmt = stmt.where(among(DecisionAssessment.unit_id, reach))
        return await fetch_page(self.session, stmt, DecisionAssessment, query)


class DecisionFiguresRepository:
    """The counts behind the dashboard's decision figures."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def assessed_by_level(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> dict[str, int]:
        """Assessments of the units made in [start, end), by risk level."""
        stmt = (
            select(DecisionAssessment.risk_level, func.count())
            .where(
                _of_units(unit_ids),
                DecisionAssessment.assessed_at >= start,
                DecisionAssessment.assessed_at < end,
            )
            .group_by(DecisionAssessment.risk_level)
        )
        return {str(level): int(n) for level, n in (await self.session.execute(stmt)).all()}

    async def decided_by_conclusion(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> dict[str, int]:
        """Conclusions on the units' decisions reached in [start, end), by conclusion."""
        stmt = (
            select(DecisionAssessment.conclusion, func.count())
            .where(
                _of_units(unit_ids),
                DecisionAssessment.decided_at >= start,
                DecisionAssessment.decided_at < end,
            )
            .group_by(DecisionAssessment.conclusion)
        )
        return {str(c): int(n) for c, n in (await self.session.execute(stmt)).all()}

    async def high_risk_undecided(self, unit_ids: frozenset[uuid.UUID]) -> int:
        """The units' high-risk decisions assessed and not yet concluded."""
        stmt = select(func.count()).where(
            _of_units(unit_ids),
            DecisionAssessment.status == DecisionStatus.assessed,
            DecisionAssessment.risk_level == RiskLevel.high,
        )
        return int(await self.session.scalar(stmt) or 0)

    async def drafts_planned_between(
        self, unit_ids: frozenset[uuid.UUID], first: date, last: date
    ) -> int:
        """The units' drafts whose planned date falls in `first`..`last`."""
        stmt = select(func.count()).where(
            _of_units(unit_ids),
            DecisionAssessment.status == DecisionStatus.draft,
            DecisionAssessment.planned_on >= first,
            DecisionAssessment.planned_on <= last,
        )
        return int(await self.session.scalar(stmt) or 0)

    async def assessment_deadlines(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> tuple[int, int]:
        """The units' decisions whose assessment fell due in [start, end) (a deadline not
        cancelled), and how many of those deadlines were missed."""
        stmt = (
            select(func.count(), func.count().filter(Deadline.status == DeadlineStatus.missed))
            .select_from(DecisionAssessment)
            .join(Deadline, Deadline.id == DecisionAssessment.deadline_id)
            .where(
                _of_units(unit_ids),
                Deadline.due_at >= start,
                Deadline.due_at < end,
                Deadline.status != DeadlineStatus.cancelled,
            )
        )
        due, missed = (await self.session.execute(stmt)).one()
        return int(due), int(missed)

    async def linked_cases(
        self, unit_ids: frozenset[uuid.UUID], start: datetime, end: datetime
    ) -> tuple[int, int]:
        """Distinct cases received in [start, end) linked to the units' decisions, and how
        many of them were collective."""
        linked = (
            select(DecisionCase.case_id)
            .join(DecisionAssessment, DecisionAssessment.id == DecisionCase.decision_id)
            .where(_of_units(unit_ids))
        )
        stmt = select(func.count(), func.count().filter(Case.is_collective)).where(
            Case.id.in_(linked), Case.received_at >= start, Case.received_at < end
        )
        total, collective = (await self.session.execute(stmt)).one()
        return int(total), int(collective)
