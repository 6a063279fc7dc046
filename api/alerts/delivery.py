"""What the worker reports about a delivery, and what a failed delivery sets off: the next
contact, an `alert.failed` event, the next escalation step (failure itself escalates)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.repository import AlertRepository
from api.alerts.schemas import AlertRead
from api.alerts.service import alert_official, contacts_of, get_for_update
from api.escalations.repository import EscalationRepository
from api.escalations.service import advance
from api.events.service import disable, emit
from api.kit.db import utcnow
from api.kit.metrics import ALERT_ATTEMPTS, count_after_commit
from api.models.alert import Alert, AlertStatus
from api.models.escalation import Escalation
from api.officials.repository import OfficialRepository
from shared.contracts import AlertAttempt, AlertAttemptReport


async def record_attempt(
    session: AsyncSession, alert_id: uuid.UUID, attempt: AlertAttempt
) -> Alert:
    """Apply the worker's report of one delivery attempt; late or repeated reports are harmless."""
    alert = await get_for_update(session, alert_id)
    await _apply(session, alert, attempt)
    await session.flush()
    return alert


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
            await fail_over(session, alert, gone=attempt.gone)


async def fail_over(session: AsyncSession, alert: Alert, *, gone: bool) -> None:
    """What a failed alert sets off: for a subscriber, disabling a gone endpoint; for an
    official, `alert.failed`, then their next contact, else the chain's next step."""
    if alert.subscription_id is not None:
        if gone:  # 410: the receiver says the endpoint is gone for good
            await disable(session, alert.subscription_id, "endpoint answered 410 Gone")
        return  # a subscriber's failure is not an official's missed alert
    await emit(
        session,
        "alert.failed",
        {"alert": AlertRead.model_validate(alert, from_attributes=True).model_dump(mode="json")},
        case_id=alert.case_id,
    )
    official = (
        await OfficialRepository(session).get(alert.official_id) if alert.official_id else None
    )
    next_index = (alert.contact_index or 0) + 1
    if official is not None and next_index < len(contacts_of(official)):
        await alert_official(
            session,
            official,
            purpose=alert.purpose,
            # the same template, made for the next contact's channel
            template=alert.template if alert.template_fields is not None else None,
            fields=alert.template_fields or {"text": alert.text},
            case_id=alert.case_id,
            deadline_id=alert.deadline_id,
            escalation_id=alert.escalation_id,
            contact_index=next_index,
        )
        return
    if alert.escalation_id is not None:
        escalation: Escalation | None = await EscalationRepository(session).get(alert.escalation_id)
        if escalation is not None:
            await advance(session, escalation.deadline_id, escalation.step + 1)
