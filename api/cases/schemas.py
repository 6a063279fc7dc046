"""Case request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.cases.models import CaseStatus, Channel, LodgedLevel
from api.deadlines.schemas import DeadlineRead
from api.pagination import ListQuery
from api.units.schemas import Location


class Petitioner(BaseModel):
    """A petitioner (信访人); representatives speak for a multi-person visit."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(
        default=None, pattern=r"^[0-9]{17}[0-9Xx]$", description="Resident ID card number."
    )
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{5,20}$")
    address: str | None = Field(default=None, max_length=300)
    is_representative: bool = False


class CaseCreate(BaseModel):
    """Registration of a petition (登记)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    origin_unit_id: uuid.UUID = Field(description="Where the petitioners live / the matter arose.")
    lodged_unit_id: uuid.UUID | None = Field(
        default=None, description="The unit whose office they came to (for visits)."
    )
    lodged_level: LodgedLevel | None = Field(
        default=None, description="Where they went; required when no lodged unit is given."
    )
    petitioners: list[Petitioner] = Field(min_length=1, max_length=500)
    headcount: int | None = Field(
        default=None, ge=1, le=100000, description="People present; defaults to petitioners."
    )
    is_collective: bool | None = Field(
        default=None, description="Derived from headcount; if given it must agree."
    )
    category: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20000, description="Facts (事实).")
    reasons: str | None = Field(default=None, max_length=20000)
    demands: str | None = Field(default=None, max_length=20000, description="诉求.")
    location: Location | None = None
    received_at: AwareDatetime | None = Field(
        default=None, description="When the petition was received (RFC 3339); default now."
    )


class CaseRead(BaseModel):
    """A case with its deadlines."""

    id: uuid.UUID
    number: str = Field(description="Human number, unique per county and year: XF-2026-000123.")
    status: CaseStatus
    channel: Channel
    origin_unit_id: uuid.UUID
    lodged_unit_id: uuid.UUID | None
    lodged_level: LodgedLevel
    petitioners: list[dict[str, Any]]
    headcount: int
    is_collective: bool
    category: str
    title: str
    content: str
    reasons: str | None
    demands: str | None
    location: Location | None
    received_at: datetime
    registered_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    deadlines: list[DeadlineRead] = Field(default_factory=list)


class CaseEventRead(BaseModel):
    """One event of a case's timeline."""

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    client: str | None
    data: dict[str, Any]


class ArrivalCreate(BaseModel):
    """A check-in at the scene (到位签到)."""

    model_config = ConfigDict(extra="forbid")

    official_id: uuid.UUID | None = Field(
        default=None,
        description="Who arrived; defaults to the caller. Staff may record it for someone else.",
    )
    location: Location | None = None


class ArrivalRead(BaseModel):
    """A recorded check-in and the deadlines it settled."""

    id: uuid.UUID
    case_id: uuid.UUID
    official_id: uuid.UUID
    arrived_at: datetime
    location: Location | None
    on_time: bool | None = Field(description="Null when the official had no arrival deadline.")
    deadlines: list[DeadlineRead]


class CaseQuery(ListQuery):
    """Filters of `GET /v1/cases`; each one given must match."""

    status: CaseStatus | None = None
    channel: Channel | None = None
    origin_unit_id: uuid.UUID | None = None
    category: str | None = None
