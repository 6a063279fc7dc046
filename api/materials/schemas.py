"""Request and response bodies of `/v1/cases/{case_id}/materials` and `/v1/materials`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.cases.schemas import CaseRegistered
from api.models.material import MaterialKind


class MaterialRead(BaseModel):
    """A file attached to a case. Of a confidential case (保密) a reader who may not read its
    content sees that the file exists (`restricted`), not its name or note."""

    id: uuid.UUID
    case_id: uuid.UUID
    event_id: uuid.UUID | None
    kind: MaterialKind
    filename: str | None = Field(description="The name it was uploaded under; null: restricted.")
    note: str | None
    content_type: str = Field(description="As the content's magic numbers say.")
    size: int
    sha256: str = Field(description="SHA-256 of the content as kept (image metadata stripped).")
    width: int | None = None
    height: int | None = None
    has_thumbnail: bool
    uploaded_by: uuid.UUID
    created_at: datetime
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawn_by: uuid.UUID | None
    withdrawn_reason: str | None
    restricted: bool = Field(description="The reader may not read this confidential case's files.")


class MaterialList(BaseModel):
    """A case's materials, withdrawn ones too, oldest first."""

    items: list[MaterialRead]
    total_bytes: int = Field(description="What the files not withdrawn hold together.")


class WithdrawBody(BaseModel):
    """Why a material is withdrawn (撤回): the row stays, its content is no longer served."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class MaterialLink(BaseModel):
    """A short-lived link to download the content without the bearer token."""

    url: str
    expires_at: datetime


class OfflineReportRegistered(BaseModel):
    """A case registered with the files of an offline report (离线上报), in one transaction."""

    case: CaseRegistered
    materials: list[MaterialRead] = Field(
        description="The files attached, in the order sent (a file sent twice is one material)."
    )
