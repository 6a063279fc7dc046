"""Situation report bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from api.kit.i18n import Message
from api.kit.pagination import ListQuery
from shared.jsontypes import IsoDate


class ReportItem(BaseModel):
    """A dispute or risk found in the period (矛盾纠纷 / 不稳定隐患)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    category: str | None = Field(
        default=None,
        max_length=64,
        description="A code of the category vocabulary (`GET /v1/categories`).",
    )
    detail: str | None = Field(default=None, max_length=5000)


class ReportCreate(BaseModel):
    """A situation report; a zero report (零报告) lists nothing and still counts."""

    # The rule of `_zero_means_empty`, in the contract too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"properties": {"zero": {"const": True}, "items": {"maxItems": 0}}},
                {
                    "properties": {"zero": {"const": False}, "items": {"minItems": 1}},
                    "required": ["items"],
                },
                {
                    "properties": {
                        "zero": {"const": False},
                        "content": {"type": "string", "minLength": 1},
                    },
                    "required": ["content"],
                },
            ]
        },
    )

    period_day: IsoDate | None = Field(
        default=None,
        description="The report day it is for: a report day of the month up to the current "
        "period's, or a day of a sensitive period with daily reports (日报告) up to today. "
        "Default: today on such a day, else the current period's report day.",
    )
    zero: StrictBool
    content: str | None = Field(default=None, max_length=20000)
    items: list[ReportItem] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _zero_means_empty(self) -> ReportCreate:
        if self.zero and self.items:
            raise ValueError(Message("a zero report lists no items"))
        if not self.zero and not self.items and not self.content:
            raise ValueError(Message("a non-zero report needs items or content"))
        return self


class ReportRead(BaseModel):
    """A stored situation report."""

    id: uuid.UUID
    official_id: uuid.UUID
    unit_id: uuid.UUID
    period_day: date
    zero: bool
    content: str | None
    items: list[ReportItem]
    submitted_at: datetime
    on_time: bool
    created_at: datetime
    updated_at: datetime


class ReportQuery(ListQuery):
    """Filters of `GET /v1/reports`."""

    official_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    period_day: IsoDate | None = None
    zero: bool | None = None
