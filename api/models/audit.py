"""The audit trail (审计日志): who read or changed what, when, from where. Append-only: the
database refuses to update or delete a row (trigger in migration 0010)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class AuditEntry(RecordModel):
    """One request that read a case (or the audit itself), changed something, or was refused."""

    __tablename__ = "audit_entries"

    official_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"), index=True)
    action: Mapped[str] = mapped_column(String(16), doc="read, change or refused")
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(
        String(200), doc="The route template, e.g. /v1/cases/{case_id}"
    )
    path: Mapped[str] = mapped_column(String(500))
    object_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(300), doc="The caller's User-Agent.")
    ip: Mapped[str | None] = mapped_column(String(64))
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
