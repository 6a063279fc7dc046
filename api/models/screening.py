"""The dispute screening register (矛盾纠纷排查台账) and the weekly screening rounds."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel
from api.models.deadline import Deadline


class DisputeRisk(enum.StrEnum):
    """How likely a screened dispute is to turn into petitions or worse (风险等级)."""

    high = "high"  # 高
    medium = "medium"  # 中
    low = "low"  # 低


class ScreeningStatus(enum.StrEnum):
    """Where a screened dispute stands."""

    open = "open"  # 在化解
    resolved = "resolved"  # 已化解
    converted = "converted"  # 转为信访事项
    closed = "closed"  # 销号: found to need no resolving (不属实, 已自行消除)


class ScreeningItem(RecordModel):
    """One dispute or instability factor found by screening (矛盾纠纷 / 不稳定因素), with its
    owning leader (包案领导), resolution plan (化解方案), containment measures (稳控措施) and
    resolution time limit (化解时限)."""

    __tablename__ = "screening_items"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(64), ForeignKey("categories.code"))
    category_text: Mapped[str | None] = mapped_column(
        String(200), doc="The desk's own words where the code is `other` (or a transfer's)."
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    people: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    people_count: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(8), index=True)
    owner_leader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    plan: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    screened_on: Mapped[date] = mapped_column(index=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The current `screening` deadline of the owning leader (a replaced one stays behind).
    deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))


class ScreeningRound(RecordModel):
    """One official's weekly screening round (每周一排查) for their unit; `zero` means
    nothing was found (零报告), which counts as filed."""

    __tablename__ = "screening_rounds"
    __table_args__ = (UniqueConstraint("official_id", "week", name="uq_screening_rounds_week"),)

    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    week: Mapped[date] = mapped_column(index=True)  # the ISO week's Monday
    zero: Mapped[bool]
    item_ids: Mapped[list[str]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    on_time: Mapped[bool]
    deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))


# One round deadline per official and week, whichever sweeper or filing opens it: a week's
# deadline starts when the week does (its due time follows a policy that may change).
Index(
    "uq_deadlines_screening_round_week",
    Deadline.official_id,
    Deadline.starts_at,
    unique=True,
    postgresql_where=text("kind = 'screening_round'"),
)
