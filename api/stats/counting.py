"""Keeping the dashboard's figures (SPEC §6) as cases change.

Every change to a case leaves a timeline event, and every timeline event marks its case
(`api.timeline.changes`). Just before the request's transaction commits, `settle` recomputes
the facts of the marked cases, adds the differences to the counters of their units and months,
and records that the data changed (for ETags). Reading a summary is then a handful of counter
rows, however many cases there are.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.timeutil import local
from api.kit.uow import UnitOfWork, unit_of
from api.models.case import Case
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.stats.facts import CaseState, difference, facts_of
from api.stats.repository import CaseRow, CounterKey, StatsRepository
from api.timeline.changes import (
    CHANGED_CASES,
    NEW_CASE_ROWS,
    NEW_CASES,
    OPENED_DEADLINES,
    mark_changed,
)
from api.units.repository import UnitRepository


def state_of(case: Case | CaseRow) -> CaseState:
    """What the figures read of a case."""
    return CaseState(
        status=case.status,
        channel=case.channel.value,
        category=case.category,
        lodged_level=case.lodged_level,
        skip_level=case.skip_level,
        is_repeat=case.repeat_of_id is not None,
        is_collective=case.is_collective,
        satisfied=case.satisfied,
        outcome=case.outcome,
        reviewed=case.reviewed_at is not None,
    )


def month_of(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


async def settle_before_commit(session: AsyncSession, unit: UnitOfWork) -> None:
    """The request boundary's hook: settle the figures last thing before the commit."""
    await settle(session)


async def settle(session: AsyncSession) -> int:
    """Bring the counters up to date with the cases touched in this transaction; returns how
    many cases' figures changed. Call last before commit: the facts rows stay locked until
    then, so concurrent changes to one case are counted one after the other."""
    work = unit_of(session)
    changed_cases = work.take(CHANGED_CASES)
    touched = sorted(changed_cases)
    if not touched:
        return 0
    # A case registered in this transaction has counted nothing yet and nobody else sees it:
    # its facts are written, not locked and read.
    fresh = work.take(NEW_CASES)
    await session.flush()
    repo = StatsRepository(session)
    counted_before = [case_id for case_id in touched if case_id not in fresh]
    stored = await repo.lock_facts(counted_before) if counted_before else {}
    cases: Sequence[Case | CaseRow]
    written = work.take(NEW_CASE_ROWS)
    if not counted_before and written.keys() >= set(touched):
        # Only cases registered here: every row of theirs is one this session wrote
        # (`open_deadline` is the one way a deadline is made), so nothing is read back.
        cases = [written[case_id] for case_id in touched]
        deadlines: dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]] = {}
        for deadline in work.take(OPENED_DEADLINES):
            if deadline.case_id in written:
                deadlines.setdefault(deadline.case_id, []).append((deadline.kind, deadline.status))
    else:
        cases, deadlines = await repo.cases(touched), await repo.deadline_states(touched)
    # whose data versions change (ETags per county): the cases read here name their county
    work.changes.counties.update(c.county_id for c in cases)
    work.changes.cases.difference_update(c.id for c in cases)
    units = UnitRepository(session)
    await units.prefetch_ancestry({c.origin_unit_id for c in cases})
    deltas: Counter[CounterKey] = Counter()
    first: dict[uuid.UUID, dict[str, int]] = {}  # a new row even when it counts nothing
    changed: dict[uuid.UUID, dict[str, int]] = {}
    moved = 0
    for case in cases:
        new = facts_of(state_of(case), deadlines.get(case.id, []))
        diff = difference(new, stored.get(case.id, {}))
        if case.id in fresh:
            first[case.id] = new
        elif diff:
            changed[case.id] = new
        if not diff:
            continue
        moved += 1
        day = local(case.received_at).date()
        for unit in await units.ancestry(case.origin_unit_id):
            for period, when in (("d", day), ("m", month_of(day))):
                for key, value in diff.items():
                    deltas[(unit.id, period, when, key)] += value
    await repo.save_facts(changed)
    await repo.insert_facts(first)
    await repo.add({key: value for key, value in deltas.items() if value})
    return moved


async def move_counted(
    session: AsyncSession,
    case_id: uuid.UUID,
    before: tuple[uuid.UUID, datetime],
    after: tuple[uuid.UUID, datetime],
) -> None:
    """A case whose origin or received time is corrected, (origin unit, received at) `before`
    and `after`: what it counted leaves the old units' and day's counters for the new ones.
    What changed in its facts is left to `settle`, which adds it where the case now is."""
    old_day, new_day = local(before[1]).date(), local(after[1]).date()
    if (before[0], old_day) == (after[0], new_day):
        return
    repo = StatsRepository(session)
    counted = (await repo.lock_facts([case_id])).get(case_id, {})
    if not counted:
        return
    units = UnitRepository(session)
    deltas: Counter[CounterKey] = Counter()
    for (origin, day), sign in (((before[0], old_day), -1), ((after[0], new_day), 1)):
        for unit in await units.ancestry(origin):
            for period, when in (("d", day), ("m", month_of(day))):
                for key, value in counted.items():
                    deltas[(unit.id, period, when, key)] += sign * value
    await repo.add({key: value for key, value in deltas.items() if value})


async def count_uncounted(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None = None, batch: int = 500
) -> tuple[datetime, uuid.UUID] | None:
    """Count the next batch of cases never counted (the counters are newer than they are),
    after `after` in the order received; returns where the batch ended, None when there was
    nothing left. Pass the answer back until it is None."""
    found = await StatsRepository(session).uncounted_cases(after, batch)
    mark_changed(session, [case_id for _, case_id in found])
    await settle(session)
    return found[-1] if found else None


def split_period(
    first: date, last: date
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months inside [first, last] (their first days, inclusive) and the day ranges
    left at either end: a year costs 12 month rows per key instead of 365 day rows."""
    start = first if first.day == 1 else _next_month(first)
    # the month after the last whole one
    stop = _next_month(last) if _next_month(last) - timedelta(days=1) == last else month_of(last)
    if start >= stop:
        return None, [(first, last)]
    days: list[tuple[date, date]] = []
    if first < start:
        days.append((first, start - timedelta(days=1)))
    if stop <= last:
        days.append((stop, last))
    return (start, month_of(stop - timedelta(days=1))), days


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
