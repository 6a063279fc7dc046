"""What is audited: every change, every read of a case or of the audit trail, every refusal.
The worker's internal calls are not (they are the machine, not a person)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from api.audit.repository import AuditRepository
from api.audit.schemas import AuditQuery
from api.auth.principal import Principal
from api.kit.boundary import CALLER_ID
from api.kit.uow import UnitOfWork
from api.models.audit import AuditEntry
from api.privacy.crypto import MASKS, Kind

# every download of a material too (/v1/materials/…/content, /v1/material-links/…)
READ_AUDITED = ("/v1/cases", "/v1/audit", "/v1/material")


# Paths whose last part is a secret (a link's token).
SECRET_PATHS = ("/a/", "/v1/material-links/")


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def audited(request: Request) -> bool:
    """Whether this request leaves an entry when it succeeds."""
    path = request.url.path
    if path.startswith("/v1/internal") or not (path.startswith("/v1/") or path.startswith("/a/")):
        return False
    if request.method in ("GET", "HEAD"):
        return path.startswith(READ_AUDITED)
    return True


def _query(request: Request) -> dict[str, str]:
    # A search by ID-card or phone number (GET /v1/cases?id_number=…) is kept masked: the trail
    # shows that someone was looked up, without holding the number in clear.
    query = dict(request.query_params)
    for kind in Kind:
        if kind.value in query:
            query[kind.value] = MASKS[kind](query[kind.value])
    return query


def entry_for(request: Request, *, action: str, status: int) -> AuditEntry:
    """The audit entry of this request."""
    object_id = None
    for value in request.path_params.values():
        try:
            object_id = uuid.UUID(str(value))
            break
        except ValueError:
            continue
    principal = getattr(request.state, CALLER_ID, None)
    return AuditEntry(
        id=uuid.uuid4(),
        official_id=principal,
        action=action,
        method=request.method,
        route=_route(request)[:200],
        # an acknowledgement or download link's path is its secret: keep the route, not the token
        path=(_route(request) if request.url.path.startswith(SECRET_PATHS) else request.url.path)[
            :500
        ],
        object_id=object_id,
        status=status,
        client=(request.headers.get("user-agent") or "")[:300] or None,
        ip=request.client.host if request.client else None,
        query=_query(request),
    )


def record_success(session: AsyncSession, request: Request) -> None:
    """Add the entry of a request that succeeded, in its own transaction (committed with it)."""
    if not audited(request):
        return
    route = request.scope.get("route")
    status = int(getattr(route, "status_code", None) or 200)
    action = "read" if request.method in ("GET", "HEAD") else "change"
    AuditRepository(session).add(entry_for(request, action=action, status=status))


async def record_success_before_commit(session: AsyncSession, unit: UnitOfWork) -> None:
    """The request boundary's hook: audit the request its transaction serves, unless it was
    refused (a refusal is recorded on its own)."""
    if unit.request is not None and unit.refused_with is None:
        record_success(session, unit.request)


def record_refusal(session: AsyncSession, request: Request, status: int) -> None:
    """Add the entry of a request that was refused (its own change rolled back)."""
    path = request.url.path
    if path.startswith("/v1/internal") or status >= 500:
        return
    AuditRepository(session).add(entry_for(request, action="refused", status=status))


async def list_entries(
    session: AsyncSession, query: AuditQuery, principal: Principal
) -> tuple[list[AuditEntry], str | None]:
    """A page of the audit trail: all of it for the deployment's admin; for a county's or a
    city's, what the officials of their territory did."""
    return await AuditRepository(session).list(query, principal.reach)
