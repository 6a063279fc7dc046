"""Deadlines (时限): opening them with their due-time check, meeting or cancelling them, listing
them. Noticing a miss is not done here: `api.escalations.misses` flags it and starts the chain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.deadlines.repository import DeadlineRepository
from api.deadlines.schemas import DeadlineQuery, DeadlineRead
from api.kit.db import utcnow
from api.models.case import Reader
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official
from api.outbox.service import schedule
from api.timeline.changes import mark_opened
from api.timeline.repository import CaseEventRepository
from shared.contracts import (
    FlagDue,
    ReminderDue,
    flag_due_job_id,
    flag_due_tick,
    remind_deadline_job_id,
)
from shared.jobs import FLAG_DUE, REMIND_DEADLINE


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
    reminders: Sequence[float] = (),
    subject: str | None = None,
) -> Deadline:
    """Open a deadline and schedule the worker's check at its due time, and the reminders at
    the given fractions of its span (via the outbox)."""
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
        subject=subject,
    )
    DeadlineRepository(session).add(deadline)
    mark_opened(session, deadline)
    _schedule_checks(session, deadline, reminders)
    return deadline


def _schedule_checks(session: AsyncSession, deadline: Deadline, reminders: Sequence[float]) -> None:
    """The worker's check at the deadline's due time, and its reminders still to come."""
    due_at, starts_at = deadline.due_at, deadline.starts_at
    schedule(
        session,
        FLAG_DUE,
        FlagDue(for_deadline=deadline.id),  # the job flags every deadline due by then
        flag_due_job_id(due_at),
        defer_until=flag_due_tick(due_at),
        carry_request_id=False,
    )
    now = utcnow()
    for fraction in reminders:
        remind_at = starts_at + (due_at - starts_at) * fraction
        if remind_at > now and deadline.official_id is not None:
            schedule(
                session,
                REMIND_DEADLINE,
                ReminderDue(deadline_id=deadline.id, fraction=fraction),
                remind_deadline_job_id(deadline.id, fraction),
                defer_until=remind_at,
            )


def move(
    session: AsyncSession,
    deadline: Deadline,
    *,
    starts_at: datetime,
    due_at: datetime,
    reminders: Sequence[float] = (),
) -> None:
    """Give an open deadline a new span (a corrected receipt): the due-time check is scheduled
    for the new time; a reminder already scheduled that wakes before its new time waits for it
    (`remind` answers `early`), one not scheduled yet is."""
    deadline.starts_at = starts_at
    deadline.due_at = due_at
    _schedule_checks(session, deadline, reminders)


def open_duty(
    session: AsyncSession,
    official: Official,
    kind: DeadlineKind,
    *,
    starts_at: datetime,
    due_at: datetime,
    subject: str | None,
    reminders: Sequence[float],
    unit_id: uuid.UUID | None = None,
) -> Deadline:
    """Open the deadline of an official's own duty, not a case's (a report, a screened dispute,
    an appointment, a month's field visits …): in the official's unit unless another is
    given, so a miss escalates from there; `subject` says what it is about."""
    unit = unit_id or official.unit_id
    assert unit is not None  # every official who owes a duty has a unit
    return open_deadline(
        session,
        case_id=None,
        kind=kind,
        role=official.role.value,
        official_id=official.id,
        unit_id=unit,
        starts_at=starts_at,
        due_at=due_at,
        reminders=reminders,
        subject=subject[:200] if subject else None,
    )


def close(
    session: AsyncSession,
    deadline: Deadline,
    status: DeadlineStatus,
    at: datetime,
    actor_id: uuid.UUID | None,
) -> None:
    """Close an open deadline as met or cancelled, with a timeline event."""
    deadline.status = status
    deadline.closed_at = at
    if deadline.case_id is not None:
        CaseEventRepository(session).record(
            deadline.case_id,
            f"deadline_{status.value}",
            actor_id=actor_id,
            data={"deadline_id": str(deadline.id), "kind": deadline.kind.value},
            at=at,
        )


async def close_open(
    session: AsyncSession,
    case_id: uuid.UUID,
    kinds: Collection[DeadlineKind],
    status: DeadlineStatus,
    at: datetime,
    actor_id: uuid.UUID | None,
) -> list[Deadline]:
    """Close the case's open deadlines of these kinds; returns them."""
    closed = list(await DeadlineRepository(session).open_of_case(case_id, kinds))
    for deadline in closed:
        close(session, deadline, status, at, actor_id)
    return closed


async def open_of_case(
    session: AsyncSession, case_id: uuid.UUID, kinds: Collection[DeadlineKind]
) -> list[Deadline]:
    """The case's open deadlines of these kinds, locked for this transaction."""
    return list(await DeadlineRepository(session).open_of_case(case_id, kinds))


def meet(session: AsyncSession, deadline: Deadline, at: datetime, actor_id: uuid.UUID) -> None:
    """Mark an open deadline met."""
    close(session, deadline, DeadlineStatus.met, at, actor_id)


async def list_deadlines(
    session: AsyncSession, query: DeadlineQuery, reader: Reader
) -> tuple[list[Deadline], str | None]:
    """A page of the deadlines of units in the reader's reach (None: all), none of a case
    that complains about them."""
    return await DeadlineRepository(session).list(query, reader)
