"""Bodies of `/v1/decisions` and the dashboard's decision figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.kit.pagination import ListQuery
from api.models.case import CaseStatus
from api.models.decision import (
    Conclusion,
    DecisionKind,
    DecisionStatus,
    Dimension,
    RiskLevel,
    Verdict,
)
from shared.jsontypes import IsoDate


class Finding(BaseModel):
    """The verdict on one dimension of the assessment, with the reasoning behind it."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict = Field(
        description="`sound` (无问题), `concerns` (存在隐患) or `unsound` (不具备)."
    )
    note: str | None = Field(
        default=None, max_length=5000, description="What was found and on what grounds."
    )


class Findings(BaseModel):
    """The four findings of seed 003 六.三; each may be given on its own while a draft."""

    model_config = ConfigDict(extra="forbid")

    legality: Finding | None = Field(
        default=None, description="合法性: within the law and the policies in force."
    )
    reasonableness: Finding | None = Field(
        default=None, description="合理性: fair to the interests of those it touches."
    )
    feasibility: Finding | None = Field(
        default=None, description="可行性: the means, the timing and the people's acceptance."
    )
    controllability: Finding | None = Field(
        default=None, description="可控性: the risks it may cause can be foreseen and contained."
    )

    def given(self) -> dict[Dimension, Finding]:
        """The findings present, by dimension."""
        return {d: finding for d in Dimension if (finding := getattr(self, d.value)) is not None}


class DecisionCreate(BaseModel):
    """A planned major decision to assess (重大决策), recorded as a draft."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID = Field(description="The deciding unit, in the caller's territory.")
    title: str = Field(min_length=1, max_length=200)
    kind: DecisionKind = Field(
        description="征地 land_acquisition, 拆迁 demolition, 改制 restructuring, 环境 "
        "environment, 价格 price, or other."
    )
    description: str | None = Field(default=None, max_length=20000)
    planned_on: IsoDate | None = Field(
        default=None, description="The local date the decision is to be taken or carried out."
    )
    owner_leader_id: uuid.UUID = Field(
        description="The responsible leader (责任领导): a chief or deputy of the deciding unit "
        "or a unit above it, in the caller's territory."
    )
    findings: Findings | None = Field(
        default=None, description="Findings known so far; the rest come by the assessment."
    )
    response_plan: str | None = Field(
        default=None, max_length=20000, description="应对预案/化解措施 known so far."
    )


class DecisionUpdate(BaseModel):
    """Changes to a draft; absent fields stay as they are, a finding given replaces that
    dimension's finding, `null` clears `description`, `planned_on` or `response_plan`."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    kind: DecisionKind | None = None
    description: str | None = Field(default=None, max_length=20000)
    planned_on: IsoDate | None = None
    owner_leader_id: uuid.UUID | None = None
    findings: Findings | None = None
    response_plan: str | None = Field(default=None, max_length=20000)


class AssessBody(BaseModel):
    """The assessment (风险评估意见): the findings and the response plan not yet on the draft,
    optionally a risk level above the one the policy's rule gives, with the reason."""

    model_config = ConfigDict(extra="forbid")

    findings: Findings | None = Field(
        default=None, description="Findings to add or replace; all four must then be known."
    )
    response_plan: str | None = Field(
        default=None,
        min_length=1,
        max_length=20000,
        description="应对预案/化解措施 (seed 003 六.二); required unless the draft has one.",
    )
    risk_level: RiskLevel | None = Field(
        default=None,
        description="A level higher than the rule's (never lower); default: the rule's.",
    )
    level_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="Why the level is raised above the rule's; required exactly then.",
    )


class DecideBody(BaseModel):
    """The conclusion of the assessment (评估结论), within what the risk level allows."""

    model_config = ConfigDict(extra="forbid")

    conclusion: Conclusion = Field(
        description="`implement` (实施), `implement_with_measures` (采取化解措施后实施), "
        "`postpone` (暂缓实施) or `do_not_implement` (不予实施)."
    )
    note: str | None = Field(default=None, max_length=5000)


class LinkCaseBody(BaseModel):
    """A case that arose from the decision (因决策引发的信访事项)."""

    model_config = ConfigDict(extra="forbid")

    case_id: uuid.UUID = Field(description="A case in the caller's territory.")


class FindingsRead(BaseModel):
    """The findings recorded so far."""

    legality: Finding | None
    reasonableness: Finding | None
    feasibility: Finding | None
    controllability: Finding | None


class LinkedCase(BaseModel):
    """A case linked to the decision (only those in the reader's territory are shown)."""

    id: uuid.UUID
    number: str
    title: str
    status: CaseStatus


class DecisionRead(BaseModel):
    """A stability-risk assessment of a major decision."""

    id: uuid.UUID
    unit_id: uuid.UUID
    title: str
    kind: DecisionKind
    description: str | None
    planned_on: date | None
    owner_leader_id: uuid.UUID
    findings: FindingsRead
    response_plan: str | None
    rule_risk_level: RiskLevel | None = Field(description="The level the policy's rule gave.")
    risk_level: RiskLevel | None = Field(
        description="The assessed level: the rule's, or higher with `level_reason`."
    )
    level_reason: str | None
    allowed_conclusions: list[Conclusion] = Field(
        description="The conclusions the risk level allows (empty before the assessment)."
    )
    conclusion: Conclusion | None
    conclusion_note: str | None
    status: DecisionStatus = Field(description="draft → assessed → decided.")
    created_by: uuid.UUID
    assessed_by: uuid.UUID | None
    assessed_at: datetime | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    deadline_id: uuid.UUID | None = Field(
        description="The responsible leader's `decision_assessment` deadline (先评估后决策), "
        "if the draft had a planned day far enough ahead."
    )
    assessment_due_at: datetime | None = Field(
        description="When that assessment is (or was) due: the end of the day "
        "`assess_days_before` days before the planned day."
    )
    cases: list[LinkedCase] = Field(description="Cases that arose from the decision.")
    created_at: datetime
    updated_at: datetime


class DecisionQuery(ListQuery):
    """Filters of `GET /v1/decisions`; each one given must match."""

    unit_id: uuid.UUID | None = None
    kind: DecisionKind | None = None
    risk_level: RiskLevel | None = None
    status: DecisionStatus | None = None


class DecisionFigures(BaseModel):
    """Stability-risk assessments of major decisions (重大决策社会稳定风险评估) of a unit
    subtree in a period."""

    assessed: int = Field(description="Assessments made in the period (评估完成).")
    by_risk_level: dict[RiskLevel, int] = Field(
        description="Those assessments by risk level (高/中/低风险), every level present."
    )
    decided: int = Field(description="Conclusions reached in the period (作出评估结论).")
    by_conclusion: dict[Conclusion, int] = Field(
        description="Those conclusions by kind, every conclusion present."
    )
    high_risk_undecided: int = Field(
        description="High-risk decisions assessed and still without a conclusion now."
    )
    drafts_past_planned_date: int = Field(
        description="Decisions planned for a day of the period, already past, never assessed "
        "(未评估先决策之虞)."
    )
    assessments_due: int = Field(
        description="Assessments that fell due in the period (`decision_assessment` deadlines "
        "of the subtree's decisions, 先评估后决策)."
    )
    assessments_late: int = Field(
        description="Of those, assessments not made in time (deadline missed, escalated)."
    )
    linked_cases: int = Field(
        description="Cases received in the period that arose from the subtree's decisions "
        "(因风险评估不到位引发上访, seed 001 第二篇 (一)2)."
    )
    linked_collective: int = Field(description="Of those, collective petitions (集体访).")
