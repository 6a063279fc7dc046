"""Leader reception bodies: the duty roster, appointments, field visits and their figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.kit.i18n import Message
from api.kit.pagination import ListQuery
from api.models.case import LodgedLevel
from api.models.deadline import DeadlineStatus
from api.models.official import Role
from api.models.reception import AppointmentStatus
from shared.jsontypes import IsoDate, IsoDateTime, IsoMonth

Place = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=2000)]


# --- the duty roster (接访日程表) -------------------------------------------------------


class RosterEntryCreate(BaseModel):
    """A leader on reception duty in a unit for a day (接访日程)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID = Field(description="The unit whose reception the leader takes.")
    day: IsoDate = Field(description="The local day of duty; today or later.")
    official_id: uuid.UUID = Field(
        description="The leader on duty: a chief (主要负责人) or deputy (分管领导) of that unit."
    )
    place: Place | None = Field(default=None, description="Where they receive (接访室).")
    note: Note | None = None


class RosterEntryRead(BaseModel):
    """A day of a unit's published duty roster."""

    id: uuid.UUID
    unit_id: uuid.UUID
    unit_name: str
    day: date
    official_id: uuid.UUID
    official_name: str
    official_role: Role
    place: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class RosterQuery(BaseModel):
    """Filters of `GET /v1/reception/roster`: a unit (default: every unit in reach) and a span
    of local days (default: today and the 30 days after)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    max_days: ClassVar[int] = 366

    unit_id: uuid.UUID | None = Field(default=None, description="Only this unit's roster.")
    from_: IsoDate | None = Field(default=None, alias="from", description="Default: today.")
    to: IsoDate | None = Field(default=None, description="Default: 30 days after `from`.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError(Message("`from` must not be after `to`"))
        return self


class Roster(BaseModel):
    """The published duty roster (接访日程表公示) of the units in reach, by day."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    items: list[RosterEntryRead]


class RosterGenerate(BaseModel):
    """Fill a unit's month: its leaders take turns (轮流接访) over the policy's reception
    days for the unit's level."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID
    month: IsoMonth = Field(description="The month to fill, `YYYY-MM`; this month or later.")
    place: Place | None = Field(default=None, description="Where every generated day receives.")


class RosterGenerated(BaseModel):
    """What generating a month made."""

    unit_id: uuid.UUID
    month: str
    created: list[RosterEntryRead] = Field(description="The days added, in order.")
    already_set: list[date] = Field(description="Reception days that had a leader already.")


# --- appointments (约访) ----------------------------------------------------------------


class AppointmentCreate(BaseModel):
    """A leader's appointment with a petitioner (约访, seed 004 三(二))."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID = Field(description="The unit whose leader receives.")
    leader_id: uuid.UUID = Field(description="A chief or deputy of that unit.")
    case_id: uuid.UUID | None = Field(
        default=None, description="The case it is about; its timeline records the appointment."
    )
    petitioner_name: str = Field(min_length=1, max_length=100)
    at: IsoDateTime = Field(description="When they meet; in the future.")
    place: Place
    note: Note | None = None


class AppointmentRead(BaseModel):
    """An appointment; `missed` when not recorded as held within the policy's grace."""

    id: uuid.UUID
    unit_id: uuid.UUID
    leader_id: uuid.UUID
    case_id: uuid.UUID | None
    petitioner_name: str
    at: datetime
    place: str
    note: str | None
    status: AppointmentStatus
    deadline_id: uuid.UUID = Field(description="The `appointment` deadline holding the leader.")
    due_at: datetime = Field(description="Held by then, or the appointment is missed.")
    outcome: str | None
    held_at: datetime | None
    held_by: uuid.UUID | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    cancelled_by: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AppointmentQuery(ListQuery):
    """Filters of `GET /v1/reception/appointments`."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"status"})

    unit_id: uuid.UUID | None = None
    leader_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    status: AppointmentStatus | None = None


class HoldBody(BaseModel):
    """The leader's record of the meeting (接访记录)."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=5000, description="What was heard and agreed.")


class CancelBody(BaseModel):
    """Why an appointment is called off."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


# --- field visits carrying cases (带案下访) ----------------------------------------------


class FieldVisitCreate(BaseModel):
    """A leader's field visit carrying cases (带案下访, seed 002)."""

    model_config = ConfigDict(extra="forbid")

    day: IsoDate = Field(description="The local day of the visit; not in the future.")
    place: Place
    case_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=50, description="The cases carried, in the caller's territory."
    )
    note: Note | None = None
    official_id: uuid.UUID | None = Field(
        default=None, description="The leader who went; default and for leaders: the caller."
    )

    @model_validator(mode="after")
    def _distinct_cases(self) -> Self:
        if len(set(self.case_ids)) != len(self.case_ids):
            raise ValueError(Message("case_ids must not repeat"))
        return self


