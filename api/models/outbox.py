"""Transactional outbox: jobs written with the change that causes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, utcnow


class OutboxMessage(Base):
    """A job for the worker, handed to arq only after its transaction committed."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_pending", "created_at", postgresql_where=text("dispatched_at IS NULL")),
        # the purge's rows, exactly: handed out, recorded and (if deferred) due before a time
        Index(
            "ix_outbox_purge",
            func.greatest(text("created_at"), text("defer_until")),
            postgresql_where=text("dispatched_at IS NOT NULL"),
        ),
        # the sweep's check of recent handouts (rows are handed out about in the order made)
        Index("ix_outbox_dispatched_brin", "dispatched_at", postgresql_using="brin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    defer_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    dispatched_at: Mapped[datetime | None]
