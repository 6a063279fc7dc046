"""Transactional outbox: record jobs with the change, hand them to arq after commit."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from api.kit.boundary import AppState
from api.kit.db import utcnow
from api.kit.uow import Slot, UnitOfWork, unit_of
from api.models.outbox import OutboxMessage
from api.outbox.repository import OutboxRepository
from shared import tracing
from shared.contracts import DELIVERY_BATCH, deliver_alerts_job_id
from shared.jobs import DELIVER_ALERT, DELIVER_ALERTS, Job

log = logging.getLogger(__name__)
Body = TypeVar("Body", bound=BaseModel)

MARK_DELAY_SECONDS = 0.05
"""How long enqueued rows wait to be marked dispatched together (`DispatchAfterCommit`)."""
MARK_BATCH = 5000
"""Most rows one marking UPDATE names."""

PENDING_JOBS: Slot[list[QueuedJob]] = Slot("outbox rows to dispatch", list)
"""The jobs this transaction recorded: written to the outbox in one statement just before it
commits, handed to arq once it has."""


@dataclass(frozen=True)
class QueuedJob:
    """A plain copy of an outbox row, safe to use after the session closed."""

    id: Any
    job: str
    job_id: str
    args: list[Any]
    defer_until: datetime | None
    request_id: str | None = None
    created_at: datetime | None = None

    def payload(self) -> dict[str, Any]:
        """The row's `payload` column: the arguments, and the request that recorded it."""
        payload: dict[str, Any] = {"args": self.args}
        if self.request_id is not None:
            payload[tracing.JOB_KWARG] = self.request_id
        return payload


def _write_jobs(session: Session) -> None:
    """The transaction's jobs into the outbox, one statement for all (issue 22: an ORM object
    and an INSERT each, flushed apart, were a third of a visit's statements)."""
    jobs = unit_of(session).get(PENDING_JOBS)
    if jobs:
        OutboxRepository.insert_now(
            session,
            [
                {
                    "id": j.id,
                    "job": j.job,
                    "job_id": j.job_id,
                    "payload": j.payload(),
                    "defer_until": j.defer_until,
                    "created_at": j.created_at,
                }
                for j in jobs
            ],
        )


def record_job(
    session: AsyncSession,
    job: str,
    job_id: str,
    args: list[Any],
    defer_until: datetime | None = None,
    *,
    carry_request_id: bool = True,
) -> None:
    """Write a job to the outbox in the current transaction; it reaches Redis after commit.

    The job carries the id of the request (or job) that recorded it; not so a job many
    requests ask for under one job id (a clock tick, a bundle window), which would otherwise
    go on under the id of whichever request came first."""
    unit = unit_of(session)
    pending = unit.get(PENDING_JOBS)
    if not pending:
        unit.before_commit(_write_jobs)
    pending.append(
        QueuedJob(
            id=uuid.uuid4(),
            job=job,
            job_id=job_id,
            args=args,
            defer_until=defer_until,
            request_id=tracing.current() if carry_request_id else None,
            created_at=utcnow(),
        )
    )


def schedule(
    session: AsyncSession,
    job: Job[Body, Any],
    body: Body,
    job_id: str,
    defer_until: datetime | None = None,
    *,
    carry_request_id: bool = True,
) -> None:
    """Record a job declared in `shared.jobs` (its body as the job's positional arguments)
    in the current transaction; it reaches Redis after commit (`record_job`)."""
    record_job(
        session,
        job.name,
        job_id,
        job.args(body),
        defer_until,
        carry_request_id=carry_request_id,
    )


def queued(message: OutboxMessage) -> QueuedJob:
    """The job of an outbox row read back (the relay's)."""
    return QueuedJob(
        id=message.id,
        job=message.job,
        job_id=message.job_id,
        args=list(message.payload.get("args", [])),
        defer_until=message.defer_until,
        request_id=message.payload.get(tracing.JOB_KWARG),
    )


# arq's own enqueue (WATCH, EXISTS, MULTI … EXEC: three round trips a job) done for a whole
# batch in one script call, with the same semantics: a job whose id is queued or has a result
# is left alone, so re-dispatch stays harmless. A storm of 10,000 alerts must not wait on
# 30,000 round trips before the first one is sent.
_ENQUEUE_MANY = """
local queue, now, extra = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local job_prefix, result_prefix = ARGV[4], ARGV[5]
local added = 0
for i = 6, #ARGV, 3 do
  local id, score = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('EXISTS', job_prefix .. id, result_prefix .. id) == 0 then
    redis.call('PSETEX', job_prefix .. id, score - now + extra, ARGV[i + 2])
    redis.call('ZADD', queue, score, id)
    added = added + 1
  end
end
return added
"""
ENQUEUE_CHUNK = 500


async def enqueue_many(arq: ArqRedis, jobs: Sequence[QueuedJob]) -> int:
    """Hand jobs to arq in batches (one script call each); returns how many were new.

    A due time already past (a backdated receipt, a late relay) means "now".
    """
    added = 0
    for start in range(0, len(jobs), ENQUEUE_CHUNK):
        now_ms = int(time.time() * 1000)
        argv: list[Any] = [
            arq.default_queue_name,
            now_ms,
            arq.expires_extra_ms,
            job_key_prefix,
            result_key_prefix,
        ]
        for job in jobs[start : start + ENQUEUE_CHUNK]:
            due_ms = int(job.defer_until.timestamp() * 1000) if job.defer_until else now_ms
            kwargs = {tracing.JOB_KWARG: job.request_id} if job.request_id else {}
            payload = serialize_job(
                job.job, tuple(job.args), kwargs, None, now_ms, serializer=arq.job_serializer
            )
            argv += [job.job_id, max(due_ms, now_ms), payload]
        added += int(await cast("Awaitable[int]", arq.eval(_ENQUEUE_MANY, 0, *argv)))
    return added


