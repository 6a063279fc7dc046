"""Higher office request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.kit.pagination import ListQuery
from api.models.higher_office import OfficeLevel


class HigherOfficeCreate(BaseModel):
    """A higher office added to the registry."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="e.g. 市信访局, 省信访局.")
    level: OfficeLevel
    code: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Its code in the petition information system; unique.",
    )
    unit_id: uuid.UUID | None = Field(
        default=None,
        description="The unit of this deployment the office is (a city's or a province's, of "
        "the same level): its officials then read the cases it handed down. Omitted: an "
        "office outside the deployment (国家信访局, another province's).",
    )


class HigherOfficeUpdate(BaseModel):
    """Changes to a registered office; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: StrictBool | None = Field(
        default=None, description="An inactive office hands down nothing new."
    )


class HigherOfficeRead(BaseModel):
    """A registered higher office."""

    id: uuid.UUID
    name: str
    level: OfficeLevel
    code: str
    active: bool
    unit_id: uuid.UUID | None = Field(description="The unit of this deployment it is, if any.")
    created_at: datetime
    updated_at: datetime


class HigherOfficeQuery(ListQuery):
    """Filters of `GET /v1/higher-offices`."""

    level: OfficeLevel | None = None
    active: bool | None = None
