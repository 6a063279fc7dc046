"""What a petitioner sends and sees when looking up their own case (条例 art. 21)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models.case import CaseStatus, Outcome


class LookupRequest(BaseModel):
    """The case number and the lookup secret (查询码) handed out at registration."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(
        min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$", examples=["XF-2026-000123"]
    )
    secret: str = Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9]+$")


class ProgressStep(BaseModel):
    """One milestone of the case as the petitioner is told of it."""

    at: datetime
    step: str = Field(description="registered, accepted, assigned, replied, closed …")
    name: str = Field(description="The milestone in Chinese (已登记, 已受理 …).")
    text: str | None = Field(
        default=None,
        description="What the petitioner is owed in writing at this step: a "
        "notice, the answer, a review's decision.",
    )


class CaseProgress(BaseModel):
    """`POST /v1/public/case-lookup`: the progress of one's own case, and only what is meant
    for the petitioner (no officials, no internal notes, no escalations)."""

    number: str
    title: str
    category: str = Field(description="Its code in the category vocabulary.")
    category_name: str = Field(description="What the matter is, in Chinese (征地补偿 …).")
    status: CaseStatus
    status_name: str = Field(description="The state in Chinese (办理中, 已答复 …).")
    received_at: datetime
    handling_unit: str | None = Field(description="The unit handling it, once assigned.")
    due_at: datetime | None = Field(
        description="When the petitioner is next owed something (受理告知 or the answer)."
    )
    due_name: str | None
    outcome: Outcome | None
    steps: list[ProgressStep]


class LookupSecret(BaseModel):
    """A new lookup secret for the petitioner (the old one stops working)."""

    number: str
    lookup_secret: str = Field(description="Hand it to the petitioner; it is not shown again.")
