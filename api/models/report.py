"""Situation reports: the twice-monthly "zero concealment" report (零隐报, seed 002)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class SituationReport(RecordModel):
    """One officer's report for one period; `zero` means nothing to report, which counts."""

    __tablename__ = "situation_reports"
    __table_args__ = (
        UniqueConstraint("official_id", "period_day", name="uq_situation_reports_period"),
    )

    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    period_day: Mapped[date] = mapped_column(index=True)
    zero: Mapped[bool]
    content: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    submitted_at: Mapped[datetime]
    on_time: Mapped[bool]
