"""Bodies of `/v1/screening` and the dashboard's screening figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    computed_field,
    model_validator,
)

from api.kit.db import utcnow
from api.kit.i18n import Message
from api.kit.pagination import ListQuery
from api.models.screening import DisputeRisk, ScreeningStatus
from api.stats.schemas import Rate
from shared.jsontypes import IsoDate, IsoDateTime, IsoMonth


class InvolvedPerson(BaseModel):
    """Someone involved in the dispute (涉及人员)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    note: str | None = Field(
        default=None, max_length=500, description="Who they are to the dispute (身份, 诉求)."
    )


class ScreeningItemCreate(BaseModel):
    """A dispute or instability factor found by screening (排查出的矛盾纠纷和不稳定因素),
    entered in the register with its owning leader (包案领导), plan (化解方案) and
    containment measures (稳控措施)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID | None = Field(
        default=None,
        description="Where the dispute is, in the caller's territory; default the caller's unit.",
    )
    category: str = Field(
        min_length=1,
        max_length=64,
        description="A code of the category vocabulary (`GET /v1/categories`), e.g. "
        "`land.acquisition`, `labour.wages`, `forestry.hill_dispute`.",
    )
    category_text: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The matter in the screener's own words: required with `other`.",
    )
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    people: list[InvolvedPerson] = Field(
        default_factory=list, max_length=200, description="The people involved, by name."
    )
    people_count: int | None = Field(
        default=None, ge=1, le=1_000_000, description="How many people are involved (人数)."
    )
    location: str | None = Field(default=None, max_length=500, description="Where, in words.")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    risk_level: DisputeRisk = Field(
        description="高 high, 中 medium or 低 low. A high risk alerts the owning leader at once."
    )
    owner_leader_id: uuid.UUID = Field(
        description="The owning leader (包案领导): an active official of a leader role "
        "(`screening.leader_roles`, default chief or deputy) of the dispute's unit or a unit "
        "above it, in the caller's territory."
    )
    plan: str | None = Field(default=None, max_length=20000, description="化解方案.")
    measures: str | None = Field(default=None, max_length=20000, description="稳控措施.")
    screened_on: IsoDate | None = Field(
        default=None, description="The local day it was found, not after today; default today."
    )
    due_at: IsoDateTime | None = Field(
        default=None,
        description="The resolution time limit (化解时限), in the future; default the end of "
        "the local day `screening.resolution_days` of the risk level (7, 15, 30) after the "
        "screening day.",
    )

    @model_validator(mode="after")
    def _both_coordinates(self) -> ScreeningItemCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError(Message("give both lat and lon, or neither"))
        return self


class ScreeningItemUpdate(BaseModel):
    """Changes to an open item; each field given replaces the stored one. A changed owner or
    time limit replaces the owner's deadline; raising the risk without a new `due_at`
    shortens the time limit to the new level's default counted from now (never lengthens
    it); a change to high risk, or a new owner of a high-risk item, alerts the owner."""

    model_config = ConfigDict(extra="forbid")

    risk_level: DisputeRisk | None = None
    owner_leader_id: uuid.UUID | None = None
    plan: str | None = Field(default=None, max_length=20000, description="化解方案.")
    measures: str | None = Field(default=None, max_length=20000, description="稳控措施.")
    due_at: IsoDateTime | None = Field(
        default=None, description="The new resolution time limit, in the future."
    )


class ScreeningResolveBody(BaseModel):
    """化解: how the dispute was resolved."""

    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=20000, description="化解情况.")


class ScreeningConvertBody(BaseModel):
    """转为信访事项: the registered case the dispute became."""

    model_config = ConfigDict(extra="forbid")

    case_id: uuid.UUID = Field(description="A case in the caller's territory, not archived.")


class ScreeningCloseBody(BaseModel):
    """销号: why the item needs no resolving after all."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=5000, description="E.g. 经核实不属实, 矛盾已自行消除."
    )


