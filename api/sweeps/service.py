"""The safety-net sweep: whatever the fast paths left behind."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import stale_pending_messages
from api.audit.repository import AuditRepository
from api.escalations.misses import flag_overdue
from api.idempotency.repository import IdempotencyRepository
from api.kit.db import utcnow
from api.kit.timeutil import local_today
from api.kit.uow import unit_of
from api.outbox.repository import OutboxRepository
from api.outbox.service import relay_undispatched
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
# Outbox rows handed to Redis and past their time are deleted this many at a time, at most
# this many times a sweep: a backlog (a first upgrade) drains over several sweeps, each sweep's
# transaction stays short.
OUTBOX_PURGE_BATCH = 5_000
OUTBOX_PURGE_BATCHES = 4
# The audit trail's partitions are kept made this many months ahead (this month and the next
# three): a month's is made once, weeks before its first row.
AUDIT_MONTHS_AHEAD = 4


def months_ahead(today: date, count: int) -> list[date]:
    """The first days of `count` months from `today`'s on."""
    first = today.replace(day=1)
    months = []
    for n in range(count):
        year, month = divmod(first.month - 1 + n, 12)
        months.append(date(first.year + year, month + 1, 1))
    return months


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


async def purge_outbox(session: AsyncSession, retention: timedelta) -> int:
    """Delete outbox rows handed to Redis more than `retention` ago (never less than the
    recovery's rerun window) and past their time, in batches; returns how many."""
    now = utcnow()
    before = now - max(retention, RERUN_WINDOW + timedelta(days=1))
    repo = OutboxRepository(session)
    purged = 0
    for _ in range(OUTBOX_PURGE_BATCHES):
        done = await repo.purge_handed_out(before, now, OUTBOX_PURGE_BATCH)
        purged += done
        if done < OUTBOX_PURGE_BATCH:
            break
    return purged


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
    relayed = await relay_undispatched(session, arq, outbox_grace)
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
    # after the recovery above: what it hands out again is undispatched, never purged
    purged = await purge_outbox(session, outbox_retention)
    # last: making a month's partition locks the trail until this transaction ends
    await AuditRepository(session).ensure_partitions(
        months_ahead(local_today(), AUDIT_MONTHS_AHEAD)
    )
    return SweepReport(
        deadlines_missed=missed,
        outbox_relayed=relayed,
        alerts_requeued=len(stale),
        idempotency_keys_purged=forgotten,
        outbox_rows_purged=purged,
        report_deadlines_opened=opened,
        duty_deadlines_opened=duties,
    )
