"""`/v1/auth`: OAuth2 password login and its renewal; `/v1/service-tokens` for those who
manage them (admins, it_admins in their territory)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.auth import service
from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.auth.schemas import (
    LoginForm,
    LoginJson,
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
from api.kit.errors import BadRequest, UnsupportedMediaType
from api.kit.i18n import Message

router = APIRouter(prefix="/v1/auth", tags=["auth"])
service_tokens_router = APIRouter(prefix="/v1/service-tokens", tags=["auth"])


def _lifetimes(state: AppState) -> service.Lifetimes:
    return service.Lifetimes(
        access=timedelta(minutes=state.settings.access_token_minutes),
        refresh=timedelta(days=state.settings.refresh_token_days),
    )


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"

# One operation, two bodies: FastAPI describes one body per route, so the contract says it
# here (the app lists `LOGIN_SCHEMAS` among the contract's schemas).
LOGIN_SCHEMAS = (LoginForm, LoginJson)
LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_TYPES[0]: {"schema": {"$ref": "#/components/schemas/LoginForm"}},
            JSON_TYPE: {"schema": {"$ref": "#/components/schemas/LoginJson"}},
        },
    }
}


Body = TypeVar("Body", bound=BaseModel)


def _checked(model: type[Body], data: object) -> Body:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # as FastAPI reports a body it parsed itself: each field's pointer inside the body
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


async def credentials(request: Request) -> LoginForm | LoginJson:
    """The login's body: an OAuth2 form (as Swagger UI and OAuth2 clients send it) or JSON
    `{"username", "password"}`; any other `Content-Type` is 415."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == JSON_TYPE:
        try:
            data = await request.json()
        except ValueError as exc:
            raise BadRequest(Message("The body is not valid JSON.")) from exc
        return _checked(LoginJson, data)
    if media_type in FORM_TYPES:
        form = await request.form()
        # an empty field is a missing one, as FastAPI reads any form
        fields = {key: value for key, value in form.items() if value != ""}
        return _checked(LoginForm, fields)
    raise UnsupportedMediaType(
        Message(
            "Send the login as application/x-www-form-urlencoded or application/json, "
            "not {media_type}.",
            media_type=media_type or Message("no Content-Type"),
        )
    )


@router.post(
    "/token",
    openapi_extra=LOGIN_BODY,
    responses={415: {"description": "The body is neither a form nor JSON."}},
)
async def token(
    request: Request,
    body: Annotated[LoginForm | LoginJson, Depends(credentials)],
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
) -> TokenResponse:
    """Exchange a user name and password for an access token and a refresh token: an OAuth2
    password form (`application/x-www-form-urlencoded`) or JSON `{"username", "password"}`,
    the same login and the same errors either way. After repeated failures the user name (or
    the address) is locked for a while: 429 with `Retry-After`."""
    throttle = LoginThrottle.from_settings(state.arq, state.settings)
    return await service.login(
        session,
        body.username,
        body.password,
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
