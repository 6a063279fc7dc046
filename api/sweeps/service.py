"""The safety-net sweep: whatever the fast paths left behind."""

from __future__ import annotations

from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import stale_pending_messages
from api.db import utcnow
from api.deadlines.service import flag_overdue
from api.idempotency.repository import IdempotencyRepository
from api.outbox.service import relay_undispatched
from api.policies.service import current_policy
from api.reports.service import ensure_report_deadlines
from shared.contracts import JOB_DELIVER_ALERT, SweepReport, deliver_alert_job_id

# A pending alert untouched this long may have lost its job (e.g. Redis restarted empty).
STALE_ALERT_AFTER = timedelta(minutes=2)


async def sweep(
    session: AsyncSession, arq: ArqRedis, outbox_grace: timedelta, idempotency_retention: timedelta
) -> SweepReport:
    """Flag overdue deadlines, relay undispatched outbox rows, re-enqueue stale alerts, and
    forget Idempotency-Key responses past their retention.

    Every step is idempotent and safe to run from several workers at once (SKIP LOCKED,
    arq job ids).
    """
    missed = await flag_overdue(session)
    opened = await ensure_report_deadlines(session, (await current_policy(session)).policy)
    relayed = await relay_undispatched(session, arq, outbox_grace)
    stale = await stale_pending_messages(session, utcnow() - STALE_ALERT_AFTER)
    for message in stale:
        await arq.enqueue_job(
            JOB_DELIVER_ALERT,
            message.model_dump(mode="json"),
            _job_id=deliver_alert_job_id(message.alert_id),
        )
    forgotten = await IdempotencyRepository(session).purge_before(utcnow() - idempotency_retention)
    return SweepReport(
        deadlines_missed=missed,
        outbox_relayed=relayed,
        alerts_requeued=len(stale),
        idempotency_keys_purged=forgotten,
        report_deadlines_opened=opened,
    )
