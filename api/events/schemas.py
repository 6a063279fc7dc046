"""Event and subscription bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.kit.pagination import ListQuery
from shared.jsontypes import Distinct


class EventType(StrEnum):
    """What a subscriber can be told about."""

    case_created = "case.created"
    case_updated = "case.updated"
    deadline_missed = "deadline.missed"
    escalation_created = "escalation.created"
    escalation_acknowledged = "escalation.acknowledged"
    escalation_unanswered = "escalation.unanswered"
    arrival_recorded = "arrival.recorded"
    alert_failed = "alert.failed"
    # Only to the higher office that handed the case down (上级转送、交办), through the
    # subscriptions bound to it, never of a confidential case (保密)
    transfer_accepted = "transfer.accepted"  # 受理
    transfer_rejected = "transfer.rejected"  # 不予受理
    transfer_replied = "transfer.replied"  # 答复
    transfer_closed = "transfer.closed"  # 办结 or 终结
    transfer_reported = "transfer.reported"  # 结案报告: the result the office wanted back


OFFICE_EVENTS = frozenset(t for t in EventType if t.value.startswith("transfer."))


class SubscriptionCreate(BaseModel):
    """A new webhook endpoint."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    event_types: Annotated[list[EventType], Distinct] = Field(
        min_length=1, max_length=len(EventType)
    )
    description: str | None = Field(default=None, max_length=500)
    unit_id: uuid.UUID | None = Field(
        default=None,
        description="The unit whose subtree's events the endpoint receives (a county's system: "
        "its county; a city's: the city). Required unless the caller is the deployment's "
        "admin, and inside the caller's territory; omitted by the deployment's admin, the "
        "endpoint receives every county's events (the deployment scope).",
    )
    higher_office_id: uuid.UUID | None = Field(
        default=None,
        description="Bind the endpoint to a registered higher office: it then receives only "
        "`transfer.*` events, about the cases that office handed down. `transfer.*` events "
        "go to no other endpoint.",
    )


class SubscriptionRead(BaseModel):
    """A subscription (its secret is shown only once, at creation)."""

    id: uuid.UUID
    url: str
    event_types: list[EventType]
    description: str | None
    unit_id: uuid.UUID | None = Field(
        description="The subtree the endpoint hears: events of this unit and every unit below "
        "it (a case's by its origin unit, a deadline's and its escalations' by the unit whose "
        "duty it is, a failed alert's by its official's unit). null: the deployment scope, "
        "every event of every county (seen only by the deployment's admin)."
    )
    higher_office_id: uuid.UUID | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """The new subscription with its signing secret (`whsec_…`): store it now."""

    secret: str


class SubscriptionQuery(ListQuery):
    """Filters of `GET /v1/webhook-subscriptions`."""

    active: bool | None = None
