"""Transfer request and response bodies."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from api.cases.schemas import no_numbers_in_title
from api.models.case import CaseStatus, Channel, Outcome
from api.privacy.schemas import Petitioner
from shared.jsontypes import IsoDateTime, JsonInt


class TransferKind(enum.StrEnum):
    """How the office hands the case down."""

    transferred = "transferred"  # 转送: for the county to handle under its own clocks
    assigned = "assigned"  # 交办: with the office's due date, and usually the result wanted back


class TransferCreate(BaseModel):
    """A case handed down by the higher office whose token calls (上级转送、交办). The
    office's `reference` makes it one case: sending it again answers the case already made."""

    model_config = ConfigDict(extra="forbid")

    kind: TransferKind
    reference: str = Field(
        min_length=1,
        max_length=100,
        description="The office's reference number (转送/交办编号): one case per office and "
        "number, so a retried or repeated transfer is the same case.",
    )
    channel: Channel = Field(
        default=Channel.letter,
        description="How the petition reached the office. A visit (来访) summons the officials "
        "of the unit concerned as a visit lodged at the office's level does.",
    )
    origin_unit_id: uuid.UUID | None = Field(
        default=None,
        description="Where the matter arose, when the office knows it; otherwise the token's "
        "unit, and the desk corrects it (`PATCH /v1/cases/{case_id}`).",
    )
    petitioners: list[Petitioner] = Field(min_length=1, max_length=500)
    headcount: JsonInt | None = Field(
        default=None, ge=1, le=100000, description="People who came; defaults to petitioners."
    )
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The office's category: a code of the county's vocabulary "
        "(`GET /v1/categories`) files the case under it; anything else, or none, files it as "
        "`unclassified` with the office's words in `category_text` until the desk classifies "
        "it.",
    )
    title: str = Field(
        min_length=1,
        max_length=200,
        description="Quoted in the alerts sent to officials: no ID-card or phone numbers.",
    )
    content: str = Field(min_length=1, max_length=20000, description="Facts (事实).")
    reasons: str | None = Field(default=None, max_length=20000)
    demands: str | None = Field(default=None, max_length=20000, description="诉求.")
    due_at: IsoDateTime | None = Field(
        default=None, description="When the office wants the closing report (结案报告)."
    )
    wants_result: StrictBool = Field(
        default=False,
        description="The office wants the result back (要结果): the case owes an owner leader "
        "(包案) and a closing report by `due_at` (or the policy's months).",
    )

    @field_validator("title")
    @classmethod
    def _no_personal_numbers(cls, value: str) -> str:
        return no_numbers_in_title(value)


class TransferRead(BaseModel):
    """What became of a case the office handed down: its number and progress, not its
    content or its petitioners (the office has those)."""

    case_id: uuid.UUID
    number: str
    reference: str
    kind: TransferKind
    status: CaseStatus
    outcome: Outcome | None
    received_at: datetime = Field(description="When the county received it (its clocks start).")
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    wants_result: bool
