"""What the worker reports about a delivery. An alert that failed for good is handed to the
rooms that act on it (`api.alerts.service.alert_failed`): alerts do not know them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.repository import AlertRepository
from api.alerts.service import alert_failed
from api.kit.db import utcnow
from api.kit.metrics import ALERT_ATTEMPTS, count_after_commit
from api.models.alert import Alert, AlertStatus
from shared.contracts import AlertAttempt, AlertAttemptReport


async def record_attempts(session: AsyncSession, reports: Sequence[AlertAttemptReport]) -> int:
    """Apply a batch of the worker's reports in one transaction (a storm of deliveries must
    not cost a request each); reports of unknown alerts are skipped. Returns how many
    applied."""
    alerts = await AlertRepository(session).lock_many({r.alert_id for r in reports})
    for report in reports:
        if report.alert_id in alerts:
            await _apply(session, alerts[report.alert_id], report)
    await session.flush()
    return sum(1 for r in reports if r.alert_id in alerts)


async def _apply(session: AsyncSession, alert: Alert, attempt: AlertAttempt) -> None:
    outcome = "ok" if attempt.ok else ("failed" if attempt.final else "error")
    count_after_commit(session, ALERT_ATTEMPTS.labels(alert.channel.value, outcome).inc)
    if alert.status is not AlertStatus.pending:
        return
    alert.attempts = max(alert.attempts, attempt.attempt)
    alert.updated_at = utcnow()
    if attempt.ok:
        alert.status = AlertStatus.sent
        alert.sent_at = alert.updated_at
        alert.last_error = None
    else:
        alert.last_error = attempt.error
        if attempt.final:
            alert.status = AlertStatus.failed
            await alert_failed(session, alert, gone=attempt.gone)
