"""Dispute screening (矛盾纠纷排查, seed 002 第二篇 三; seed 001 (二))."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictFloat, model_validator

from api.kit.i18n import Message
from api.models.official import Role
from api.models.unit import UnitLevel
from api.policies.base import StrictModel
from shared.jsontypes import JsonInt

ResolutionDays = Annotated[JsonInt, Field(ge=1, le=366)]


class ResolutionDaysByRisk(StrictModel):
    """Calendar days from screening to the resolution time limit (化解时限) per risk level,
    counted to the end of the local day. The seeds ask for a time limit on every screened
    dispute (seed 002 第一篇: 对排查出的矛盾纠纷落实责任领导,明确化解时限) without a number;
    these defaults are a judgement: a high risk within 7 days (as initial petitions are
    settled within 5–7 days, seed 000 rule 4), a medium one within 15 (the 15 days of
    disposition, 条例 art. 22), a low one within 30, before the next monthly roll-up
    (每月一汇总, seed 002 第二篇 三)."""

    high: ResolutionDays = Field(default=7, description="High risk (高风险).")
    medium: ResolutionDays = Field(default=15, description="Medium risk (中风险).")
    low: ResolutionDays = Field(default=30, description="Low risk (低风险).")

    @model_validator(mode="after")
    def _higher_risk_sooner(self) -> ResolutionDaysByRisk:
        if not self.high <= self.medium <= self.low:
            raise ValueError(Message("a higher risk must not get a longer time limit"))
        return self


class ScreeningPolicy(StrictModel):
    """Dispute screening (矛盾纠纷排查, seed 002 第二篇 三; seed 001 (二)): the register's
    time limits, who may own a screened dispute, the weekly screening round and the monthly
    roll-up's target."""

    resolution_days: ResolutionDaysByRisk = Field(
        default_factory=ResolutionDaysByRisk,
        description="Default resolution time limit (化解时限) of a screened dispute per risk "
        "level, in calendar days; a dispute recorded with its own `due_at` keeps it.",
    )
    leader_roles: list[Role] = Field(
        default_factory=lambda: [Role.chief, Role.deputy],
        min_length=1,
        max_length=8,
        description="Roles that may own a screened dispute (包案领导, seed 001 (二).2: "
        "落实包案领导、化解方案和稳控措施; seed 002 第二篇 一: 由镇党委书记或乡长亲自包案).",
    )
    round_roles: list[Role] = Field(
        default_factory=lambda: [Role.petition_staff],
        max_length=8,
        description="Roles whose officials file the weekly screening round of their unit "
        "(每周一排查, seed 002 第二篇 三: the town's 综治办 and 司法所 run the regular "
        "screening, i.e. its petition staff 信访干部). Empty: nobody owes a round.",
    )
    round_levels: list[UnitLevel] = Field(
        default_factory=lambda: [UnitLevel.town],
        max_length=5,
        description="Levels of the units whose officials of `round_roles` owe a weekly round "
        "(the seed's screening is organised by the town, 乡, which guides the villages).",
    )
    round_weekday: Annotated[JsonInt, Field(ge=1, le=7)] = Field(
        default=7,
        description="ISO weekday (1 Monday … 7 Sunday) by the end of which a week's round is "
        "due; default the week's last day.",
    )
    resolution_target: StrictFloat = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Resolution rate (化解率) a unit should reach (seed 001 第二篇 (一)3: "
        "排查出来的信访隐患化解率要到达80%以上).",
    )
