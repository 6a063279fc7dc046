"""The dashboard's figures, kept as they change (SPEC §6): counters per unit and period, and
what each case last contributed to them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base


class StatCounter(Base):
    """One figure (`key`, e.g. `cases`, `channel:visit`, `arrival_missed`) of one unit's
    subtree for one day (`period` `d`) or one month (`period` `m`, `day` its first day).

    A case counts in its origin unit and every unit above it, on the local day it was
    received: a county's figures are one row per key, never a scan of its cases.
    """

    __tablename__ = "stat_counters"
    __table_args__ = (
        CheckConstraint("period IN ('d', 'm')", name="period"),
        # a summary's spans of days and months: ranges of the key, answered from the index
        # alone (migration 0035)
        PrimaryKeyConstraint("unit_id", "period", "day", "key", postgresql_include=["value"]),
        # the daily series of a few keys (cases per day by channel)
        Index(
            "ix_stat_counters_series",
            "unit_id",
            "period",
            "key",
            "day",
            postgresql_include=["value"],  # answered from the index alone
        ),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(1))
    day: Mapped[date] = mapped_column()
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class CaseFacts(Base):
    """What one case adds to the counters now; a change to the case adds the difference."""

    __tablename__ = "case_stat_facts"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
