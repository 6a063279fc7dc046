"""Escalation response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from api.kit.pagination import ListQuery
from api.models.escalation import EscalationStatus
from shared.jsontypes import JsonInt


class EscalationRead(BaseModel):
    """An escalation step and who it notified."""

    id: uuid.UUID
    deadline_id: uuid.UUID
    case_id: uuid.UUID | None
    step: int
    reason: str
    status: EscalationStatus
    recipients: list[uuid.UUID]
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class EscalationQuery(ListQuery):
    """Filters of `GET /v1/escalations`; each one given must match."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"unanswered"})

    status: EscalationStatus | None = None
    case_id: uuid.UUID | None = None
    deadline_id: uuid.UUID | None = None
    unanswered: bool | None = Field(
        default=None,
        description="Only (true) or none of (false) the steps that reached the county petition "
        "office because nobody answered: reason `unanswered` (the chain ran out "
        "unacknowledged) or `nobody_to_notify` (无人可通知: vacant post, no contact).",
    )


class EscalateBody(BaseModel):
    """Manual escalation to a later step of the chain."""

    model_config = ConfigDict(extra="forbid")

    step: JsonInt = Field(ge=1, description="The chain step to open now (0 is the first).")
