"""The monthly bulletin as the API shows it; the spreadsheet shows the same values."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models.unit import UnitLevel
from api.stats.schemas import Figures, Rate, UnitFigures, UnitRef
from shared.jsontypes import IsoMonth


class BulletinQuery(BaseModel):
    """Which month, for which unit."""

    model_config = ConfigDict(extra="forbid")

    month: IsoMonth | None = Field(
        default=None,
        description="The month as `YYYY-MM` (Asia/Shanghai); default: the previous month, "
        "the one a bulletin is issued for.",
    )
    unit_id: uuid.UUID | None = Field(
        default=None,
        description="The unit the bulletin is for (its child units are reported on); default: "
        "the caller's own unit. It must be in your territory.",
    )


class PraiseEntry(BaseModel):
    """A unit praised (通报表扬) under the policy's `bulletin.praise_*` conditions."""

    unit: UnitRef
    cases: int = Field(description="Cases received in the month.")
    on_time_completion: Rate = Field(description="按期办结率 of the month's cases.")
    reason: str = Field(description="Why, in Chinese, as printed.")


class MissedArrival(BaseModel):
    """An arrival deadline (到位时限) due in the month and missed: who did not come."""

    deadline_id: uuid.UUID
    case_id: uuid.UUID | None
    case_number: str | None
    official_id: uuid.UUID | None
    official_name: str | None
    role: str
    unit_id: uuid.UUID
    unit_name: str
    due_at: datetime


class MissedSettlement(MissedArrival):
    """A matter received on site (赴现场接待) not settled at home by its date (事要解决: assigned
    with an owner leader), due in the month: the chief of the unit concerned."""


class NoticeLapseRead(BaseModel):
    """A written notice that lapsed in the month (seed 001 第二篇 (二).2: 未按时出具受理告知单、
    答复意见, 送达回证…不规范): `late` served after its date, `not_served` not served by the
    month's end though due in it, `no_proof` served without its proof of service."""

    notice_id: uuid.UUID
    case_id: uuid.UUID
    case_number: str | None
    number: str
    kind: str
    unit_id: uuid.UUID
    unit_name: str
    due_at: datetime | None
    served_at: datetime | None
    lapse: Literal["late", "not_served", "no_proof"]


class OverdueCase(BaseModel):
    """A case overdue in the month: its handling time limit (办理时限) passed before the
    month's end and it was not yet answered when the month began."""

    deadline_id: uuid.UUID
    case_id: uuid.UUID | None
    case_number: str | None
    unit_id: uuid.UUID
    unit_name: str
    official_id: uuid.UUID | None
    official_name: str | None
    due_at: datetime
    handled_at: datetime | None = Field(
        description="When the case was answered (or closed), if it was."
    )
    days_over: int = Field(
        description="Days past the time limit until it was handled, the month ended or now, "
        "whichever came first; a part of a day counts as one."
    )
    open_at_month_end: bool = Field(description="Still not handled when the month ended.")


class VetoEntry(BaseModel):
    """A unit under the one-vote veto (一票否决) in the bulletin's year up to the month's end."""

    unit_id: uuid.UUID
    unit_name: str
    level: UnitLevel
    rules: list[str] = Field(description="The veto rules that apply, as described in the policy.")
    case_ids: list[uuid.UUID]
    case_numbers: list[str] = Field(description="The collective visits that count.")


class Criticism(BaseModel):
    """The criticism list (通报批评)."""

    missed_arrivals: list[MissedArrival]
    missed_settlements: list[MissedSettlement] = Field(
        default_factory=list,
        description="On-site receptions whose matter was not settled at home in time.",
    )
    notice_lapses: list[NoticeLapseRead] = Field(
        default_factory=list, description="Written notices late, not served or without proof."
    )
    overdue_cases: list[OverdueCase]
    vetoes: list[VetoEntry]


class CategoryCount(BaseModel):
    """Cases of one class received in the month (按信访事项分类)."""

    code: str
    name: str = Field(description="Its Chinese name (征地补偿 …).")
    group: str = Field(description="The Chinese name of its top-level class (大类).")
    cases: int
    share: float = Field(description="Its part of the month's cases (0–1).")


class MonthlyBulletin(BaseModel):
    """`GET /v1/reports/monthly`: the monthly bulletin (每月通报) of a unit."""

    model_config = ConfigDict(populate_by_name=True)

    title: str
    month: str = Field(description="`YYYY-MM`.")
    unit: UnitRef
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    policy_version: int
    totals: Figures = Field(description="The unit's own figures (its whole subtree).")
    units: list[UnitFigures] = Field(
        description="Each child unit's figures for the cases received in the month, ranked."
    )
    categories: list[CategoryCount] = Field(
        description="The month's cases by category, in the vocabulary's order, with names."
    )
    praise: list[PraiseEntry]
    criticism: Criticism
