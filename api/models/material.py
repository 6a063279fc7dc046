"""Materials (附件): files attached to a case or one of its events. The bytes live in the blob
store by SHA-256 (`api.materials.storage`), never in a row; a withdrawal keeps the row."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class MaterialKind(enum.StrEnum):
    """What a material is to the case."""

    letter = "letter"  # the petition letter, scanned (来信)
    photo = "photo"  # taken on the spot
    document = "document"  # a PDF or Word file handed in or made
    audio = "audio"  # the recording of a call or a talk
    receipt = "receipt"  # a signed proof of service (送达回证) or the petitioner's signed opinion
    notice = "notice"  # a written notice the office issued (书面告知)
    other = "other"


class Material(RecordModel):
    """One file attached to a case (a scanned letter, a photo, a PDF, a Word file, the audio
    of a call), optionally to one of its timeline events (a reply, a closing, a follow-up)."""

    __tablename__ = "materials"
    __table_args__ = (
        Index("ix_materials_case_sha256", "case_id", "sha256"),
        UniqueConstraint(
            "case_id", "uploaded_by", "idempotency_key", name="uq_materials_idempotency"
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_events.id"))
    kind: Mapped[str] = mapped_column(String(32), doc="letter, photo, document, audio, receipt…")
    note: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127), doc="As the content's bytes say.")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def withdrawn(self) -> bool:
        """Whether the material was withdrawn (its content is no longer served)."""
        return self.withdrawn_at is not None


class MaterialUpload(RecordModel):
    """A resumable upload (tus 1.0) under way: the bytes received so far sit in a part file
    under the data dir; once `offset` reaches `length` the file becomes a `Material`."""

    __tablename__ = "material_uploads"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_events.id"))
    expires_at: Mapped[datetime]
    material_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("materials.id"))
