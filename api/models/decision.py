"""Stability-risk assessments of major decisions (重大决策社会稳定风险评估, seed 003 六) and the
cases that later arose from a decision."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class DecisionKind(enum.StrEnum):
    """What the planned decision is about."""

    land_acquisition = "land_acquisition"  # 征地
    demolition = "demolition"  # 拆迁
    restructuring = "restructuring"  # 改制
    environment = "environment"  # 环境
    price = "price"  # 价格
    other = "other"  # 其他


class Dimension(enum.StrEnum):
    """The four things an assessment judges (seed 003 六.三)."""

    legality = "legality"  # 合法性
    reasonableness = "reasonableness"  # 合理性
    feasibility = "feasibility"  # 可行性
    controllability = "controllability"  # 可控性


class Verdict(enum.StrEnum):
    """The verdict on one dimension."""

    sound = "sound"  # 无问题
    concerns = "concerns"  # 存在隐患
    unsound = "unsound"  # 不具备


class RiskLevel(enum.StrEnum):
    """Risk to stability once the decision is carried out (seed 003 六.四)."""

    low = "low"  # 低风险
    medium = "medium"  # 中风险
    high = "high"  # 高风险


RISK_ORDER: dict[RiskLevel, int] = {RiskLevel.low: 0, RiskLevel.medium: 1, RiskLevel.high: 2}


class Conclusion(enum.StrEnum):
    """What the assessment concludes the decision-maker should do (评估结论)."""

    implement = "implement"  # 实施
    implement_with_measures = "implement_with_measures"  # 采取化解措施后实施
    postpone = "postpone"  # 暂缓实施
    do_not_implement = "do_not_implement"  # 不予实施


class DecisionStatus(enum.StrEnum):
    """draft → assessed (findings, plan, risk level) → decided (conclusion)."""

    draft = "draft"
    assessed = "assessed"
    decided = "decided"


class DecisionAssessment(RecordModel):
    """The stability-risk assessment of one planned major decision of a unit."""

    __tablename__ = "decision_assessments"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    planned_on: Mapped[date | None] = mapped_column(index=True)
    owner_leader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    # {dimension: {"verdict": …, "note": …}}, filled while a draft, complete once assessed.
    findings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response_plan: Mapped[str | None] = mapped_column(Text)
    # What the policy's rule gave; `risk_level` is it or higher (raised, with `level_reason`).
    rule_risk_level: Mapped[str | None] = mapped_column(String(8))
    risk_level: Mapped[str | None] = mapped_column(String(8), index=True)
    level_reason: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(String(32))
    conclusion_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DecisionStatus.draft, index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    assessed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    assessed_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    decided_at: Mapped[datetime | None]
    # The responsible leader's `decision_assessment` deadline (先评估后决策) and its due time,
    # while the planned day lies far enough ahead to assess before it.
    deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))
    assessment_due_at: Mapped[datetime | None]


class DecisionCase(RecordModel):
    """A case that arose from a decision (因决策引发的信访), linked once."""

    __tablename__ = "decision_cases"
    __table_args__ = (UniqueConstraint("decision_id", "case_id", name="uq_decision_cases_pair"),)

    decision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("decision_assessments.id"), index=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    linked_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    linked_at: Mapped[datetime]
