"""The audit trail (审计日志): who read or changed what, when, from where. Append-only: the
database refuses to update, delete or truncate (triggers, migrations 0010 and 0039).
Partitioned by month of `created_at` (China's local months: `audit_entries_2026_12`), so old
months can be detached and archived whole (`api.audit.archive`)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel, utcnow

# The name of a month's partition of the audit trail (made by the database's
# `audit_entries_ensure_partition`, not by the models), and of the one for rows of no month made.
AUDIT_PARTITION = re.compile(r"^audit_entries_(\d{4})_(\d{2})$")
AUDIT_DEFAULT_PARTITION = "audit_entries_default"


def not_a_partition(
    _obj: object, name: str | None, kind: str, reflected: bool, _to: object
) -> bool:
    """For Alembic's `include_object`: compare every table but the audit trail's month
    partitions, which the database makes (`audit_entries_ensure_partition`), and the default
    partition of migration 0040."""
    partition = bool(name and (AUDIT_PARTITION.match(name) or name == AUDIT_DEFAULT_PARTITION))
    return not (kind == "table" and reflected and partition)


class AuditEntry(RecordModel):
    """One request that read a case (or the audit itself), changed something, or was refused."""

    __tablename__ = "audit_entries"
    __table_args__ = ({"postgresql_partition_by": "RANGE (created_at)"},)

    # the partition key is part of the primary key (PostgreSQL's rule for a partitioned table)
    created_at: Mapped[datetime] = mapped_column(
        primary_key=True, default=utcnow, server_default=func.now()
    )

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
