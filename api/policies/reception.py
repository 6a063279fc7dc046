"""Leader reception (领导接访, seed 004; seed 002 第二篇 二)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, StrictBool, model_validator

from api.kit.i18n import Message
from api.models.unit import UnitLevel
from api.policies.base import StrictModel
from shared.jsontypes import IsoDuration, JsonInt

IsoWeekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 Monday … 7 Sunday.")]


class ReceptionDays(StrictModel):
    """On which days a unit of one level owes a leader on reception duty (接访日)."""

    unit_level: UnitLevel
    weekdays: list[IsoWeekday] = Field(
        min_length=1, max_length=7, description="Weekdays with a duty leader (ISO numbers)."
    )
    working_days_only: StrictBool = Field(
        default=True,
        description="Only those of the weekdays that are working days of the calendar "
        "(public holidays skipped, make-up workdays 调休 included when their weekday is listed).",
    )

    @model_validator(mode="after")
    def _distinct_weekdays(self) -> ReceptionDays:
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError(Message("weekdays must not repeat"))
        return self


def _reception_days() -> list[ReceptionDays]:
    return [
        # seed 004 三(一): 每周二为政府班子成员信访接待日.
        ReceptionDays(unit_level=UnitLevel.county, weekdays=[2]),
        # seed 002 第二篇 二: 每天安排一名班子成员值班接访 (every working day).
        ReceptionDays(unit_level=UnitLevel.town, weekdays=[1, 2, 3, 4, 5, 6, 7]),
    ]


class ReceptionPolicy(StrictModel):
    """Leader reception (领导接访, seed 004; seed 002 第二篇 二): the duty roster's days,
    appointments (约访) and field visits carrying cases (带案下访)."""

    days: list[ReceptionDays] = Field(
        default_factory=_reception_days,
        max_length=5,
        description="Reception days per unit level (接访日程): the county's leaders every "
        "Tuesday (seed 004 三(一)), the town's one leader every working day (seed 002 第二篇 "
        "二). A unit of a level not listed owes no duty leader.",
    )
    appointment_grace: IsoDuration = Field(
        default=timedelta(hours=2),
        gt=timedelta(0),
        le=timedelta(days=7),
        description="An appointment (约访, seed 004 三(二)) not recorded as held this long "
        "after its time is missed and escalates.",
    )
    field_visits_per_month: JsonInt = Field(
        default=2,
        ge=1,
        le=31,
        description="Field visits carrying cases (带案下访) each leader makes at least each "
        "month (seed 002 第五篇: 坚持党政领导带案下访,每月至少两次).",
    )
    field_visit_levels: list[UnitLevel] = Field(
        default_factory=lambda: [UnitLevel.county, UnitLevel.town],
        max_length=5,
        description="Levels of the units whose chiefs and deputies owe the monthly field "
        "visits (党政领导: county and town leadership).",
    )

    @model_validator(mode="after")
    def _one_rule_per_level(self) -> ReceptionPolicy:
        levels = [d.unit_level for d in self.days]
        if len(levels) != len(set(levels)):
            raise ValueError(Message("one reception-day rule per unit level"))
        return self

    def days_for(self, level: UnitLevel) -> ReceptionDays | None:
        """The reception-day rule of units of `level`, if they owe a duty leader."""
        return next((d for d in self.days if d.unit_level is level), None)
