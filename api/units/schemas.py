"""Unit request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from api.kit.pagination import ListQuery
from api.models.unit import UnitLevel


class Location(BaseModel):
    """WGS-84 coordinates."""

    lat: StrictFloat = Field(ge=-90, le=90)
    lon: StrictFloat = Field(ge=-180, le=180)


class UnitCreate(BaseModel):
    """A new unit in the tree."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    level: UnitLevel
    parent_id: uuid.UUID | None = None
    location: Location | None = None


class UnitUpdate(BaseModel):
    """Changes to a unit; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    location: Location | None = None


class UnitRead(BaseModel):
    """A unit as the API shows it."""

    id: uuid.UUID
    name: str
    level: UnitLevel
    parent_id: uuid.UUID | None
    location: Location | None
    created_at: datetime
    updated_at: datetime


class UnitQuery(ListQuery):
    """Filters of `GET /v1/units`; each one given must match."""

    parent_id: uuid.UUID | None = None
    level: UnitLevel | None = None
