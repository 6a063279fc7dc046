"""Veto and score bodies: every verdict and deduction names the cases and deadlines behind it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models.case import LodgedLevel
from api.models.unit import UnitLevel
from api.policies.schemas import ScoreEvent
from shared.jsontypes import Year


class AssessmentQuery(BaseModel):
    """Filters of the veto and score endpoints."""

    model_config = ConfigDict(extra="forbid")

    year: Year | None = Field(
        default=None,
        description="Calendar year of receipt in Asia/Shanghai; default: the current year.",
    )
    unit_id: uuid.UUID | None = Field(
        default=None, description="Only this unit's subtree (it must be in your territory)."
    )


class LodgedCount(BaseModel):
    """Collective visits lodged at one level (到街道 / 到区 / 到市 …)."""

    lodged_level: LodgedLevel
    count: int
    case_ids: list[uuid.UUID]


class VetoRuleVerdict(BaseModel):
    """One veto rule applied to one unit."""

    key: str
    description: str
    lodged_levels: list[LodgedLevel]
    at_least: int
    count: int
    applies: bool
    case_ids: list[uuid.UUID] = Field(description="The collective visits that count for it.")


class UnitVeto(BaseModel):
    """A unit's collective visits of the year and whether the one-vote veto applies."""

    unit_id: uuid.UUID
    name: str
    level: UnitLevel
    parent_id: uuid.UUID | None
    vetoed: bool
    counts: list[LodgedCount]
    rules: list[VetoRuleVerdict]


class VetoReport(BaseModel):
    """The one-vote veto (一票否决) of every area, village and department in scope."""

    year: int
    unit_id: uuid.UUID | None
    policy_version: int
    units: list[UnitVeto]


class Deduction(BaseModel):
    """Points taken off a section for one event, traceable to its case or deadline."""

    event: ScoreEvent
    section: str
    points: float
    description: str
    at: datetime = Field(description="When the visit was received or the deadline fell due.")
    case_id: uuid.UUID | None
    case_number: str | None
    deadline_ids: list[uuid.UUID] = Field(
        description="The deadlines that decided it: a missed report, or the arrival deadlines "
        "that tell whether the leaders came in time."
    )


class SectionScore(BaseModel):
    """A section of the rule table: its maximum, what was deducted, what is left (≥ 0)."""

    key: str
    name: str
    maximum: float
    deducted: float
    score: float
    assessed: bool = Field(
        description="Whether any rule of the table scores this section from the data; a "
        "section nothing scores keeps its maximum."
    )


class UnitScore(BaseModel):
    """A unit's score (考评得分) with its sections and deductions."""

    unit_id: uuid.UUID
    name: str
    level: UnitLevel
    parent_id: uuid.UUID | None
    rank: int = Field(description="1 for the best score; equal scores share a rank.")
    score: float
    maximum: float
    sections: list[SectionScore]
    deductions: list[Deduction]


class ScoreReport(BaseModel):
    """Scores of every unit in scope under the scoring rule table (考评细则), best first."""

    year: int
    unit_id: uuid.UUID | None
    policy_version: int
    units: list[UnitScore]
