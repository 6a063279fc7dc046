"""Written notices (书面告知) issued on a case and their service (送达)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, RecordModel


class NoticeKind(enum.StrEnum):
    """The written notices of the lifecycle."""

    acceptance = "acceptance"  # 受理告知书
    rejection = "rejection"  # 不予受理告知书 (also 导入法定途径)
    transfer = "transfer"  # 转送交办单
    reply = "reply"  # 答复意见书
    review = "review"  # 复查意见书
    re_review = "re_review"  # 复核意见书
    receipt = "receipt"  # 送达回证


class ServiceMethod(enum.StrEnum):
    """How a notice reached the petitioner."""

    in_person = "in_person"  # 直接送达
    post = "post"  # 邮寄送达 (with the tracking number)
    sms_link = "sms_link"  # 短信链接
    electronic = "electronic"  # 电子送达


class Notice(RecordModel):
    """One version of a written notice: its number, the template version it was filled from and
    the filled fields, from which its Word and PDF files are rendered byte for byte; and, once
    served, how, when, by whom, and the proof."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]]
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    issued_at: Mapped[datetime]
    issued_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    due_at: Mapped[datetime | None]
    docx_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None]
    # 四.三.1: a reply several departments worked on is signed off by the leader in charge
    needs_approval: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    # 四.三.2: a reply the petitioner is expected to dispute: the office is told, a witness goes
    expect_dispute: Mapped[bool] = mapped_column(default=False)
    served_at: Mapped[datetime | None]
    served_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    service_method: Mapped[str | None] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    witness: Mapped[str | None] = mapped_column(String(100))
    proof_ref: Mapped[str | None] = mapped_column(String(200))
    proof_at: Mapped[datetime | None]


class NoticeCounter(Base):
    """The last number drawn per county, year and kind of notice (〔2026〕12号)."""

    __tablename__ = "notice_counters"

    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
