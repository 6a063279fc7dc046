"""`/v1/webhook-subscriptions`: other systems subscribe to events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.events import service
from api.events.schemas import (
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionQuery,
    SubscriptionRead,
)
from api.kit.boundary import AppState, DbSession, get_state
from api.kit.pagination import Page

router = APIRouter(prefix="/v1/webhook-subscriptions", tags=["webhooks"])


@router.post("", status_code=201, **needs(Permission.manage_webhooks))
async def create_subscription(
    body: SubscriptionCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    state: Annotated[AppState, Depends(get_state)],
) -> SubscriptionCreated:
    """Subscribe an endpoint to event types of a unit's subtree (`unit_id`, inside the
    caller's territory; left out only by the deployment's admin: every county's events).
    Deliveries are signed per the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`) with the returned secret."""
    subscription = await service.create_subscription(
        session, body, principal, allow_private=state.settings.webhooks_allow_private
    )
    return SubscriptionCreated.model_validate(subscription, from_attributes=True)


@router.get("", **needs(Permission.manage_webhooks))
async def list_subscriptions(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[SubscriptionQuery, Query()]
) -> Page[SubscriptionRead]:
    """List the webhook subscriptions scoped to units of the caller's territory (the
    deployment's admin: every one, the deployment-scoped ones too)."""
    rows, next_cursor = await service.list_subscriptions(session, query, principal)
    return Page(
        items=[SubscriptionRead.model_validate(s, from_attributes=True) for s in rows],
        next_cursor=next_cursor,
    )


@router.get("/{subscription_id}", **needs(Permission.manage_webhooks))
async def get_subscription(
    subscription_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> SubscriptionRead:
    """Read one subscription (without its secret); 404 outside the caller's territory."""
    subscription = await service.get_subscription(session, subscription_id, principal)
    return SubscriptionRead.model_validate(subscription, from_attributes=True)


@router.delete("/{subscription_id}", status_code=204, **needs(Permission.manage_webhooks))
async def disable_subscription(
    subscription_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Stop deliveries to a subscription; 404 outside the caller's territory."""
    await service.disable(session, subscription_id, "disabled by an administrator", principal)
    return Response(status_code=204)
