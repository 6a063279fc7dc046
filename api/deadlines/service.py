"""Deadlines: opening them with their due-time check, meeting them, flagging misses once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.cases.repository import CaseEventRepository
from api.db import utcnow
from api.deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from api.deadlines.repository import DeadlineRepository
from api.deadlines.schemas import DeadlineQuery, DeadlineRead
from api.errors import NotFound
from api.escalations.service import escalate_missed
from api.metrics import DEADLINES_MISSED
from api.outbox.service import record_job
from api.policies.service import current_policy
from shared.contracts import JOB_CHECK_DEADLINE, DeadlineEvaluation, check_deadline_job_id


def to_read(deadline: Deadline) -> DeadlineRead:
    """The API view of a deadline."""
    return DeadlineRead.model_validate(deadline, from_attributes=True)


def open_deadline(
    session: AsyncSession,
    *,
    case_id: uuid.UUID | None,
    kind: DeadlineKind,
    role: str,
    official_id: uuid.UUID | None,
    unit_id: uuid.UUID,
    starts_at: datetime,
    due_at: datetime,
    flags: list[str] | None = None,
) -> Deadline:
    """Open a deadline and schedule the worker's check at its due time (via the outbox)."""
    deadline = Deadline(
        id=uuid.uuid4(),
        case_id=case_id,
        kind=kind,
        role=role,
        official_id=official_id,
        unit_id=unit_id,
        starts_at=starts_at,
        due_at=due_at,
        status=DeadlineStatus.open,
        flags=flags or [],
    )
    DeadlineRepository(session).add(deadline)
    record_job(
        session,
        JOB_CHECK_DEADLINE,
        check_deadline_job_id(deadline.id),
        [str(deadline.id)],
        defer_until=due_at,
    )
    return deadline


def meet(session: AsyncSession, deadline: Deadline, at: datetime, actor_id: uuid.UUID) -> None:
    """Mark an open deadline met."""
    deadline.status = DeadlineStatus.met
    deadline.closed_at = at
    if deadline.case_id is not None:
        CaseEventRepository(session).record(
            deadline.case_id,
            "deadline_met",
            actor_id=actor_id,
            data={"deadline_id": str(deadline.id), "kind": deadline.kind.value},
            at=at,
        )


async def flag_missed(
    session: AsyncSession, deadline: Deadline, now: datetime, *, escalate: bool = True
) -> None:
    """Flag a locked, open, overdue deadline missed and (unless told not to) escalate it."""
    deadline.status = DeadlineStatus.missed
    deadline.closed_at = now
    if deadline.case_id is not None:
        CaseEventRepository(session).record(
            deadline.case_id,
            "deadline_missed",
            data={
                "deadline_id": str(deadline.id),
                "kind": deadline.kind.value,
                "official_id": str(deadline.official_id) if deadline.official_id else None,
                "due_at": deadline.due_at.isoformat(),
            },
        )
    if escalate:
        policy = (await current_policy(session)).policy
        await escalate_missed(session, deadline, policy)
    DEADLINES_MISSED.labels(kind=deadline.kind.value).inc()


async def evaluate(session: AsyncSession, deadline_id: uuid.UUID) -> DeadlineEvaluation:
    """Flag the deadline missed if it is due and still open; exactly once under any race."""
    deadline = await DeadlineRepository(session).get(deadline_id, for_update=True)
    if deadline is None:
        raise NotFound(f"Deadline {deadline_id} does not exist.")
    now = utcnow()
    flagged = False
    if deadline.status is DeadlineStatus.open and deadline.due_at <= now:
        await flag_missed(session, deadline, now)
        flagged = True
    await session.flush()
    return DeadlineEvaluation(
        id=deadline.id, status=deadline.status.value, due_at=deadline.due_at, flagged_now=flagged
    )


async def flag_overdue(session: AsyncSession, limit: int = 500) -> int:
    """Flag every open deadline past due (the sweep's safety net); returns how many."""
    now = utcnow()
    overdue = await DeadlineRepository(session).claim_overdue(now, limit)
    for deadline in overdue:
        await flag_missed(session, deadline, now)
    await session.flush()
    return len(overdue)


async def list_deadlines(
    session: AsyncSession, query: DeadlineQuery
) -> tuple[list[Deadline], str | None]:
    """A page of deadlines."""
    return await DeadlineRepository(session).list(query)
