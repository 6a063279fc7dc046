"""Materials (附件, issue 21 §1): how large a file and a case's files may be, and which types
a county keeps (checked by the content's magic numbers, never by the file's name)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from api.kit.i18n import Message
from api.policies.base import StrictModel
from shared.jsontypes import Distinct, JsonInt

MB = 1024 * 1024

DEFAULT_TYPES = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
    "audio/mpeg",
    "audio/mp4",
    "audio/amr",
    "audio/x-wav",
]

MimeType = Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=127)]


class MaterialsPolicy(StrictModel):
    """Limits of the files attached to cases."""

    max_file_bytes: JsonInt = Field(
        default=10 * MB,
        ge=1024,
        le=1024 * MB,
        description="Largest file of a plain upload (multipart POST); larger ones go by the "
        "resumable upload (tus), up to `max_resumable_bytes`.",
    )
    max_resumable_bytes: JsonInt = Field(
        default=100 * MB, ge=1024, le=4096 * MB, description="Largest file of a resumable upload."
    )
    max_case_bytes: JsonInt = Field(
        default=200 * MB,
        ge=1024,
        le=16384 * MB,
        description="Most bytes the files of one case may hold together (withdrawn ones not "
        "counted).",
    )
    allowed_types: Annotated[list[MimeType], Distinct] = Field(
        default_factory=lambda: list(DEFAULT_TYPES),
        min_length=1,
        max_length=40,
        description="MIME types accepted, as the content's magic numbers say (not the name).",
    )
    link_seconds: JsonInt = Field(
        default=300,
        ge=10,
        le=3600,
        description="How long a signed download link is good for.",
    )
    max_report_files: JsonInt = Field(
        default=20,
        ge=1,
        le=100,
        description="Most files an offline report (a case registered with its files in one "
        "request) may carry; more are attached to the case after.",
    )
    upload_hours: JsonInt = Field(
        default=48,
        ge=1,
        le=720,
        description="How long an unfinished resumable upload waits for its next piece before "
        "it expires (a phone on a weak link may resume the next day).",
    )

    @model_validator(mode="after")
    def _resumable_not_smaller(self) -> MaterialsPolicy:
        if self.max_resumable_bytes < self.max_file_bytes:
            raise ValueError(Message("max_resumable_bytes must be at least max_file_bytes"))
        return self
