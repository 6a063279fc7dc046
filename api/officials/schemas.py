"""Official request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.kit.pagination import ListQuery
from api.models.official import Role

PHONE_PATTERN = r"^\+?[0-9]{5,20}$"


class ContactChannel(StrEnum):
    """A way to reach an official."""

    sms = "sms"
    webhook = "webhook"
    dingtalk = "dingtalk"
    wecom = "wecom"


class ContactIn(BaseModel):
    """A contact channel, in the priority order given."""

    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel
    address: str = Field(min_length=1, max_length=500, description="Phone number or URL.")
    secret: str | None = Field(default=None, max_length=500, description="Write-only.")


class ContactOut(BaseModel):
    """A contact channel as shown (never the secret)."""

    channel: ContactChannel
    address: str
    has_secret: bool


class OfficialCreate(BaseModel):
    """A new official; `username` and `password` give them a login."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    unit_id: uuid.UUID
    role: Role
    username: str | None = Field(default=None, min_length=3, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)


class OfficialUpdate(BaseModel):
    """Changes to an official; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    unit_id: uuid.UUID | None = None
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    contacts: list[ContactIn] | None = Field(default=None, max_length=10)
    active: StrictBool | None = None


class OfficialRead(BaseModel):
    """An official as the API shows them."""

    id: uuid.UUID
    name: str
    phone: str | None
    unit_id: uuid.UUID | None
    role: Role
    username: str | None
    contacts: list[ContactOut]
    active: bool
    created_at: datetime
    updated_at: datetime


class OfficialQuery(ListQuery):
    """Filters of `GET /v1/officials`; each one given must match."""

    unit_id: uuid.UUID | None = None
    role: Role | None = None
