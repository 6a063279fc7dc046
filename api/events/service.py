"""Events to other systems: each one a signed webhook delivery per subscriber, recorded in the
same transaction as the change (outbox), delivered at least once with a stable id."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_webhook
from api.events.repository import ACTIVE_SUBSCRIPTIONS, SubscriptionRepository
from api.events.schemas import OFFICE_EVENTS, EventType, SubscriptionCreate, SubscriptionQuery
from api.kit.db import utcnow
from api.kit.errors import InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.uow import unit_of
from api.models.alert import Alert
from api.models.subscription import WebhookSubscription
from shared.webhooks import check_public_url, generate_secret


async def subscribed(session: AsyncSession, event_type: str) -> bool:
    """Whether anyone subscribes to `event_type` (spares building payloads nobody receives)."""
    return bool(await SubscriptionRepository(session).active_for(event_type))


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    case_id: uuid.UUID | None = None,
) -> int:
    """Record a delivery of the event to every active subscriber; returns how many."""
    subscriptions = await SubscriptionRepository(session).active_for(event_type)
    for subscription in subscriptions:
        event_id = uuid.uuid4()
        payload = {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}
        await alert_webhook(
            session,
            alert_id=event_id,
            url=subscription.url,
            event=event_type,
            payload=payload,
            subscription_id=subscription.id,
            case_id=case_id,
        )
    return len(subscriptions)


async def tell_office(
    session: AsyncSession, case: Any, event_type: EventType, details: dict[str, Any]
) -> int:
    """Record a delivery of a `transfer.*` event to the subscriptions bound to the office
    that handed the case down; none for a case of no office, or a confidential one (保密:
    what it holds is for the people named on it). Returns how many."""
    if case.higher_office_id is None or case.confidential:
        return 0
    subscriptions = await SubscriptionRepository(session).of_office(
        case.higher_office_id, event_type.value
    )
    for subscription in subscriptions:
        data = {
            "reference": case.higher_reference,
            "case": {
                "id": str(case.id),
                "number": case.number,
                "status": case.status.value,
                "outcome": case.outcome.value if case.outcome else None,
            },
            **details,
        }
        payload = {"type": event_type.value, "timestamp": utcnow().isoformat(), "data": data}
        await alert_webhook(
            session,
            alert_id=uuid.uuid4(),
            url=subscription.url,
            event=event_type.value,
            payload=payload,
            subscription_id=subscription.id,
            case_id=case.id,
        )
    return len(subscriptions)


async def create_subscription(
    session: AsyncSession, body: SubscriptionCreate, actor_id: uuid.UUID, *, allow_private: bool
) -> WebhookSubscription:
    """Register an endpoint; private and loopback addresses only when `allow_private`."""
    if not allow_private:
        try:
            check_public_url(body.url)
        except ValueError as exc:
            raise InvalidInput(
                Message("The address is not allowed: {reason}", reason=str(exc)), pointer="/url"
            ) from exc
    office_events = set(body.event_types) & OFFICE_EVENTS
    if body.higher_office_id is None and office_events:
        raise InvalidInput(
            Message(
                "transfer.* events go only to an endpoint bound to the office that "
                "handed the case down (higher_office_id)."
            ),
            pointer="/event_types",
        )
    if body.higher_office_id is not None:
        if office_events != set(body.event_types):
            raise InvalidInput(
                Message("An endpoint bound to a higher office receives only transfer.* events."),
                pointer="/event_types",
            )
        if not await SubscriptionRepository(session).office_active(body.higher_office_id):
            raise InvalidInput(
                Message(
                    "Higher office {higher_office_id} does not exist.",
                    higher_office_id=body.higher_office_id,
                ),
                pointer="/higher_office_id",
            )
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        url=body.url,
        event_types=[t.value for t in body.event_types],
        secret=generate_secret(),
        description=body.description,
        created_by=actor_id,
        higher_office_id=body.higher_office_id,
    )
    SubscriptionRepository(session).add(subscription)
    unit_of(session).forget(ACTIVE_SUBSCRIPTIONS)
    await session.flush()
    return subscription


async def disable(session: AsyncSession, subscription_id: uuid.UUID, reason: str) -> None:
    """Stop delivering to a subscription (410 Gone from the receiver, or an admin)."""
    subscription = await SubscriptionRepository(session).get(subscription_id)
    if subscription is None:
        raise NotFound(
            Message(
                "Webhook subscription {subscription_id} does not exist.",
                subscription_id=subscription_id,
            )
        )
    subscription.active = False
    subscription.disabled_reason = reason
    unit_of(session).forget(ACTIVE_SUBSCRIPTIONS)
    await session.flush()


async def on_alert_failed(session: AsyncSession, alert: Alert, gone: bool) -> None:
    """A delivery to a subscriber failed for good (registered for
    `api.alerts.service.ALERT_FAILED`): a receiver that answered 410 Gone is disabled; any
    other failure leaves the subscription as it is (not an official's missed alert)."""
    if alert.subscription_id is not None and gone:
        await disable(session, alert.subscription_id, "endpoint answered 410 Gone")


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """The subscription, or 404."""
    subscription = await SubscriptionRepository(session).get(subscription_id)
    if subscription is None:
        raise NotFound(
            Message(
                "Webhook subscription {subscription_id} does not exist.",
                subscription_id=subscription_id,
            )
        )
    return subscription


async def list_subscriptions(
    session: AsyncSession, query: SubscriptionQuery
) -> tuple[list[WebhookSubscription], str | None]:
    """A page of subscriptions."""
    return await SubscriptionRepository(session).list(query)


def case_summary(case: Any) -> dict[str, Any]:
    """What subscribers learn about a case: no petitioner details, no content."""
    return {
        "id": str(case.id),
        "number": case.number,
        "status": case.status.value,
        "channel": case.channel.value,
        "origin_unit_id": str(case.origin_unit_id),
        "lodged_level": case.lodged_level.value,
        "headcount": case.headcount,
        "is_collective": case.is_collective,
        "category": case.category,
        "received_at": case.received_at.isoformat(),
    }
