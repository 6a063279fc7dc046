"""Deadline response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from api.deadlines.models import DeadlineKind, DeadlineStatus


class DeadlineRead(BaseModel):
    """A deadline as the API shows it."""

    id: uuid.UUID
    case_id: uuid.UUID | None
    kind: DeadlineKind
    role: str
    official_id: uuid.UUID | None
    unit_id: uuid.UUID
    starts_at: datetime
    due_at: datetime
    status: DeadlineStatus
    closed_at: datetime | None
    flags: list[str]
    created_at: datetime
    updated_at: datetime
