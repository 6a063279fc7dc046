"""Alerts: creating them with the change that causes them, and recording delivery."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.models import Alert, AlertChannel, AlertStatus
from api.alerts.repository import AlertRepository
from api.alerts.schemas import AlertQuery
from api.db import utcnow
from api.errors import NotFound
from api.officials.models import Official
from api.outbox.service import record_job
from shared.contracts import (
    JOB_DELIVER_ALERT,
    AlertAttempt,
    AlertMessage,
    deliver_alert_job_id,
)


def sms_number(official: Official) -> str | None:
    """The official's SMS number: the first SMS contact, else their phone."""
    for contact in official.contacts:
        if contact.get("channel") == "sms" and contact.get("address"):
            return str(contact["address"])
    return official.phone


def message_of(alert: Alert) -> AlertMessage:
    """The job payload that delivers this alert."""
    return AlertMessage(
        alert_id=alert.id, channel=alert.channel.value, to=alert.recipient, text=alert.text
    )


async def alert_official(
    session: AsyncSession,
    official: Official,
    *,
    purpose: str,
    text: str,
    case_id: uuid.UUID | None,
    deadline_id: uuid.UUID | None = None,
    escalation_id: uuid.UUID | None = None,
) -> Alert:
    """Record an SMS alert to the official and its delivery job, in the current transaction.

    An official without a number still gets an alert row, marked failed, so the gap shows.
    """
    number = sms_number(official)
    alert = Alert(
        id=uuid.uuid4(),
        case_id=case_id,
        deadline_id=deadline_id,
        escalation_id=escalation_id,
        official_id=official.id,
        purpose=purpose,
        channel=AlertChannel.sms,
        recipient=number or "",
        text=text,
        status=AlertStatus.pending if number else AlertStatus.failed,
        last_error=None if number else "official has no SMS number",
    )
    AlertRepository(session).add(alert)
    if number:
        record_job(
            session,
            JOB_DELIVER_ALERT,
            deliver_alert_job_id(alert.id),
            [message_of(alert).model_dump(mode="json")],
        )
    return alert


async def record_attempt(
    session: AsyncSession, alert_id: uuid.UUID, attempt: AlertAttempt
) -> Alert:
    """Apply the worker's report of one delivery attempt; late or repeated reports are harmless."""
    alert = await AlertRepository(session).get(alert_id, for_update=True)
    if alert is None:
        raise NotFound(f"Alert {alert_id} does not exist.")
    if alert.status in (AlertStatus.sent, AlertStatus.delivered):
        return alert
    alert.attempts = max(alert.attempts, attempt.attempt)
    if attempt.ok:
        alert.status = AlertStatus.sent
        alert.sent_at = utcnow()
        alert.last_error = None
    else:
        alert.last_error = attempt.error
        if attempt.final:
            alert.status = AlertStatus.failed
    alert.updated_at = utcnow()
    await session.flush()
    return alert


async def stale_pending_messages(
    session: AsyncSession, older_than: datetime, limit: int = 500
) -> list[AlertMessage]:
    """Pending alerts nobody touched for a while (their job may be lost); touched now."""
    alerts = await AlertRepository(session).claim_stale_pending(older_than, limit)
    now = utcnow()
    for alert in alerts:
        alert.updated_at = now
    await session.flush()
    return [message_of(a) for a in alerts]


async def list_alerts(session: AsyncSession, query: AlertQuery) -> tuple[list[Alert], str | None]:
    """A page of alerts."""
    return await AlertRepository(session).list(query)