class ScreeningItemRead(BaseModel):
    """A register entry (矛盾纠纷排查台账)."""

    id: uuid.UUID
    unit_id: uuid.UUID
    category: str
    category_text: str | None
    title: str
    description: str | None
    people: list[InvolvedPerson]
    people_count: int | None
    location: str | None
    lat: float | None
    lon: float | None
    risk_level: DisputeRisk
    owner_leader_id: uuid.UUID
    plan: str | None
    measures: str | None
    screened_on: date
    due_at: datetime = Field(description="化解时限.")
    status: ScreeningStatus = Field(
        description="open (在化解), resolved (已化解), converted (转为信访事项) or closed (销号)."
    )
    recorded_by: uuid.UUID
    resolution: str | None = Field(description="化解情况, or the reason it was closed.")
    resolved_at: datetime | None
    closed_at: datetime | None = Field(description="When it stopped being open.")
    case_id: uuid.UUID | None = Field(description="The case it was converted to.")
    deadline_id: uuid.UUID | None = Field(
        description="The owning leader's current `screening` deadline."
    )
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Open past its time limit (逾期未化解)."""
        return self.status is ScreeningStatus.open and self.due_at < utcnow()


class ScreeningItemQuery(ListQuery):
    """Filters of `GET /v1/screening/items`."""

    unit_id: uuid.UUID | None = None
    status: ScreeningStatus | None = None
    risk_level: DisputeRisk | None = None
    owner_leader_id: uuid.UUID | None = None


class ScreeningRoundCreate(BaseModel):
    """A weekly screening round (每周一排查); a zero round (零报告) lists nothing and still
    counts."""

    model_config = ConfigDict(extra="forbid")

    week: IsoDate | None = Field(
        default=None,
        description="The Monday of the ISO week screened: this week, or an earlier week whose "
        "round the caller owed (late). Default this week.",
    )
    zero: StrictBool = Field(description="Nothing found (零报告).")
    item_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=500,
        description="Register entries screened that week, in the caller's territory.",
    )
    note: str | None = Field(default=None, max_length=20000)

    @model_validator(mode="after")
    def _zero_means_empty(self) -> ScreeningRoundCreate:
        if self.zero and self.item_ids:
            raise ValueError(Message("a zero round lists no items"))
        if not self.zero and not self.item_ids and not self.note:
            raise ValueError(
                Message("a round that found something lists items or says it in a note")
            )
        return self


class ScreeningRoundRead(BaseModel):
    """A filed weekly screening round."""

    id: uuid.UUID
    official_id: uuid.UUID
    unit_id: uuid.UUID
    week: date = Field(description="The Monday of the week screened.")
    zero: bool
    item_ids: list[uuid.UUID]
    note: str | None
    submitted_at: datetime
    on_time: bool
    deadline_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ScreeningRoundQuery(ListQuery):
    """Filters of `GET /v1/screening/rounds`."""

    official_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    week: IsoDate | None = None
    zero: bool | None = None


class ScreeningRollupQuery(BaseModel):
    """Parameters of `GET /v1/screening/rollup`."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID | None = Field(
        default=None, description="The unit, in the caller's territory; default their own."
    )
    month: IsoMonth | None = Field(
        default=None, description="YYYY-MM (local); default the current month."
    )


class ScreeningRiskCounts(BaseModel):
    """Items by risk level."""

    high: int = Field(description="高风险.")
    medium: int = Field(description="中风险.")
    low: int = Field(description="低风险.")


class ScreeningRollupRow(BaseModel):
    """One unit's subtree in the monthly roll-up: the items screened in the month, as they
    stand now, and the month's weekly rounds."""

    unit_id: uuid.UUID
    unit_name: str
    screened: int = Field(description="Items screened (排查) in the month.")
    by_risk: ScreeningRiskCounts
    resolved: int = Field(description="Of them, resolved (已化解).")
    converted: int = Field(description="Of them, converted to petition cases (转为信访事项).")
    closed: int = Field(description="Of them, closed as needing no resolving (销号).")
    open: int = Field(description="Of them, still open (在化解).")
    overdue: int = Field(description="Of the open ones, past their time limit (逾期).")
    resolution_rate: Rate = Field(
        description="化解率 = resolved / (resolved + converted + open past due): an item "
        "counts once it is settled or overdue; one still within its time limit does not "
        "count yet, one closed as needing no resolving never."
    )
    meets_target: bool | None = Field(
        description="The rate reaches `screening.resolution_target` (null: nothing counts yet)."
    )
    rounds_owed: int = Field(description="Weekly round deadlines falling due in the month.")
    rounds_filed: int = Field(description="Of them, filed (in time or late).")
    rounds_missed: int = Field(description="Of them, missed (not filed in time).")


class ScreeningRollup(BaseModel):
    """每月一汇总: the month's screening of a unit's subtree and of each unit directly below."""

    unit_id: uuid.UUID
    month: str
    target: float = Field(description="The policy's resolution target (化解率目标).")
    total: ScreeningRollupRow = Field(description="The whole subtree of the unit.")
    children: list[ScreeningRollupRow] = Field(
        description="Each unit directly below, with its subtree."
    )


class ScreeningFigures(BaseModel):
    """Dispute screening (矛盾纠纷排查化解) of a unit subtree: the register now, and what
    happened in the period."""

    open_by_risk: ScreeningRiskCounts = Field(description="Items open now (在化解), by risk level.")
    high_risk_open: int = Field(description="High-risk items open now (高风险在化解).")
    open_overdue: int = Field(description="Items open past their time limit now (逾期未化解).")
    screened: int = Field(description="Items screened (排查) in the period.")
    resolved: int = Field(description="Items resolved (化解) in the period.")
    converted: int = Field(description="Items converted to petition cases in the period.")
    resolution_rate: Rate = Field(
        description="化解率 of the items screened in the period, as they stand now: "
        "resolved / (resolved + converted + open past due)."
    )
    resolution_target: float = Field(description="The policy's target (seed 001: 80%).")
    meets_target: bool | None = Field(description="Null while nothing counts.")
    rounds_owed: int = Field(description="Weekly round deadlines (每周一排查) due in the period.")
    rounds_filed: int = Field(description="Of them, filed (in time or late).")
    rounds_missed: int = Field(description="Of them, missed.")
