"""Stability-risk assessment of major decisions (重大决策社会稳定风险评估, seed 003 六)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import Field, model_validator

from api.kit.i18n import Message
from api.models.decision import Conclusion, RiskLevel, Verdict
from api.policies.base import StrictModel
from shared.jsontypes import Distinct, JsonInt

Findings = Annotated[JsonInt, Field(ge=1, le=4)]


def _allowed_conclusions() -> dict[RiskLevel, list[Conclusion]]:
    c = Conclusion
    return {
        RiskLevel.low: [c.implement, c.implement_with_measures, c.postpone, c.do_not_implement],
        RiskLevel.medium: [c.implement_with_measures, c.postpone, c.do_not_implement],
        RiskLevel.high: [c.postpone, c.do_not_implement],
    }


class DecisionPolicy(StrictModel):
    """Stability-risk assessment of major decisions (重大决策社会稳定风险评估, seed 003 六).

    The risk level follows from the four findings (合法性、合理性、可行性、可控性, 六.三) by this
    rule: at least `high_if_unsound` findings judged unsound, or at least `high_if_concerns`
    findings of concern, is high risk (高风险); at least `medium_if_concerns` findings of concern
    is medium risk (中风险); fewer is low risk (低风险). An unsound finding counts as a concern
    too. The seed names the three levels (六.四) but no numbers: these are local choices. An
    assessor may set a higher level than the rule's, with a reason, never a lower one.
    """

    high_if_unsound: Findings = Field(
        default=1,
        description="Findings judged unsound (不具备) from which a decision is high risk: by "
        "default any one, e.g. an unlawful decision (seed 003 六.三, 六.四).",
    )
    high_if_concerns: Findings = Field(
        default=3,
        description="Findings of concern (存在隐患, unsound ones included) from which a decision "
        "is high risk (seed 003 六.四).",
    )
    medium_if_concerns: Findings = Field(
        default=1,
        description="Findings of concern (unsound ones included) from which a decision is "
        "medium risk; fewer is low risk (seed 003 六.四).",
    )
    allowed_conclusions: dict[
        RiskLevel, Annotated[list[Conclusion], Distinct, Field(max_length=len(Conclusion))]
    ] = Field(
        default_factory=_allowed_conclusions,
        description="Which conclusions (评估结论) each risk level allows. A high-risk decision "
        "is never simply implemented: the seed wants the risk prevented at the source before "
        "the decision (从源头上防控, 维稳关口前移, seed 003 六.一–二).",
    )

    assess_days_before: Annotated[JsonInt, Field(ge=0, le=60)] = Field(
        default=1,
        description="The assessment of a draft with a planned day is due by the end of the "
        "local day this many days before it (a `decision_assessment` deadline of the "
        "responsible leader): the opinion is handed in with the decision, before it is taken "
        "(在作出决策前…在提交决策时提出风险评估意见, seed 003 六.二); a draft recorded later "
        "than that owes it before the planned day begins. The seed names no number: by "
        "default the day before.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> DecisionPolicy:
        if self.medium_if_concerns > self.high_if_concerns:
            raise ValueError(Message("medium_if_concerns may not exceed high_if_concerns"))
        if set(self.allowed_conclusions) != set(RiskLevel):
            raise ValueError(
                Message("allowed_conclusions names every risk level: high, medium, low")
            )
        for level, conclusions in self.allowed_conclusions.items():
            if not conclusions:
                raise ValueError(
                    Message("risk level {level} allows no conclusion", level=level.value)
                )
        if Conclusion.implement in self.allowed_conclusions[RiskLevel.high]:
            raise ValueError(Message("a high-risk decision may not be concluded `implement`"))
        return self

    def level_for(self, verdicts: Iterable[Verdict]) -> RiskLevel:
        """The risk level the rule gives for the findings' verdicts."""
        given = list(verdicts)
        unsound = sum(v == Verdict.unsound for v in given)
        concerns = sum(v != Verdict.sound for v in given)
        if unsound >= self.high_if_unsound or concerns >= self.high_if_concerns:
            return RiskLevel.high
        if concerns >= self.medium_if_concerns:
            return RiskLevel.medium
        return RiskLevel.low

    def allows(self, level: RiskLevel, conclusion: Conclusion) -> bool:
        """Whether a decision of `level` may be concluded with `conclusion`."""
        return conclusion in self.allowed_conclusions[level]
