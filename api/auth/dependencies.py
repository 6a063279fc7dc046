"""Who is calling: an official with a bearer token, or the worker with its internal token."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import Permission
from api.auth.principal import Principal
from api.auth.repository import TokenRepository
from api.auth.security import read_token
from api.auth.service import is_service_token, service_account
from api.auth.throttle import RequestRate
from api.kit.boundary import CALLER_ID, AppState, DbSession, get_state
from api.kit.errors import Forbidden, Unauthorized
from api.kit.i18n import Message
from api.kit.polling import note_caller
from api.kit.uow import Resource, unit_of
from api.models.official import Official, Role
from api.units.repository import UnitRepository

SUBTREE_CASES_GRANTED: Resource[Callable[[AsyncSession, uuid.UUID], Awaitable[bool]]] = Resource(
    "whether a bureau's officials read their subtree's cases"
)
"""Asks the policy (a layer above) whether the officials of a city's or a province's unit read
every case of their subtree (`bureaus.read_subtree_cases`); the app gives it."""

bearer = HTTPBearer(auto_error=False, description="Access token from `POST /v1/auth/token`.")


async def current_principal(
    request: Request,
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The official whose valid access token came with the request."""
    if credentials is None:
        raise Unauthorized(Message("A bearer token is required."))
    official: Official | None
    login_id: uuid.UUID | None = None
    subtree: frozenset[uuid.UUID] | None = None
    counties: frozenset[uuid.UUID] = frozenset()
    bureau_units: frozenset[uuid.UUID] = frozenset()
    if is_service_token(credentials.credentials):
        official = await service_account(session, credentials.credentials)
        if official is None:
            raise Unauthorized(Message("The service token is invalid, expired or revoked."))
    else:
        claims = read_token(credentials.credentials, state.settings.jwt_secret)
        if claims is None:
            raise Unauthorized(Message("The bearer token is invalid or expired."))
        login_id = claims.login_id
        found = await TokenRepository(session).caller_of_login(claims.official_id, login_id)
        if found is not None:
            official, subtree, counties, bureau_units = found
        else:
            official = None
    if official is None or not official.active:
        raise Unauthorized(
            Message("This login has ended, or its account is not active; log in again.")
        )
    setattr(request.state, CALLER_ID, official.id)
    rate = RequestRate(
        redis=state.arq,
        namespace=state.settings.arq_queue,
        per_minute=state.settings.requests_per_minute,
    )
    await rate.hit(str(official.id))
    if official.role is Role.admin and official.unit_id is None:
        reach = None  # the deployment's admin; an admin of a unit keeps to its subtree
    elif subtree is not None:
        reach = subtree
    elif official.unit_id is not None:
        reach, counties, bureau_units = await UnitRepository(session).reach_of(official.unit_id)
    else:
        reach = frozenset()
    bureau = None
    if reach is not None and bureau_units and official.unit_id is not None:
        granted = unit_of(session).resources.get(SUBTREE_CASES_GRANTED)
        if granted is None or not await granted(session, official.unit_id):
            bureau = bureau_units
    # Whose data versions cover the caller's reads and writes: its counties, or everything (the
    # deployment's admin, a unit with no county); no statement of its own.
    watched = counties if reach is not None and counties else None
    unit_of(session).caller_counties = watched
    note_caller(request, watched)
    return Principal(
        id=official.id,
        role=official.role,
        unit_id=official.unit_id,
        client=request.headers.get("user-agent"),
        reach=reach,
        login_id=login_id,
        higher_office_id=official.higher_office_id,
        bureau=bureau,
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only officials whose role grants `permission`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise Forbidden(
                Message(
                    "Role {role} may not {permission}.",
                    role=principal.role.value,
                    permission=permission.value,
                )
            )
        return principal

    return check


def needs(permission: Permission) -> dict[str, Any]:
    """Route options for an endpoint that needs `permission`: the check, and the permission
    named in the OpenAPI operation (`x-permission`) so clients and tests can read it."""
    return {
        "dependencies": [Depends(require(permission))],
        "openapi_extra": {"x-permission": permission.value},
    }


async def worker_caller(
    state: Annotated[AppState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Admit only the worker, by its shared internal token."""
    expected = state.settings.worker_token
    if (
        credentials is None
        or not expected
        or not hmac.compare_digest(credentials.credentials.encode(), expected.encode())
    ):
        raise Unauthorized(Message("Internal endpoint: worker token required."))


WorkerCaller = Depends(worker_caller)
