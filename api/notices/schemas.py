"""Bodies and answers of the written notices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.kit.pagination import ListQuery
from api.models.notice import NoticeKind, ServiceMethod
from shared.jsontypes import IsoDateTime


class NoticeIssue(BaseModel):
    """A notice to issue on a case."""

    model_config = ConfigDict(extra="forbid")

    kind: NoticeKind = Field(
        description="acceptance 受理告知书, rejection 不予受理告知书, transfer 转送交办单, reply "
        "答复意见书, review 复查意见书, re_review 复核意见书, receipt 送达回证."
    )
    text: str | None = Field(
        default=None,
        max_length=20000,
        description="Wording of this notice's own ({text}): the review or re-review opinion.",
    )
    expect_dispute: StrictBool = Field(
        default=False,
        description="A reply the petitioner is expected to dispute (seed 003 四.三.2): the "
        "petition office is told, and a witness is recorded at service.",
    )


class NoticeService(BaseModel):
    """How a notice was served (送达)."""

    model_config = ConfigDict(extra="forbid")

    method: ServiceMethod = Field(
        description="in_person 直接送达, post 邮寄 (tracking number required), sms_link 短信链接, "
        "electronic 电子送达."
    )
    served_at: IsoDateTime = Field(description="When; not before the notice was issued, not ahead.")
    recipient: str = Field(min_length=1, max_length=100, description="Who received it.")
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64)
    witness: str | None = Field(
        default=None, min_length=1, max_length=100, description="Who witnessed the service."
    )
    proof_material_id: uuid.UUID | None = Field(
        default=None,
        description="The signed receipt (送达回证) or the post's delivery record: a material of "
        "the case (`POST /v1/cases/{case_id}/materials`, kind `receipt`).",
    )


class NoticeProof(BaseModel):
    """The proof of a service given after it: the signed receipt or the petitioner's signed
    opinion, as a material."""

    model_config = ConfigDict(extra="forbid")

    proof_material_id: uuid.UUID = Field(
        description="A material of the case: the signed receipt or opinion, uploaded "
        "(`POST /v1/cases/{case_id}/materials`, kind `receipt`)."
    )


class NoticeRead(BaseModel):
    """A notice: its number and version, the template version it was filled from, its files'
    hashes, and its service."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    kind: NoticeKind
    number: str
    version: int
    policy_version: int
    title: str
    unit_id: uuid.UUID
    issued_at: datetime
    issued_by: uuid.UUID
    due_at: datetime | None
    docx_sha256: str
    pdf_sha256: str
    superseded_at: datetime | None
    needs_approval: bool
    approved_at: datetime | None
    approved_by: uuid.UUID | None
    expect_dispute: bool
    served_at: datetime | None
    served_by: uuid.UUID | None
    service_method: ServiceMethod | None
    recipient: str | None
    tracking_number: str | None
    witness: str | None
    proof_material_id: uuid.UUID | None
    proof_at: datetime | None


DocumentFormat = Literal["docx", "pdf"]


class NoticeQuery(ListQuery):
    """Filters of `GET /v1/notices`."""

    custom_filters: ClassVar[frozenset[str]] = frozenset({"lapse"})

    unit_id: uuid.UUID | None = Field(default=None, description="The unit the notice is owed by.")
    kind: NoticeKind | None = None
    lapse: Literal["unserved", "unproved"] | None = Field(
        default=None,
        description="`unserved`: its date passed and it is not served; `unproved`: served "
        "without a proof of service (送达回证). Superseded versions are never listed so.",
    )
