"""Alerts: every message to an official, with its delivery state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import RecordModel


class AlertStatus(enum.StrEnum):
    """Delivery state of one alert."""

    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"


class AlertChannel(enum.StrEnum):
    """The channel an alert goes out on."""

    sms = "sms"


class Alert(RecordModel):
    """A message to one official; its id is the stable message id receivers dedupe on."""

    __tablename__ = "alerts"

    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))
    escalation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("escalations.id"))
    official_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    channel: Mapped[AlertChannel] = mapped_column(Enum(AlertChannel, name="alert_channel"))
    recipient: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, name="alert_status"), default=AlertStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
