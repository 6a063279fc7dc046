"""The dashboard's figures as the API shows them (SPEC §6)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.kit.i18n import Message
from shared.jsontypes import IsoDate


class Rate(BaseModel):
    """A rate with what it is made of; `rate` is null when nothing counts yet."""

    numerator: int
    denominator: int
    rate: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Rate:
        """numerator / denominator, rounded to four places."""
        value = round(numerator / denominator, 4) if denominator else None
        return cls(numerator=numerator, denominator=denominator, rate=value)


class Rates(BaseModel):
    """The rates of SPEC §6."""

    on_time_disposition: Rate = Field(
        description="按时处置率: disposition deadlines met / settled."
    )
    on_time_completion: Rate = Field(description="按期办结率: handling deadlines met / settled.")
    satisfaction: Rate = Field(description="满意率: satisfied / feedback given.")
    first_visit_resolution: Rate = Field(
        description="初信初访一次办结率: first petitions concluded without review / concluded."
    )
    repeat: Rate = Field(description="重复访率: repeat petitions / cases.")
    skip_level: Rate = Field(
        description="越级访率: skip-level cases (`intake.skip_levels`) / cases."
    )
    arrival_on_time: Rate = Field(
        description="到位及时率: arrivals in time / arrival deadlines settled."
    )


class Arrivals(BaseModel):
    """Arrival deadlines (到位) settled in the period."""

    on_time: int
    missed: int


class Figures(BaseModel):
    """A unit subtree's figures for cases received in a period."""

    cases: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    by_category: dict[str, int]
    by_lodged_level: dict[str, int]
    collective: int = Field(description="Collective petitions (集体访).")
    rates: Rates
    arrivals: Arrivals
    open_overdue: int = Field(description="Cases still open past their handling time limit.")


class DayCount(BaseModel):
    """Cases received on one day, by channel."""

    day: date
    by_channel: dict[str, int]


class Summary(Figures):
    """`GET /v1/stats/summary`."""

    model_config = ConfigDict(populate_by_name=True)

    unit_id: uuid.UUID
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    per_day: list[DayCount]


class UnitRef(BaseModel):
    """A unit, briefly."""

    id: uuid.UUID
    name: str
    level: str
    parent_id: uuid.UUID | None


class UnitFigures(BaseModel):
    """One child unit's figures and its place in the ranking."""

    unit: UnitRef
    summary: Figures
    rank: int = Field(description="1 is best: by on-time completion, then fewest open overdue.")


class UnitsSummary(BaseModel):
    """`GET /v1/stats/units`: the child units of `unit_id`, ranked."""

    model_config = ConfigDict(populate_by_name=True)

    unit_id: uuid.UUID
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    items: list[UnitFigures]


class PeriodQuery(BaseModel):
    """A unit subtree and a period of received dates (local), both ends included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    unit_id: uuid.UUID | None = Field(default=None, description="Default: the caller's own unit.")
    from_: IsoDate | None = Field(
        default=None, alias="from", description="Default: 1 January of `to`'s year."
    )
    to: IsoDate | None = Field(default=None, description="Default: today.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError(Message("`from` must not be after `to`"))
        return self
