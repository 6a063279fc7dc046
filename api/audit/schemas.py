"""Audit trail views and filters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from api.kit.pagination import ListQuery


class AuditQuery(ListQuery):
    """Filters of `GET /v1/audit`."""

    official_id: uuid.UUID | None = None
    object_id: uuid.UUID | None = None
    action: Literal["read", "change", "refused"] | None = None


class AuditRead(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    official_id: uuid.UUID | None
    action: str
    method: str
    route: str
    path: str
    object_id: uuid.UUID | None
    status: int
    client: str | None
    ip: str | None
    query: dict[str, Any]
