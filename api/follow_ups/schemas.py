"""Follow-up figures of the dashboard."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.stats.schemas import Rate


class FollowUpFigures(BaseModel):
    """Calls back to petitioners (回访) and leaders' instructions (领导批示) of a unit subtree
    in a period."""

    owed: int = Field(description="Call-back deadlines falling due in the period.")
    on_time: int = Field(description="Of those, met in time (按时回访).")
    missed: int = Field(description="Of those, missed (超期未回访).")
    open_overdue: int = Field(description="Call-back deadlines open past due now.")
    calls: int = Field(description="Calls made in the period, reached or not.")
    reach_rate: Rate = Field(description="回访联系率: calls that reached the petitioner / calls.")
    satisfaction: Rate = Field(
        description="回访满意率: petitioners satisfied / petitioners reached, in the period."
    )
    instructed_cases: int = Field(
        description="Cases a leader instructed (领导批示) in the period (批示案件台账)."
    )
