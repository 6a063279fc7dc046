"""Deadline response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from api.kit.pagination import ListQuery
from api.models.deadline import DeadlineKind, DeadlineStatus


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
    subject: str | None = Field(
        description="What a deadline without a case is about (a screened dispute, a month)."
    )
    created_at: datetime
    updated_at: datetime


class DeadlineQuery(ListQuery):
    """Filters of `GET /v1/deadlines`; each one given must match."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"flag"})

    status: DeadlineStatus | None = None
    kind: DeadlineKind | None = None
    case_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    official_id: uuid.UUID | None = None
    flag: str | None = Field(
        default=None,
        max_length=64,
        description="Deadlines carrying this flag, e.g. `calendar_unknown_year`, `post_vacant`.",
    )
