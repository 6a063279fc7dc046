"""Follow-up calls to the petitioner after a reply (回访)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class FollowUpMethod(enum.StrEnum):
    """How the petitioner was called back."""

    phone = "phone"  # 电话回访
    visit = "visit"  # 上门回访
    sms = "sms"  # 短信回访


class FollowUp(RecordModel):
    """One attempt to call the petitioner back: reached or not, satisfied or not."""

    __tablename__ = "follow_ups"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))
    reached: Mapped[bool]
    satisfied: Mapped[bool | None]
    comment: Mapped[str | None] = mapped_column(Text)
