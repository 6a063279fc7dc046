"""Transactional outbox: record jobs with the change, hand them to arq after commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db import utcnow
from api.outbox.models import OutboxMessage
from api.outbox.repository import OutboxRepository

log = logging.getLogger(__name__)
SESSION_KEY = "outbox"


@dataclass(frozen=True)
class QueuedJob:
    """A plain copy of an outbox row, safe to use after the session closed."""

    id: Any
    job: str
    job_id: str
    args: list[Any]
    defer_until: datetime | None


def record_job(
    session: AsyncSession,
    job: str,
    job_id: str,
    args: list[Any],
    defer_until: datetime | None = None,
) -> None:
    """Write a job to the outbox in the current transaction; it reaches Redis after commit."""
    message = OutboxMessage(job=job, job_id=job_id, payload={"args": args}, defer_until=defer_until)
    OutboxRepository(session).add(message)
    pending: list[OutboxMessage] = session.info.setdefault(SESSION_KEY, [])
    pending.append(message)


def _queued(message: OutboxMessage) -> QueuedJob:
    return QueuedJob(
        id=message.id,
        job=message.job,
        job_id=message.job_id,
        args=list(message.payload.get("args", [])),
        defer_until=message.defer_until,
    )


async def _enqueue(arq: ArqRedis, job: QueuedJob) -> None:
    # An existing job with the same id makes arq return None: re-dispatch is harmless.
    # A due time already past (a backdated receipt, a late relay) means "now": arq derives
    # the job's expiry from it and refuses one in the past.
    defer_until = job.defer_until if job.defer_until and job.defer_until > utcnow() else None
    await arq.enqueue_job(job.job, *job.args, _job_id=job.job_id, _defer_until=defer_until)


async def dispatch_after_commit(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], arq: ArqRedis
) -> None:
    """Hand the jobs a committed session recorded to arq; leave them to the relay on failure."""
    messages: list[OutboxMessage] = session.info.pop(SESSION_KEY, [])
    if not messages:
        return
    jobs = [_queued(m) for m in messages]
    done = []
    for job in jobs:
        try:
            await _enqueue(arq, job)
        except Exception:  # Redis down: the relay in the sweep picks the rest up.
            log.warning(
                "outbox: could not enqueue %s; left for the relay", job.job_id, exc_info=True
            )
            break
        done.append(job.id)
    if done:
        async with sessionmaker() as marker:
            await OutboxRepository(marker).mark_dispatched(done, utcnow())
            await marker.commit()


async def relay_undispatched(
    session: AsyncSession, arq: ArqRedis, grace: timedelta, limit: int = 500
) -> int:
    """Enqueue outbox messages older than `grace` that never reached Redis; returns how many."""
    repo = OutboxRepository(session)
    messages = await repo.claim_undispatched(utcnow() - grace, limit)
    done = []
    for message in messages:
        try:
            await _enqueue(arq, _queued(message))
        except Exception:  # one bad message must not hold back the others
            log.exception("outbox: relay of %s failed; retried next sweep", message.job_id)
            continue
        done.append(message.id)
    await repo.mark_dispatched(done, utcnow())
    return len(done)
