"""Veto and score bodies: every verdict and deduction names the cases, deadlines and other
recorded facts behind it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.models.case import LodgedLevel
from api.models.unit import UnitLevel
from api.policies.scoring import ScoreEvent
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


class ScoreQuery(AssessmentQuery):
    """Filters of the score endpoint: which rule table."""

    table: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="The key of the rule table to score by (each table on its own scale); "
        "default: the policy's first (seed 001 第一篇, points of 100; 二 is 第二篇, points of 2).",
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


class FactType(StrEnum):
    """What a recorded fact behind a deduction is."""

    case = "case"  # a collective visit (its case)
    deadline = "deadline"  # a deadline, missed or met late (or an arrival that decided a visit)
    case_event = "case_event"  # an entry of a case's timeline (退回重办)
    screening_item = "screening_item"  # an entry of the dispute screening register
    roster_day = "roster_day"  # a reception day of a unit's duty roster (接访日)


class Fact(BaseModel):
    """One recorded fact behind a deduction, to drill down to."""

    type: FactType
    id: uuid.UUID | None = Field(
        description="The case's, deadline's, timeline event's or register entry's id (a "
        "roster day has none)."
    )
    kind: str = Field(
        description="What it is: a visit's lodged level, a deadline's kind, a timeline "
        "action, the part a screened dispute lacks (plan, measures), roster_day."
    )
    status: str | None = Field(
        default=None,
        description="A deadline's outcome: missed, late (met after it fell due), met or open.",
    )
    role: str | None = Field(default=None, description="The role a deadline was owed in.")
    unit_id: uuid.UUID | None = Field(
        default=None, description="The unit it was owed by or happened in."
    )
    at: datetime = Field(
        description="When the deadline fell due, the event happened, the visit was received, "
        "the dispute was registered, or the roster day began."
    )
    closed_at: datetime | None = Field(
        default=None, description="When a deadline was met or flagged missed."
    )
    case_id: uuid.UUID | None = None
    case_number: str | None = None


class Deduction(BaseModel):
    """Points taken off a section for one occurrence of a rule's event, with the recorded
    facts behind it; the occurrences past the rule's cap are folded into one of 0 points."""

    rule: str = Field(description="The key of the rule (考评细则) that deducted it.")
    event: ScoreEvent
    table: str
    section: str
    points: float = Field(description="Points deducted, after the rule's cap.")
    capped: bool = Field(
        default=False, description="Whether the rule's cap cut (or left nothing of) it."
    )
    occurrences: int = Field(
        default=1, description="How many occurrences it stands for (more only past the cap)."
    )
    description: str
    at: datetime = Field(
        description="When the visit was received, the deadline fell due or the fact happened."
    )
    case_id: uuid.UUID | None
    case_number: str | None
    deadline_ids: list[uuid.UUID] = Field(
        description="The deadlines that decided it: a missed one, or the arrival deadlines "
        "that tell whether the leaders came in time."
    )
    facts: list[Fact] = Field(default_factory=list, description="Everything behind it.")


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
    """A unit's score (考评得分) in one rule table, with its sections and deductions."""

    unit_id: uuid.UUID
    name: str
    level: UnitLevel
    parent_id: uuid.UUID | None
    rank: int = Field(description="1 for the best score; equal scores share a rank.")
    score: float
    maximum: float = Field(description="The table's maximum (the sum of its sections').")
    sections: list[SectionScore]
    deductions: list[Deduction]


class ScoreTableRead(BaseModel):
    """A rule table and its scale."""

    key: str
    name: str
    description: str
    maximum: float = Field(description="The sum of its sections' maxima.")


class ScoreReport(BaseModel):
    """Scores of every unit in scope under one rule table (考评细则), best first."""

    year: int
    unit_id: uuid.UUID | None
    policy_version: int
    table: str = Field(description="The key of the table scored by.")
    tables: list[ScoreTableRead] = Field(description="Every table of the policy, to ask for.")
    units: list[UnitScore]
