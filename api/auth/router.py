"""`/v1/auth`: OAuth2 password login and its renewal; `/v1/service-tokens` for those who
manage them (admins, it_admins in their territory)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from api.auth import service
from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.auth.schemas import (
    LoginForm,
    Me,
    PasswordChange,
    RefreshRequest,
    ServiceTokenCreate,
    ServiceTokenCreated,
    ServiceTokenRead,
    TokenResponse,
)
from api.auth.throttle import LoginThrottle
from api.kit.boundary import AppState, DbSession, get_state

router = APIRouter(prefix="/v1/auth", tags=["auth"])
service_tokens_router = APIRouter(prefix="/v1/service-tokens", tags=["auth"])


def _lifetimes(state: AppState) -> service.Lifetimes:
    return service.Lifetimes(
        access=timedelta(minutes=state.settings.access_token_minutes),
        refresh=timedelta(days=state.settings.refresh_token_days),
    )


@router.post("/token")
async def token(
    request: Request,
    form: Annotated[LoginForm, Form()],
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
) -> TokenResponse:
    """Exchange a user name and password (form-encoded) for an access token and a refresh
    token. After repeated failures the user name (or the address) is locked for a while: 429
    with `Retry-After`."""
    throttle = LoginThrottle.from_settings(state.arq, state.settings)
    return await service.login(
        session,
        form.username,
        form.password,
        address=request.client.host if request.client else "unknown",
        throttle=throttle,
        secret=state.settings.jwt_secret,
        lifetimes=_lifetimes(state),
        client=request.headers.get("user-agent"),
    )


@router.post("/logout", status_code=204, **needs(Permission.read_directory))
async def logout(session: DbSession, principal: CurrentPrincipal) -> Response:
    """End the caller's login: its access token and refresh token stop working at once (409
    for a service token, which an admin revokes instead)."""
    await service.logout(session, principal)
    return Response(status_code=204)


@router.post("/password", status_code=204, **needs(Permission.read_directory))
async def change_password(
    body: PasswordChange, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Change one's own password (the current one proves it is you). Every other login of
    yours ends; this one goes on. The new password must be long enough (`PASSWORD_MIN_LENGTH`),
    not hold the user name and not be a commonly used one."""
    await service.change_password(session, principal, body)
    return Response(status_code=204)


@router.get("/me", **needs(Permission.read_directory))
async def me(session: DbSession, principal: CurrentPrincipal) -> Me:
    """Who the bearer token belongs to (an official or a service token's account), their unit
    and the permissions of their role."""
    return await service.whoami(session, principal)


@router.post("/refresh")
async def refresh(
    body: RefreshRequest, session: DbSession, state: Annotated[AppState, Depends(get_state)]
) -> TokenResponse:
    """Exchange a refresh token (single use) for a new access token and refresh token."""
    return await service.refresh(
        session, body.refresh_token, secret=state.settings.jwt_secret, lifetimes=_lifetimes(state)
    )


@service_tokens_router.post("", status_code=201, **needs(Permission.manage_service_tokens))
async def create_service_token(
    body: ServiceTokenCreate, session: DbSession, principal: CurrentPrincipal
) -> ServiceTokenCreated:
    """A token for a dashboard or a grid-worker tool, with a role, a unit scope and an
    expiry. The secret is in this answer only, so the token's role may hold no permission
    the caller lacks (403), and its unit must lie in the caller's territory (422)."""
    return await service.create_service_token(session, body, principal)


@service_tokens_router.get("", **needs(Permission.manage_service_tokens))
async def list_service_tokens(
    session: DbSession, principal: CurrentPrincipal
) -> list[ServiceTokenRead]:
    """The service tokens of the caller's territory (without secrets)."""
    return await service.list_service_tokens(session, principal)


@service_tokens_router.delete("/{token_id}", **needs(Permission.manage_service_tokens))
async def revoke_service_token(
    token_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> ServiceTokenRead:
    """Revoke a service token of the caller's territory (404 outside it); it stops working
    at once."""
    return await service.revoke_service_token(session, token_id, principal)
