"""Misses (超期): the one way a deadline becomes missed, wherever the miss is noticed (the
clock's tick, the sweep, a late arrival, a backdated step, a duty ended past due), and what
follows it: the timeline, the `deadline.missed` event, the escalation chain, the figures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.deadlines.repository import DeadlineRepository
from api.deadlines.service import close, to_read
from api.escalations.service import escalate_missed
from api.events.service import emit, prefetch_scopes, subscribed
from api.kit.db import utcnow
from api.kit.metrics import DEADLINE_FLAG_LAG, DEADLINES_MISSED, count_after_commit
from api.models.deadline import Deadline, DeadlineStatus
from api.policies.service import grouped_by_policy, policies_for
from api.timeline.repository import CaseEventRepository
from shared.contracts import FlagDueReport

# Deadlines flagged per statement: one UPDATE … RETURNING; their chains start in chunks.
FLAG_BATCH = 500


async def settle(
    session: AsyncSession,
    deadline_id: uuid.UUID | None,
    outcome: DeadlineStatus,
    now: datetime,
    actor_id: uuid.UUID,
) -> None:
    """End a duty's deadline, if still open, as `outcome` (met or cancelled); past due, it is
    a miss whatever happens now, flagged without escalating (the worker's chain has or would
    have)."""
    if deadline_id is None:
        return
    deadline = await DeadlineRepository(session).get(deadline_id, for_update=True)
    if deadline is None or deadline.status is not DeadlineStatus.open:
        return
    if now > deadline.due_at:
        await flag_missed(session, deadline, now, escalate=False)
    else:
        close(session, deadline, outcome, now, actor_id)


async def flag_missed(
    session: AsyncSession, deadline: Deadline, now: datetime, *, escalate: bool = True
) -> None:
    """Flag a locked, open, overdue deadline missed and (unless told not to) escalate it."""
    deadline.status = DeadlineStatus.missed
    deadline.closed_at = now
    await record_misses(session, [deadline], escalate=escalate)


def _count_missed(session: AsyncSession, deadlines: Sequence[Deadline]) -> None:
    """Count the misses and how late each was flagged, once they are committed."""
    lags = [
        (d.kind.value, ((d.closed_at or utcnow()) - max(d.due_at, d.created_at)).total_seconds())
        for d in deadlines
    ]

    def record() -> None:
        for kind, lag in lags:
            DEADLINES_MISSED.labels(kind=kind).inc()
            DEADLINE_FLAG_LAG.labels(kind=kind).observe(max(lag, 0.0))

    count_after_commit(session, record)


async def record_misses(
    session: AsyncSession, deadlines: Sequence[Deadline], *, escalate: bool
) -> None:
    """What follows a miss, for deadlines just flagged missed: the timeline, the figures, the
    `deadline.missed` event and (unless `escalate` is false) the escalation chain. Every path
    that flags a miss ends here."""
    rows = []
    for deadline in deadlines:
        if deadline.case_id is not None:
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "case_id": deadline.case_id,
                    "action": "deadline_missed",
                    "actor_id": None,
                    "client": None,
                    "at": deadline.closed_at or utcnow(),
                    "data": {
                        "deadline_id": str(deadline.id),
                        "kind": deadline.kind.value,
                        "official_id": str(deadline.official_id) if deadline.official_id else None,
                        "due_at": deadline.due_at.isoformat(),
                    },
                }
            )
    await CaseEventRepository(session).record_many(rows)
    _count_missed(session, deadlines)
    if await subscribed(session, "deadline.missed"):
        # the chains the escalation reads next: walked once, here, for the events' scopes
        await prefetch_scopes(session, "deadline.missed", {d.unit_id for d in deadlines})
        for deadline in deadlines:
            await emit(
                session,
                "deadline.missed",
                {"deadline": to_read(deadline).model_dump(mode="json")},
                unit_id=deadline.unit_id,
                case_id=deadline.case_id,
            )
    if escalate and deadlines:
        policies = await policies_for(session, {d.unit_id for d in deadlines})
        for policy, group in grouped_by_policy(deadlines, policies, lambda d: d.unit_id):
            await escalate_missed(session, group, policy)


async def flag_overdue(session: AsyncSession, limit: int = FLAG_BATCH) -> int:
    """Flag up to `limit` open deadlines past due missed, in one statement, and start their
    escalation; returns how many (the clock's tick and the sweep's safety net)."""
    flagged = await DeadlineRepository(session).flag_overdue_missed(utcnow(), limit)
    await record_misses(session, flagged, escalate=True)
    await session.flush()
    return len(flagged)


async def flag_due(session: AsyncSession) -> FlagDueReport:
    """The clock's tick: flag one batch of overdue deadlines, and say whether the batch was
    full (there may be more: the worker calls again at once)."""
    flagged = await flag_overdue(session)
    return FlagDueReport(flagged=flagged, more=flagged >= FLAG_BATCH)
