"""Calendar request and response bodies."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class DaySource(enum.StrEnum):
    """Where a day's verdict comes from."""

    override = "override"
    library = "library"
    unknown = "unknown"


class CalendarDay(BaseModel):
    """One local (Asia/Shanghai) date of the working-day calendar."""

    date: date
    is_workday: bool | None = Field(
        description="Null when the year is not in the holiday library and no override decides."
    )
    source: DaySource
    note: str | None = Field(
        description="The override's note, or the holiday (e.g. `国庆节`, `国庆节调休上班`)."
    )


class OverrideWrite(BaseModel):
    """An admin's verdict on one date, e.g. from a State Council notice the library lacks."""

    model_config = ConfigDict(extra="forbid")

    is_workday: StrictBool
    note: str | None = Field(default=None, max_length=500)
