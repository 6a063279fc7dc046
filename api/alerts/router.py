"""`/v1/alerts`: every message and its delivery state; the worker reports attempts here."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.alerts import delivery, service
from api.alerts.schemas import AlertQuery, AlertRead
from api.auth.dependencies import CurrentPrincipal, WorkerCaller, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.models.alert import AlertChannel
from shared.contracts import (
    AlertAttempt,
    AlertAttemptBatch,
    AlertAttemptsRecorded,
    BundleOutcome,
)

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
internal_router = APIRouter(
    prefix="/v1/internal/alerts", tags=["internal"], dependencies=[WorkerCaller]
)


@router.get("", **needs(Permission.read_cases))
async def list_alerts(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[AlertQuery, Query()]
) -> Page[AlertRead]:
    """List the alerts to officials of the caller's territory (and to the caller) with
    channel, recipient, status, attempts and last error."""
    rows, next_cursor = await service.list_alerts(session, query, principal.reach, principal.id)
    return Page(
        items=[AlertRead.model_validate(a, from_attributes=True) for a in rows],
        next_cursor=next_cursor,
    )


@internal_router.post("/bundles/flush")
async def flush_bundle(
    session: DbSession,
    channel: AlertChannel,
    recipient: Annotated[str, Query(min_length=1, max_length=2000)],
) -> BundleOutcome:
    """Worker only: the rate-limit window ended; send the held alerts as one bundle."""
    bundle = await service.flush_bundle(session, channel.value, recipient)
    return BundleOutcome(bundle_alert_id=bundle.id if bundle else None)


@internal_router.post("/attempts")
async def report_attempts(body: AlertAttemptBatch, session: DbSession) -> AlertAttemptsRecorded:
    """Worker only: record the outcomes of many delivery attempts at once (an alert unknown
    here is skipped, not an error: the batch is still recorded)."""
    return AlertAttemptsRecorded(recorded=await delivery.record_attempts(session, body.attempts))


@internal_router.post("/{alert_id}/attempts")
async def report_attempt(alert_id: uuid.UUID, body: AlertAttempt, session: DbSession) -> AlertRead:
    """Worker only: record the outcome of one delivery attempt."""
    alert = await delivery.record_attempt(session, alert_id, body)
    return AlertRead.model_validate(alert, from_attributes=True)
