"""Reading and writing the dashboard's counters and the facts each case last contributed."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.cases.models import Case
from api.deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from api.stats.models import CaseFacts, StatCounter

CounterKey = tuple[uuid.UUID, str, date, str]  # unit, period, day, key


class StatsRepository:
    """The counters (`stat_counters`) and per-case facts (`case_stat_facts`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_facts(self, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        """The facts last counted for these cases, their rows locked in id order until the
        transaction ends (two transactions changing one case count one after the other);
        a case never counted gets an empty row."""
        ordered = sorted(set(case_ids))
        await self.session.execute(
            insert(CaseFacts)
            .values([{"case_id": case_id, "facts": {}} for case_id in ordered])
            .on_conflict_do_nothing(index_elements=[CaseFacts.case_id])
        )
        stmt = (
            select(CaseFacts.case_id, CaseFacts.facts)
            .where(CaseFacts.case_id.in_(ordered))
            .order_by(CaseFacts.case_id)
            .with_for_update()
        )
        return {case_id: dict(facts) for case_id, facts in await self.session.execute(stmt)}

    async def cases(self, case_ids: Collection[uuid.UUID]) -> Sequence[Case]:
        """The cases as they are now (this transaction's changes included)."""
        stmt = select(Case).where(Case.id.in_(list(case_ids)))
        return (await self.session.execute(stmt)).scalars().all()

    async def deadline_states(
        self, case_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]]:
        """Kind and status of every deadline of these cases."""
        stmt = select(Deadline.case_id, Deadline.kind, Deadline.status).where(
            Deadline.case_id.in_(list(case_ids))
        )
        found: dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]] = {}
        for case_id, kind, status in await self.session.execute(stmt):
            if case_id is not None:
                found.setdefault(case_id, []).append((kind, status))
        return found

    async def save_facts(self, facts: Mapping[uuid.UUID, dict[str, int]]) -> None:
        """Store what each case now contributes."""
        if facts:
            rows = [
                {"case_id": case_id, "facts": value} for case_id, value in sorted(facts.items())
            ]
            await self.session.execute(update(CaseFacts), rows)

    async def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add to the counters in one statement, rows in key order (concurrent writers lock
        the rows they share in the same order, so they queue instead of deadlocking)."""
        if not deltas:
            return
        rows = [
            {"unit_id": unit, "period": period, "day": day, "key": key, "value": value}
            for (unit, period, day, key), value in sorted(deltas.items())
        ]
        stmt = insert(StatCounter).values(rows)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    StatCounter.unit_id,
                    StatCounter.period,
                    StatCounter.day,
                    StatCounter.key,
                ],
                set_={"value": StatCounter.value + stmt.excluded.value},
            )
        )

    async def sums(
        self,
        unit_ids: Collection[uuid.UUID],
        months: tuple[date, date] | None,
        days: Sequence[tuple[date, date]],
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Each unit's figures over whole months in `months` (first days, inclusive) and the
        day ranges in `days` (inclusive)."""
        spans: list[Any] = [
            and_(StatCounter.period == "d", StatCounter.day.between(a, b)) for a, b in days
        ]
        if months is not None:
            spans.append(and_(StatCounter.period == "m", StatCounter.day.between(*months)))
        if not spans:
            return {u: {} for u in unit_ids}
        stmt = (
            select(StatCounter.unit_id, StatCounter.key, func.sum(StatCounter.value))
            .where(StatCounter.unit_id.in_(list(unit_ids)), or_(*spans))
            .group_by(StatCounter.unit_id, StatCounter.key)
        )
        found: dict[uuid.UUID, dict[str, int]] = {u: {} for u in unit_ids}
        for unit_id, key, total in await self.session.execute(stmt):
            if total:
                found[unit_id][key] = int(total)
        return found

    async def per_day(
        self, unit_id: uuid.UUID, first: date, last: date, prefix: str
    ) -> dict[date, dict[str, int]]:
        """The unit's daily figures whose key starts with `prefix`, e.g. `channel:`."""
        stmt = select(StatCounter.day, StatCounter.key, StatCounter.value).where(
            StatCounter.unit_id == unit_id,
            StatCounter.period == "d",
            StatCounter.day.between(first, last),
            StatCounter.key.startswith(prefix),
            StatCounter.value != 0,
        )
        found: dict[date, dict[str, int]] = {}
        for day, key, value in await self.session.execute(stmt):
            found.setdefault(day, {})[key.removeprefix(prefix)] = int(value)
        return found

    async def uncounted_cases(self, limit: int) -> Sequence[uuid.UUID]:
        """Cases never counted (registered before the counters existed)."""
        stmt = (
            select(Case.id)
            .outerjoin(CaseFacts, CaseFacts.case_id == Case.id)
            .where(CaseFacts.case_id.is_(None))
            .order_by(Case.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
