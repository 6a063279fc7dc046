"""Events to other systems: each one a signed webhook delivery per subscriber, recorded in the
same transaction as the change (outbox), delivered at least once with a stable id.

A subscription hears the events of its unit's subtree (`unit_id`), or every event (NULL: the
deployment scope). An event belongs to one unit: a case's to its origin unit, a deadline's and
its escalations' to the unit whose duty it is, a failed alert's to its official's unit; it goes
to the subscriptions whose unit is that unit or one above it, and to the deployment's. An
event of no unit goes only to the deployment's: outside its scope nothing is signed for a
subscriber."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_webhook
from api.auth.principal import Principal
from api.events.repository import ACTIVE_SUBSCRIPTIONS, SubscriptionRepository
from api.events.schemas import OFFICE_EVENTS, EventType, SubscriptionCreate, SubscriptionQuery
from api.kit.db import utcnow
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.uow import unit_of
from api.models.alert import Alert
from api.models.subscription import WebhookSubscription
from api.units.repository import UnitRepository
from api.units.service import named_unit
from shared.webhooks import check_public_url, generate_secret


async def subscribed(session: AsyncSession, event_type: str) -> bool:
    """Whether anyone, in any scope, subscribes to `event_type` (spares building payloads
    nobody receives; `emit` then picks the subscriptions whose scope holds the event)."""
    return bool(await SubscriptionRepository(session).active_for(event_type))


async def prefetch_scopes(
    session: AsyncSession, event_type: str, unit_ids: Collection[uuid.UUID]
) -> None:
    """Before emitting `event_type` for many units: walk their chains up the tree in one
    query, and only when a subscription to it is scoped to a unit (none: nothing to walk)."""
    subscriptions = await SubscriptionRepository(session).active_for(event_type)
    if any(s.unit_id is not None for s in subscriptions):
        await UnitRepository(session).prefetch_ancestry(unit_ids)


async def hearing(
    session: AsyncSession,
    subscriptions: Sequence[WebhookSubscription],
    unit_id: uuid.UUID | None,
) -> list[WebhookSubscription]:
    """The subscriptions whose scope holds an event of `unit_id`: the deployment's, and those
    of the unit or a unit above it (its chain from the transaction's `ANCESTRY` slot, walked
    only when some subscription is scoped). An event of no unit: the deployment's only."""
    if unit_id is None:
        return [s for s in subscriptions if s.unit_id is None]
    if all(s.unit_id is None for s in subscriptions):
        return list(subscriptions)
    chain = {u.id for u in await UnitRepository(session).ancestry(unit_id)}
    return [s for s in subscriptions if s.unit_id is None or s.unit_id in chain]


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    unit_id: uuid.UUID | None,
    case_id: uuid.UUID | None = None,
) -> int:
    """Record a delivery of the event to every active subscriber whose scope holds `unit_id`
    (the unit the event belongs to; None: the deployment's subscribers only); returns how
    many."""
    everyone = await SubscriptionRepository(session).active_for(event_type)
    subscriptions = await hearing(session, everyone, unit_id) if everyone else []
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
    what it holds is for the people named on it). An endpoint of the office scoped to a unit
    hears only of the cases that arose in its subtree. Returns how many."""
    if case.higher_office_id is None or case.confidential:
        return 0
    bound = await SubscriptionRepository(session).of_office(case.higher_office_id, event_type.value)
    subscriptions = await hearing(session, bound, case.origin_unit_id) if bound else []
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
    session: AsyncSession, body: SubscriptionCreate, principal: Principal, *, allow_private: bool
) -> WebhookSubscription:
    """Register an endpoint; private and loopback addresses only when `allow_private`. Its
    scope is a unit of the caller's territory (422 outside it); only the deployment's admin
    may leave it out (the deployment scope: every county's events), anyone else is refused
    (403) rather than given a scope they did not name."""
    if not allow_private:
        try:
            check_public_url(body.url)
        except ValueError as exc:
            raise InvalidInput(
                Message("The address is not allowed: {reason}", reason=str(exc)), pointer="/url"
            ) from exc
    if body.unit_id is not None:
        await named_unit(session, body.unit_id, principal)
    elif not principal.deployment_wide:
        raise Forbidden(
            Message(
                "Only the deployment's admin may subscribe to every county's events; name the "
                "unit of your territory whose events the endpoint should receive (unit_id)."
            )
        )
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
        created_by=principal.id,
        unit_id=body.unit_id,
        higher_office_id=body.higher_office_id,
    )
    SubscriptionRepository(session).add(subscription)
    unit_of(session).forget(ACTIVE_SUBSCRIPTIONS)
    await session.flush()
    return subscription


async def disable(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    reason: str,
    principal: Principal | None = None,
) -> None:
    """Stop delivering to a subscription (410 Gone from the receiver, or an admin: with
    `principal`, one outside their scope answers 404)."""
    subscription = await get_subscription(session, subscription_id, principal)
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
    session: AsyncSession, subscription_id: uuid.UUID, principal: Principal | None = None
) -> WebhookSubscription:
    """The subscription, or 404; with `principal`, 404 too for one they may not see: scoped
    outside their territory, or deployment-scoped and they are not the deployment's admin."""
    subscription = await SubscriptionRepository(session).get(subscription_id)
    if subscription is None or (
        principal is not None and not principal.reaches(subscription.unit_id)
    ):
        raise NotFound(
            Message(
                "Webhook subscription {subscription_id} does not exist.",
                subscription_id=subscription_id,
            )
        )
    return subscription


async def list_subscriptions(
    session: AsyncSession, query: SubscriptionQuery, principal: Principal
) -> tuple[list[WebhookSubscription], str | None]:
    """A page of the subscriptions the caller may see (scoped to a unit of their territory;
    all of them for the deployment's admin)."""
    return await SubscriptionRepository(session).list(query, principal.reach)


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