class FieldVisitRead(BaseModel):
    """A recorded field visit."""

    id: uuid.UUID
    official_id: uuid.UUID
    unit_id: uuid.UUID
    day: date
    place: str
    note: str | None
    case_ids: list[uuid.UUID]
    recorded_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class FieldVisitQuery(ListQuery):
    """Filters of `GET /v1/reception/field-visits`."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"case_id"})

    official_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    day: IsoDate | None = None
    case_id: uuid.UUID | None = Field(default=None, description="Visits that carried this case.")


class ProgressQuery(BaseModel):
    """Filters of `GET /v1/reception/field-visits/progress`."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID | None = Field(default=None, description="Default: the caller's unit.")
    month: IsoMonth | None = Field(default=None, description="Default: this month.")


class LeaderProgress(BaseModel):
    """One leader's field visits of the month against the minimum."""

    official_id: uuid.UUID
    name: str
    role: Role
    unit_id: uuid.UUID
    unit_name: str
    visits: int
    minimum: int
    reached: bool
    deadline_id: uuid.UUID | None = Field(description="The month's `field_visit` deadline.")
    deadline_status: DeadlineStatus | None


class FieldVisitProgress(BaseModel):
    """The month's field visits of the leaders who owe them in a unit's subtree
    (带案下访 每月至少两次)."""

    unit_id: uuid.UUID
    month: str
    minimum: int
    leaders: list[LeaderProgress]


# --- dashboard figures ------------------------------------------------------------------


class DutyToday(BaseModel):
    """A leader on reception duty today (今日接访领导)."""

    unit_id: uuid.UUID
    unit_name: str
    official_id: uuid.UUID
    official_name: str
    place: str | None


class AppointmentCounts(BaseModel):
    """Appointments (约访) whose time falls in the period, by status."""

    total: int
    scheduled: int
    held: int
    cancelled: int
    missed: int


class ReceptionFigures(BaseModel):
    """Leader reception (领导接访) of a unit subtree in a period."""

    today_on_duty: list[DutyToday] = Field(
        description="Today's duty roster (今日接访领导) of the subtree's units."
    )
    duty_days_owed: int = Field(
        description="Unit-days of the period that owe a duty leader by the policy's reception "
        "days (接访日); days of a year the calendar does not know are not counted."
    )
    duty_days_covered: int = Field(description="Of those, with a leader on the roster.")
    duty_days_uncovered: int = Field(description="Of those, with no leader on the roster.")
    appointments: AppointmentCounts = Field(description="约访 in the period, by status.")
    field_visits: int = Field(description="Field visits carrying cases (带案下访) in the period.")
    cases_carried: int = Field(description="Distinct cases carried on those visits.")
    leaders_owing: int = Field(
        description="Leaders who owe the monthly minimum of field visits (chiefs and deputies "
        "of the units at the policy's levels)."
    )
    leaders_below_minimum: int = Field(
        description="Of those, below this month's minimum so far (本月带案下访未达标)."
    )


class OnsiteDutyQuery(ListQuery):
    """Filters of `GET /v1/reception/onsite-duties`."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"open"})

    unit_id: uuid.UUID | None = Field(default=None, description="The unit concerned (事涉单位).")
    case_id: uuid.UUID | None = None
    level: LodgedLevel | None = None
    open: bool | None = Field(default=None, description="Not yet settled (true) or settled.")


class OnsiteGoer(BaseModel):
    """One official who must go (赴现场接待) and report reaching the petitioners and receiving
    them (到位), by its arrival deadline."""

    deadline_id: uuid.UUID
    official_id: uuid.UUID | None = Field(description="None when the post is vacant.")
    role: str
    unit_id: uuid.UUID
    due_at: datetime
    status: DeadlineStatus
    met_at: datetime | None


class OnsiteDutyRead(BaseModel):
    """An on-site reception duty: who went and when, and whether the matter was settled at
    home (事要解决: assigned with an owner leader) by its date. It records what the officials
    did, nothing of the petitioners' movements."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    level: LodgedLevel
    unit_id: uuid.UUID = Field(description="The unit concerned (事涉单位): the origin's town.")
    opened_at: datetime
    goers: list[OnsiteGoer]
    settle_due_at: datetime | None
    settle_status: DeadlineStatus | None
    settled_at: datetime | None
    created_at: datetime
    updated_at: datetime
