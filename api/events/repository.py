"""Webhook subscription storage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.events.schemas import SubscriptionQuery
from api.kit.db import among
from api.kit.pagination import fetch_page
from api.kit.uow import Slot, unit_of
from api.models.higher_office import HigherOffice
from api.models.subscription import WebhookSubscription

ACTIVE_SUBSCRIPTIONS: Slot[dict[str, Sequence[WebhookSubscription]]] = Slot(
    "active subscriptions by event type", dict
)


class SubscriptionRepository:
    """Reads and writes webhook subscriptions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, subscription: WebhookSubscription) -> None:
        """Stage a subscription."""
        self.session.add(subscription)

    async def get(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        """The subscription with this id."""
        return await self.session.get(WebhookSubscription, subscription_id)

    async def active_for(self, event_type: str) -> Sequence[WebhookSubscription]:
        """Active subscriptions that want `event_type` (once per transaction and type)."""
        cache = unit_of(self.session).get(ACTIVE_SUBSCRIPTIONS)
        if event_type not in cache:
            stmt = select(WebhookSubscription).where(
                WebhookSubscription.active.is_(True),
                WebhookSubscription.higher_office_id.is_(None),
                WebhookSubscription.event_types.contains([event_type]),
            )
            cache[event_type] = (await self.session.execute(stmt)).scalars().all()
        return cache[event_type]

    async def of_office(
        self, office_id: uuid.UUID, event_type: str
    ) -> Sequence[WebhookSubscription]:
        """Active subscriptions bound to a higher office that want `event_type`."""
        stmt = select(WebhookSubscription).where(
            WebhookSubscription.active.is_(True),
            WebhookSubscription.higher_office_id == office_id,
            WebhookSubscription.event_types.contains([event_type]),
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def office_active(self, office_id: uuid.UUID) -> bool:
        """Whether the higher office is registered and active."""
        office = await self.session.get(HigherOffice, office_id)
        return office is not None and office.active

    async def list(
        self, query: SubscriptionQuery, reach: frozenset[uuid.UUID] | None
    ) -> tuple[list[WebhookSubscription], str | None]:
        """A page of the subscriptions scoped to a unit of `reach` (None: every one, the
        deployment-scoped ones too)."""
        stmt = select(WebhookSubscription)
        if reach is not None:
            stmt = stmt.where(among(WebhookSubscription.unit_id, reach))
        return await fetch_page(self.session, stmt, WebhookSubscription, query)
