"""Sensitive periods (敏感时期, seed 001 第一篇 (四), 第三篇)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated

from pydantic import Field, StrictBool, model_validator

from api.kit.i18n import Message
from api.policies.base import StrictModel
from shared.jsontypes import IsoDate, IsoDuration, JsonInt

ShorterDuration = Annotated[
    IsoDuration, Field(gt=timedelta(0), description="ISO 8601 duration, e.g. PT15M")
]

EXAMPLE_PERIODS = [
    {
        "key": "lianghui-2027",
        "name": "全国两会",
        "starts_on": "2027-03-01",
        "ends_on": "2027-03-15",
        "arrival": {"chief": "PT15M", "staff": "PT20M"},
        "daily_report": True,
    }
]


class ArrivalOverrides(StrictModel):
    """Arrival times (到位时限) of a sensitive period that replace the normal ones
    (`arrival.chief`, `arrival.staff`, `arrival.leader`); an omitted one stays as it is. A
    period only tightens: an override longer than the normal time is rejected with the policy
    (and where it were not, the normal, shorter time would still apply)."""

    chief: ShorterDuration | None = Field(
        default=None, description="Village/area chief on the scene after the summons."
    )
    staff: ShorterDuration | None = Field(
        default=None, description="Petition staff of the unit concerned on the scene."
    )
    leader: ShorterDuration | None = Field(
        default=None, description="Deputy or chief of the lodged unit for large collective visits."
    )

    def longer_than(self, chief: timedelta, staff: timedelta, leader: timedelta) -> list[str]:
        """The overrides longer than the normal arrival times given, by name."""
        normal = {"chief": chief, "staff": staff, "leader": leader}
        return [
            name
            for name, limit in normal.items()
            if (value := getattr(self, name)) is not None and value > limit
        ]


class SensitivePeriod(StrictModel):
    """A sensitive period (敏感时期): a window of local days (Asia/Shanghai, both ends
    included) such as 全国两会 or 春节 with its own duties: a situation report every day
    (日报告制度, seed 001 第一篇 (四).2: 每漏报1次扣1分; zero reports count) and, when
    given, shorter arrival times."""

    key: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="Short name (slug) used in URLs, e.g. `lianghui-2027`.",
    )
    name: str = Field(min_length=1, max_length=50, description="e.g. 全国两会, 春节, 国庆.")
    starts_on: IsoDate = Field(description="First local day of the window.")
    ends_on: IsoDate = Field(description="Last local day of the window (included).")
    arrival: ArrivalOverrides = Field(
        default_factory=ArrivalOverrides,
        description="Shorter arrival times in force for visits received in the window (the "
        "seeds give no number for them: the county sets its own).",
    )
    daily_report: StrictBool = Field(
        default=True,
        description="Every day of the window, the officers who owe situation reports "
        "(`reports.roles`) owe one for that day (日报告制度, seed 001 第一篇 (四).2; seed 001 "
        "第三篇: 加强两会期间的信访值班工作,确保信息畅通).",
    )

    all_day_reception: StrictBool = Field(
        default=True,
        description="Every day of the window, weekends and holidays included, each unit "
        "whose level has reception days (`reception.days`) owes a leader on reception duty "
        "all day (seed 001 第三篇: 各单位每天都要有一名班子成员坚持全天接访): the roster "
        "is generated for those days and the dashboard counts them as owed.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> SensitivePeriod:
        if self.starts_on > self.ends_on:
            raise ValueError(
                Message("period {key}: starts_on must not be after ends_on", key=self.key)
            )
        return self

    @property
    def days(self) -> int:
        """How many local days the window has."""
        return (self.ends_on - self.starts_on).days + 1

    def covers(self, day: date) -> bool:
        """Whether the local day is in the window."""
        return self.starts_on <= day <= self.ends_on


class SensitivePolicy(StrictModel):
    """Sensitive periods (敏感时期, seed 001 第一篇 (四), 第三篇). Their dates change every
    year (两会 in early March, 春节 with the lunar calendar), so none is set by default: the
    county adds each year's windows."""

    periods: list[SensitivePeriod] = Field(
        default_factory=list,
        max_length=50,
        description="The windows, none overlapping another; keys unique. Default: none "
        "(the dates change every year).",
        examples=[EXAMPLE_PERIODS],
    )
    max_days: JsonInt = Field(
        default=62,
        ge=1,
        le=366,
        description="Longest window allowed, in days (a guard against a mistyped year: 双节两会 "
        "together run from before 元旦 to after the provincial 两会, seed 001 第一篇).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SensitivePolicy:
        keys = [p.key for p in self.periods]
        if len(keys) != len(set(keys)):
            raise ValueError(Message("sensitive period keys must be unique"))
        for period in self.periods:
            if period.days > self.max_days:
                raise ValueError(
                    Message(
                        "period {key}: {days} days is longer than max_days ({max_days})",
                        key=period.key,
                        days=period.days,
                        max_days=self.max_days,
                    )
                )
        ordered = sorted(self.periods, key=lambda p: p.starts_on)
        for before, after in pairwise(ordered):
            if after.starts_on <= before.ends_on:
                raise ValueError(
                    Message(
                        "periods {key} and {key2} overlap: make them one window",
                        key=before.key,
                        key2=after.key,
                    )
                )
        return self

    def reception_days(self, first: date, last: date) -> set[date]:
        """The days from `first` to `last` inside a window with all-day reception."""
        return {
            period.starts_on + timedelta(days=n)
            for period in self.periods
            if period.all_day_reception
            for n in range(period.days)
            if first <= period.starts_on + timedelta(days=n) <= last
        }

    def check_tightens(self, chief: timedelta, staff: timedelta, leader: timedelta) -> None:
        """Raise ValueError when a period's arrival time is longer than the normal one given
        (`Policy.arrival`): a sensitive period only shortens arrival times."""
        for period in self.periods:
            longer = period.arrival.longer_than(chief, staff, leader)
            if longer:
                raise ValueError(
                    Message(
                        "period {key}: arrival {names} longer than the normal arrival time",
                        key=period.key,
                        names=", ".join(longer),
                    )
                )

    def at(self, day: date) -> SensitivePeriod | None:
        """The period whose window holds the local day, if any."""
        return next((p for p in self.periods if p.covers(day)), None)

    def get(self, key: str) -> SensitivePeriod | None:
        """The period with this key, if any."""
        return next((p for p in self.periods if p.key == key), None)
