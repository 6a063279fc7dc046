"""Reading and writing the dashboard's counters and the facts each case last contributed."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, func, insert, select, text, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.db import among, id_array
from api.models.case import Case, CaseStatus, Channel, LodgedLevel, Outcome
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.stats import CaseFacts, StatCounter

CounterKey = tuple[uuid.UUID, str, date, str]  # unit, period, day, key


class CaseRow(NamedTuple):
    """The columns of a case the figures read."""

    id: uuid.UUID
    county_id: uuid.UUID
    origin_unit_id: uuid.UUID
    received_at: datetime
    status: CaseStatus
    channel: Channel
    category: str
    lodged_level: LodgedLevel
    skip_level: bool
    repeat_of_id: uuid.UUID | None
    is_collective: bool
    satisfied: bool | None
    outcome: Outcome | None
    reviewed_at: datetime | None


CASE_COLUMNS = [getattr(Case, name) for name in CaseRow._fields]

_NEW_FACTS = text(
    "INSERT INTO case_stat_facts (case_id, facts) "
    "SELECT id, '{}'::jsonb FROM unnest(CAST(:ids AS uuid[])) AS id "
    "ON CONFLICT (case_id) DO NOTHING"
)
_ADD_COUNTERS = text(
    "INSERT INTO stat_counters (unit_id, period, day, key, value) "
    "SELECT * FROM unnest(CAST(:units AS uuid[]), CAST(:periods AS varchar[]), "
    "CAST(:days AS date[]), CAST(:keys AS varchar[]), CAST(:values AS bigint[])) "
    "ON CONFLICT (unit_id, period, day, key) "
    "DO UPDATE SET value = stat_counters.value + excluded.value"
)


class StatsRepository:
    """The counters (`stat_counters`) and per-case facts (`case_stat_facts`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_facts(self, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        """The facts last counted for these cases, their rows locked in id order until the
        transaction ends (two transactions changing one case count one after the other);
        a case never counted gets an empty row."""
        ordered = sorted(set(case_ids))
        await self.session.execute(_NEW_FACTS, {"ids": ordered})
        stmt = (
            select(CaseFacts.case_id, CaseFacts.facts)
            .where(CaseFacts.case_id.in_(ordered))
            .order_by(CaseFacts.case_id)
            .with_for_update()
        )
        return {case_id: dict(facts) for case_id, facts in await self.session.execute(stmt)}

    async def cases(self, case_ids: Collection[uuid.UUID]) -> Sequence[CaseRow]:
        """What the figures read of these cases as they are now (this transaction's flushed
        changes included), without loading whole cases."""
        stmt = select(*CASE_COLUMNS).where(among(Case.id, case_ids))
        rows = await self.session.execute(stmt)
        return [CaseRow(*row) for row in rows]

    async def deadline_states(
        self, case_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]]:
        """Kind and status of every deadline of these cases."""
        stmt = select(Deadline.case_id, Deadline.kind, Deadline.status).where(
            among(Deadline.case_id, case_ids)
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

    async def insert_facts(self, facts: Mapping[uuid.UUID, dict[str, int]]) -> None:
        """Store what cases registered in this transaction contribute (their first row)."""
        if facts:
            rows = [
                {"case_id": case_id, "facts": value} for case_id, value in sorted(facts.items())
            ]
            await self.session.execute(insert(CaseFacts), rows)

    async def add(self, deltas: Mapping[CounterKey, int]) -> None:
        """Add to the counters in one statement, rows in key order (concurrent writers lock
        the rows they share in the same order, so they queue instead of deadlocking); the
        rows go as five arrays, so a batch of any size is five parameters."""
        if not deltas:
            return
        ordered = sorted(deltas.items())
        await self.session.execute(
            _ADD_COUNTERS,
            {
                "units": [unit for (unit, _, _, _), _ in ordered],
                "periods": [period for (_, period, _, _), _ in ordered],
                "days": [day for (_, _, day, _), _ in ordered],
                "keys": [key for (_, _, _, key), _ in ordered],
                "values": [value for _, value in ordered],
            },
        )

    async def sums(
        self,
        unit_ids: Collection[uuid.UUID],
        months: tuple[date, date] | None,
        days: Sequence[tuple[date, date]],
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Each unit's figures over whole months in `months` (first days, inclusive) and the
        day ranges in `days` (inclusive)."""
        found: dict[uuid.UUID, dict[str, int]] = {u: {} for u in unit_ids}
        stmt = sums_statement(unit_ids, months, days)
        if stmt is None:
            return found
        for unit_id, key, total in await self.session.execute(stmt):
            if total:
                found[unit_id][key] = int(total)
        return found

    async def per_day(
        self, unit_id: uuid.UUID, first: date, last: date, keys: Collection[str]
    ) -> dict[date, dict[str, int]]:
        """The unit's daily values of `keys` (names without `|` or `,`), e.g. cases per day
        by channel. Read through the key-first index and sent back as one text value: a
        year of a few keys is about a thousand index entries and one row, not a thousand rows
        to convert one by one."""
        stmt = per_day_statement(unit_id, first, last, keys)
        found: dict[date, dict[str, int]] = {}
        for item in ((await self.session.execute(stmt)).scalar_one() or "").split(","):
            if item:
                day, key, value = item.split("|")
                if value != "0":
                    found.setdefault(date.fromisoformat(day), {})[key] = int(value)
        return found

    async def uncounted_cases(
        self, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[tuple[datetime, uuid.UUID]]:
        """The next cases never counted (registered before the counters existed), in the
        order they were received: a batch then touches the counters of a few days, not of
        every day there is."""
        stmt = (
            select(Case.received_at, Case.id)
            .outerjoin(CaseFacts, CaseFacts.case_id == Case.id)
            .where(CaseFacts.case_id.is_(None))
            .order_by(Case.received_at, Case.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(Case.received_at, Case.id) > tuple_(*after))
        return [(at, case_id) for at, case_id in await self.session.execute(stmt)]


def sums_statement(
    unit_ids: Collection[uuid.UUID],
    months: tuple[date, date] | None,
    days: Sequence[tuple[date, date]],
) -> Select[Any] | None:
    """The read of `StatsRepository.sums` (None when the period covers nothing); apart so a
    benchmark can run the same SQL bare.

    One range of the primary key (unit, period, day) per span, summed over their union: an OR
    of the spans is read through the key-first series index instead, every row of the unit's
    whole history filtered (issue 24: 48,000 rows of a county for a year's 800)."""
    spans = [("d", a, b) for a, b in days]
    if months is not None:
        spans.append(("m", *months))
    if not spans:
        return None
    units = id_array(unit_ids)
    parts = [
        select(StatCounter.unit_id, StatCounter.key, StatCounter.value).where(
            among(StatCounter.unit_id, units),
            StatCounter.period == period,
            StatCounter.day.between(a, b),
        )
        for period, a, b in spans
    ]
    rows = union_all(*parts).subquery("spans")
    return select(rows.c.unit_id, rows.c.key, func.sum(rows.c.value)).group_by(
        rows.c.unit_id, rows.c.key
    )


def per_day_statement(
    unit_id: uuid.UUID, first: date, last: date, keys: Collection[str]
) -> Select[str]:
    """The read of `StatsRepository.per_day`; apart so a benchmark can run the same SQL bare."""
    entry = func.concat_ws("|", StatCounter.day, StatCounter.key, StatCounter.value)
    return select(func.string_agg(entry, ",")).where(
        StatCounter.unit_id == unit_id,
        StatCounter.period == "d",
        StatCounter.key.in_(list(keys)),
        StatCounter.day.between(first, last),
    )
