"""The dashboard's prevention and leadership figures."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.decisions.schemas import DecisionFigures
from api.follow_ups.schemas import FollowUpFigures
from api.reception.schemas import ReceptionFigures
from api.screening.schemas import ScreeningFigures
from api.sensitive.schemas import SensitiveFigures


class PreventionSummary(BaseModel):
    """`GET /v1/stats/prevention`: the prevention and leadership work of a unit subtree in a
    period (源头预防与领导责任): dispute screening, the sensitive period, leader reception,
    decisions' risk assessments, calls back and instructions."""

    model_config = ConfigDict(populate_by_name=True)

    unit_id: uuid.UUID
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    screening: ScreeningFigures = Field(
        description="The dispute screening register (矛盾纠纷排查化解)."
    )
    sensitive: SensitiveFigures = Field(
        description="The sensitive period active today, else the last one overlapping the "
        "period asked for, with its figures over its whole window (敏感时期)."
    )
    reception: ReceptionFigures = Field(
        description="Leader reception: the duty roster, appointments (约访), field visits "
        "carrying cases (带案下访)."
    )
    decisions: DecisionFigures = Field(
        description="Stability-risk assessments of major decisions (重大决策社会稳定风险评估)."
    )
    follow_up: FollowUpFigures
