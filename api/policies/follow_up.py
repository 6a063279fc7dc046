"""Follow-up (回访) after a reply, and the petitioner's own lookup (条例 art. 21)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.policies.base import StrictModel
from shared.jsontypes import JsonInt


class FollowUpPolicy(StrictModel):
    """The call back to the petitioner after a case is replied to (回访), and the short
    secret a petitioner gets at registration to look the case up (查询码)."""

    days: Annotated[JsonInt, Field(ge=1, le=365)] = Field(
        default=7,
        description="The petitioner is called back within this many days of the reply "
        "(答复后回访); a missed call back is a deadline missed like any other.",
    )
    secret_length: Annotated[JsonInt, Field(ge=6, le=16)] = Field(
        default=8,
        description="Characters of the lookup secret handed to the petitioner at registration "
        "(登记时告知的查询码), from an alphabet without look-alikes.",
    )
