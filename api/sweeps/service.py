"""The safety-net sweep: whatever the fast paths left behind."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import stale_pending_messages
from api.audit.repository import AuditRepository
from api.escalations.misses import flag_overdue
from api.idempotency.repository import IdempotencyRepository
from api.kit.db import utcnow
from api.kit.timeutil import local_today, months_from
from api.kit.uow import unit_of
from api.outbox.repository import OutboxRepository
from api.outbox.service import hand_out_again, missing_from_redis, relay_undispatched
from api.policies.service import current_policy
from api.reception.service import ensure_field_visit_deadlines
from api.reports.service import ensure_report_deadlines
from api.screening.service import ensure_round_deadlines
from shared import tracing
from shared.contracts import AlertMessage, SweepReport, deliver_alert_job_id
from shared.jobs import (
    ADVANCE_ESCALATION,
    DELIVER_ALERT,
    FLAG_DUE,
    FLUSH_BUNDLE,
    REMIND_DEADLINE,
    START_ESCALATIONS,
)

log = logging.getLogger(__name__)

# A pending alert untouched this long may have lost its job (e.g. Redis restarted empty).
STALE_ALERT_AFTER = timedelta(minutes=2)
STALE_BATCH = 500
# Outbox rows one relay hands to Redis, and the most batches a sweep relays while they come
# back full: a backlog (a database restored into an empty Redis, a province's deferred checks
# after Redis lost its jobs: ~13 a live case) drains at 10,000 rows a sweep, while one sweep's
# transaction stays a second or two long.
RELAY_BATCH = 500
RELAY_BATCHES = 20
# Present in Redis from the first sweep on; missing, it means Redis came back empty (a
# restart without persistence, a failover, a flush) and every queued or deferred job is gone.
SWEPT_MARK = "{queue}:swept"
# Jobs whose second run is a no-op (the API checks what was done); recorded this recently,
# they are handed out again after Redis lost its jobs, whether or not they had run.
RERUNNABLE_JOBS = frozenset(
    {
        FLAG_DUE.name,
        START_ESCALATIONS.name,
        ADVANCE_ESCALATION.name,
        REMIND_DEADLINE.name,
        FLUSH_BUNDLE.name,
    }
)
RERUN_WINDOW = timedelta(days=1)
# Up to when the jobs handed out were last found in Redis. A failover loses the last writes
# but never an earlier one without the later ones (a replica applies the master's writes in
# order): if this mark survived, so did every job handed out before it; if it was lost, it
# went back in time and those jobs are looked for again.
VERIFIED_MARK = "{queue}:handouts-verified"
# Handouts are looked for again from this long before the mark (the API processes' clocks
# differ a little), and never further back than the rerun window.
VERIFY_MARGIN = timedelta(seconds=10)
# With no mark yet (the first sweep of this version), the last 50 minutes: the worker keeps a
# finished job's result an hour, so an older job that ran would look lost.
VERIFY_FIRST = timedelta(minutes=50)
# Outbox rows handed to Redis and past their time are deleted this many at a time, at most
# this many times a sweep: a backlog (a first upgrade) drains over several sweeps, each sweep's
# transaction stays short.
OUTBOX_PURGE_BATCH = 5_000
OUTBOX_PURGE_BATCHES = 4
# The audit trail's partitions are kept made this many months ahead (this month and the next
# three): a month's is made once, weeks before its first row.
AUDIT_MONTHS_AHEAD = 4


async def _in_batches(step: Callable[[int], Awaitable[int]], size: int, most: int) -> int:
    """Run `step(size)` until it does less than `size`, at most `most` times; how much in all."""
    done = 0
    for _ in range(most):
        did = await step(size)
        done += did
        if did < size:
            break
    return done


async def _redis_lost_jobs(session: AsyncSession, arq: ArqRedis) -> bool:
    """Whether Redis started empty since the last sweep (also true on the very first).

    The mark is set only once this sweep's recovery has committed: a sweep that fails leaves
    the recovery to the next one. Two sweeps recovering at once do no harm: what they hand
    out again reaches Redis under the same job ids."""
    mark = SWEPT_MARK.format(queue=arq.default_queue_name)
    if await arq.exists(mark):
        return False
    unit_of(session).after_commit(lambda: arq.set(mark, utcnow().isoformat()))
    return True


async def recheck_handouts(session: AsyncSession, arq: ArqRedis) -> int:
    """Hand out again the re-runnable jobs handed to Redis since the last check that Redis no
    longer holds (a failover that lost only the last writes leaves `SWEPT_MARK` in place, so
    the full recovery does not run); returns how many. The mark moves after commit."""
    now = utcnow()
    raw = await arq.get(VERIFIED_MARK.format(queue=arq.default_queue_name))
    since = now - VERIFY_FIRST
    if raw is not None:
        since = max(now - RERUN_WINDOW, datetime.fromisoformat(raw.decode()) - VERIFY_MARGIN)
    repo = OutboxRepository(session)
    handed = await repo.handed_out_since(since, RERUNNABLE_JOBS)
    missing = await missing_from_redis(arq, {job_id for _, job_id in handed})
    lost = [row_id for row_id, job_id in handed if job_id in missing]
    again = await hand_out_again(session, arq, lost)
    if again:
        log.warning(
            "sweep: %d jobs handed out since %s were not in Redis; handed out again",
            again,
            since.isoformat(),
        )
    mark_verified(session, arq, now)
    return again


def mark_verified(session: AsyncSession, arq: ArqRedis, now: datetime) -> None:
    """After commit, note that the jobs handed out before `now` are in Redis."""
    mark = VERIFIED_MARK.format(queue=arq.default_queue_name)
    unit_of(session).after_commit(lambda: arq.set(mark, now.isoformat()))


async def purge_outbox(session: AsyncSession, retention: timedelta) -> int:
    """Delete outbox rows handed to Redis, recorded and (if deferred) due more than
    `retention` ago (never less than the recovery's rerun window), in batches; returns how
    many."""
    before = utcnow() - max(retention, RERUN_WINDOW + timedelta(days=1))
    repo = OutboxRepository(session)
    return await _in_batches(
        lambda size: repo.purge_handed_out(before, size), OUTBOX_PURGE_BATCH, OUTBOX_PURGE_BATCHES
    )


async def sweep(
    session: AsyncSession,
    arq: ArqRedis,
    outbox_grace: timedelta,
    idempotency_retention: timedelta,
    outbox_retention: timedelta,
) -> SweepReport:
    """Flag overdue deadlines, relay undispatched outbox rows, re-enqueue stale alerts, and
    forget Idempotency-Key responses and handed-out outbox rows past their retention.

    Every step is idempotent and safe to run from several workers at once (SKIP LOCKED,
    arq job ids).
    """
    missed = await flag_overdue(session)
    policy = (await current_policy(session)).policy
    opened = await ensure_report_deadlines(session)
    duties = await ensure_round_deadlines(session, policy)
    duties += await ensure_field_visit_deadlines(session, policy)
    lost = await _redis_lost_jobs(session, arq)
    if lost:
        # Every job waiting in Redis is gone: give the relay back those still to run (and
        # those that may run twice), and requeue every pending alert now, not after a while.
        now = utcnow()
        undone = await OutboxRepository(session).undispatch_waiting(
            now, RERUNNABLE_JOBS, now - RERUN_WINDOW
        )
        if undone:
            log.warning("sweep: Redis lost its jobs; %d outbox jobs handed out again", undone)
        else:  # a first start, or an empty Redis that had nothing of ours: nothing to look into
            log.info("sweep: Redis holds no jobs of ours yet; none were waiting to run")
        mark_verified(session, arq, now)
    else:
        recovered = await recheck_handouts(session, arq)
    # After a loss, no grace: a row its own commit is still handing over goes twice under one
    # job id, which Redis keeps once.
    grace = timedelta(0) if lost else outbox_grace
    relayed = await _in_batches(
        lambda size: relay_undispatched(session, arq, grace, size), RELAY_BATCH, RELAY_BATCHES
    )
    stale_before = utcnow() - (timedelta(0) if lost else STALE_ALERT_AFTER)
    stale: list[AlertMessage] = []
    while True:
        found = await stale_pending_messages(session, stale_before, STALE_BATCH)
        for message in found:
            await arq.enqueue_job(
                DELIVER_ALERT,
                message.model_dump(mode="json"),
                _job_id=deliver_alert_job_id(message.alert_id),
                request_id=tracing.current(),
            )
        stale += found
        if not lost or len(found) < STALE_BATCH:
            break
    forgotten = await IdempotencyRepository(session).purge_before(utcnow() - idempotency_retention)
    # after the recovery above: what it hands out again was recorded inside the rerun window,
    # which the purge never reaches
    purged = await purge_outbox(session, outbox_retention)
    # last: making a month's partition locks the trail until this transaction ends
    audit = AuditRepository(session)
    await audit.ensure_partitions(
        [*months_from(local_today(), AUDIT_MONTHS_AHEAD), *await audit.stranded_months()]
    )
    return SweepReport(
        deadlines_missed=missed,
        outbox_relayed=relayed,
        alerts_requeued=len(stale),
        idempotency_keys_purged=forgotten,
        outbox_rows_purged=purged,
        jobs_handed_out_again=undone if lost else recovered,
        report_deadlines_opened=opened,
        duty_deadlines_opened=duties,
    )
