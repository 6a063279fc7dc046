"""Alert response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from api.kit.pagination import ListQuery
from api.models.alert import AlertChannel, AlertStatus


class AlertRead(BaseModel):
    """An alert with its delivery state; `id` is the message id sent to the provider."""

    id: uuid.UUID
    case_id: uuid.UUID | None
    deadline_id: uuid.UUID | None
    escalation_id: uuid.UUID | None
    official_id: uuid.UUID | None
    purpose: str = Field(description="`summons` (到位通知) or `escalation` (督办).")
    channel: AlertChannel
    recipient: str
    contact_index: int | None = Field(
        description="Which of the official's contacts (0: the first); later ones are fallbacks."
    )
    text: str
    status: AlertStatus
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AlertQuery(ListQuery):
    """Filters of `GET /v1/alerts`; each one given must match."""

    status: AlertStatus | None = None
    case_id: uuid.UUID | None = None
    official_id: uuid.UUID | None = None
