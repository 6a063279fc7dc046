"""Alerts: every message to an official, with its delivery state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.kit.db import RecordModel
from api.models.escalation import Escalation


class AlertStatus(enum.StrEnum):
    """Delivery state of one alert."""

    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    bundled = "bundled"  # held by the rate limit; goes out inside a bundle alert


class AlertChannel(enum.StrEnum):
    """The channel an alert goes out on."""

    sms = "sms"
    webhook = "webhook"
    dingtalk = "dingtalk"
    wecom = "wecom"


class Alert(RecordModel):
    """A message to one official; its id is the stable message id receivers dedupe on."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_recipient_created", "recipient", "created_at"),)

    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deadlines.id"))
    escalation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("escalations.id"))
    # Declared so one flush inserts a batch of escalations before their alerts; never loaded.
    escalation: Mapped[Escalation | None] = relationship(lazy="raise")
    official_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"), index=True)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id"), index=True
    )
    contact_index: Mapped[int | None] = mapped_column(
        doc="Which of the official's contacts (priority order) this alert uses."
    )
    purpose: Mapped[str] = mapped_column(String(32))
    channel: Mapped[AlertChannel] = mapped_column(Enum(AlertChannel, name="alert_channel"))
    recipient: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # Which policy template the text came from and what filled it: a fallback to another
    # contact renders the template made for that contact's channel.
    template: Mapped[str | None] = mapped_column(String(32))
    template_fields: Mapped[dict[str, Any] | None]
    title: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, name="alert_status"), default=AlertStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    bundle_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"))
