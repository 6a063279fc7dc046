"""Escalations (升级督办): a missed deadline walking up its chain."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.kit.db import Base, RecordModel


class EscalationStatus(enum.StrEnum):
    """Open until someone acknowledges it (or the arrival that stops it happens)."""

    open = "open"
    acknowledged = "acknowledged"


# The reasons of the steps that reach the county petition office because nobody answered:
# the chain ran out unacknowledged, or the step had nobody to notify (vacant post, no contact).
UNANSWERED = "unanswered"
NOBODY_TO_NOTIFY = "nobody_to_notify"
UNANSWERED_REASONS = (UNANSWERED, NOBODY_TO_NOTIFY)


class Escalation(RecordModel):
    """One step of an escalation chain started by a missed deadline."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("deadline_id", "step", name="uq_escalations_deadline_step"),)

    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[int]
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[EscalationStatus] = mapped_column(
        Enum(EscalationStatus, name="escalation_status"), default=EscalationStatus.open
    )
    recipients: Mapped[list[str]] = mapped_column(default=list)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))


class AckLink(Base):
    """A one-click acknowledgement link (签收链接) sent to one recipient of one escalation:
    no login, expires, single use. Only the token's hash is stored."""

    __tablename__ = "ack_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    escalation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalations.id"), index=True)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    expires_at: Mapped[datetime]
    # Declared so one flush inserts escalations before their links; never loaded.
    escalation: Mapped[Escalation] = relationship(lazy="raise")
    used_at: Mapped[datetime | None]