def pack_deliveries(jobs: Sequence[QueuedJob]) -> list[QueuedJob]:
    """The same jobs, with alerts due now travelling together in batch jobs of up to
    `DELIVERY_BATCH` (a lone alert keeps its own job)."""
    now = [j for j in jobs if j.job == DELIVER_ALERT and j.defer_until is None]
    if len(now) < 2:
        return list(jobs)
    packed = [j for j in jobs if not (j.job == DELIVER_ALERT and j.defer_until is None)]
    for start in range(0, len(now), DELIVERY_BATCH):
        batch = now[start : start + DELIVERY_BATCH]
        if len(batch) == 1:
            packed.append(batch[0])
            continue
        messages = [j.args[0] for j in batch]
        packed.append(
            QueuedJob(
                id=batch[0].id,
                job=DELIVER_ALERTS,
                job_id=deliver_alerts_job_id(messages[0]["alert_id"]),
                args=[messages],
                defer_until=None,
                request_id=batch[0].request_id,
            )
        )
    return packed


class DispatchAfterCommit:
    """The after-commit hook of the request boundary: hands the jobs a committed transaction
    recorded to arq, and leaves them to the relay on failure.

    The rows are marked dispatched a little later, many requests' rows in one UPDATE
    (issue 22: a transaction of its own after every registration and every flag batch was
    three round trips and a pooled connection each). A row not yet marked when the process
    dies is enqueued again by the relay under the same job id, which arq leaves alone while
    the job or its result exists: the window only widens by `delay`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        delay: float = MARK_DELAY_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.delay = delay
        self._ids: list[uuid.UUID] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, state: AppState, unit: UnitOfWork) -> None:
        """Enqueue what the unit of work recorded; mark it dispatched soon after."""
        messages = unit.take(PENDING_JOBS)
        if not messages:
            return
        try:
            await enqueue_many(state.arq, pack_deliveries(messages))
        except Exception:  # Redis down: the relay in the sweep picks them up.
            log.warning("outbox: %d jobs left for the relay", len(messages), exc_info=True)
            return
        self._ids.extend(m.id for m in messages)
        if self._task is None or self._task.done():
            # In a context of its own: the marking belongs to no one request (its trace id,
            # its statement count).
            self._task = asyncio.create_task(self._mark_soon(), context=contextvars.Context())

    async def _mark_soon(self) -> None:
        await asyncio.sleep(self.delay)
        await self.flush()

    async def flush(self) -> None:
        """Mark every row enqueued so far dispatched, now."""
        while self._ids:
            ids, self._ids = self._ids[:MARK_BATCH], self._ids[MARK_BATCH:]
            try:
                async with self.sessionmaker() as marker:
                    await OutboxRepository(marker).mark_dispatched(ids, utcnow())
                    await marker.commit()
            except Exception:  # left for the relay, which enqueues them again harmlessly
                log.warning("outbox: %d rows not marked dispatched", len(ids), exc_info=True)

    async def close(self) -> None:
        """Mark what is pending before the engine goes (the app's shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


async def missing_from_redis(arq: ArqRedis, job_ids: Collection[str]) -> set[str]:
    """Which of these jobs Redis holds no trace of: not queued or deferred, not running, no
    result kept (a write a failover lost; arq writes a job's key and queue entry together,
    and its result with the key's removal)."""
    wanted = sorted(set(job_ids))
    missing: set[str] = set()
    for start in range(0, len(wanted), ENQUEUE_CHUNK):
        chunk = wanted[start : start + ENQUEUE_CHUNK]
        async with arq.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.exists(
                    job_key_prefix + job_id,
                    in_progress_key_prefix + job_id,
                    result_key_prefix + job_id,
                )
            found = await pipe.execute()
        missing |= {job_id for job_id, n in zip(chunk, found, strict=True) if not n}
    return missing


async def hand_out_again(session: AsyncSession, arq: ArqRedis, ids: Sequence[uuid.UUID]) -> int:
    """Enqueue these handed-out messages again at once (Redis lost them: they are not left to
    the relay, which goes oldest first); returns how many."""
    repo = OutboxRepository(session)
    messages = await repo.lock_many(ids)
    if messages:
        await enqueue_many(arq, [queued(m) for m in messages])
        await repo.mark_handed_out_again([m.id for m in messages], utcnow())
    return len(messages)


async def relay_undispatched(
    session: AsyncSession, arq: ArqRedis, grace: timedelta, limit: int = 500
) -> int:
    """Enqueue outbox messages older than `grace` that never reached Redis; returns how many."""
    repo = OutboxRepository(session)
    messages = await repo.claim_undispatched(utcnow() - grace, limit)
    if messages:
        # Not packed: a batch is named after its first alert, and rows of several requests
        # (one of them dispatched already, in a batch of that name) would make a batch whose
        # name exists; arq would drop it, and the others' alerts with it.
        await enqueue_many(arq, [queued(m) for m in messages])
        await repo.mark_dispatched([m.id for m in messages], utcnow())
    return len(messages)
