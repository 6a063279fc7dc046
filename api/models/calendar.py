"""Per-date overrides of the working-day calendar, set by an admin."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, utcnow


class CalendarOverride(Base):
    """An admin's verdict on one local date; it wins over the holiday library."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
