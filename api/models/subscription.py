"""Webhook subscriptions: other systems' endpoints and the events they want."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class WebhookSubscription(RecordModel):
    """An endpoint that receives signed deliveries (Standard Webhooks) of some event types."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]]
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    # The subtree whose events it hears: the unit and every unit below it. NULL: the deployment
    # scope, every county's events (only the deployment's admin makes or sees these).
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Bound to a higher office: it hears only of the cases that office handed down (`transfer.*`
    # events); unbound (install-wide), it never hears of those.
    higher_office_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("higher_offices.id"), index=True
    )
