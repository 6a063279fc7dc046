"""Logging in, renewing a login, and service tokens."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import check_password, min_length
from api.auth.permissions import GRANTS, may_grant
from api.auth.principal import Principal
from api.auth.repository import TokenRepository
from api.auth.schemas import (
    Me,
    PasswordChange,
    ServiceTokenCreate,
    ServiceTokenCreated,
    ServiceTokenRead,
    TokenResponse,
)
from api.auth.security import (
    TokenClaims,
    dummy_hash,
    hash_password,
    issue_token,
    token_digest,
    verify_password,
)
from api.auth.throttle import LoginThrottle
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from api.kit.i18n import Message
from api.kit.uow import unit_of
from api.models.official import Official
from api.models.token import Login, RefreshToken, ServiceToken
from api.officials.repository import OfficialRepository
from api.units.repository import UnitRepository

SERVICE_TOKEN_PREFIX = "pds_"
MAX_SERVICE_TOKEN_LIFETIME = timedelta(days=366)


@dataclass(frozen=True)
class Lifetimes:
    """How long access and refresh tokens last."""

    access: timedelta
    refresh: timedelta


async def _pair(
    session: AsyncSession,
    official: Official,
    secret: str,
    lifetimes: Lifetimes,
    family_id: uuid.UUID,
) -> TokenResponse:
    claims = TokenClaims(official.id, official.role.value, login_id=family_id)
    access = issue_token(claims, secret, lifetimes.access)
    refresh = secrets.token_urlsafe(32)
    TokenRepository(session).add(
        RefreshToken(
            official_id=official.id,
            family_id=family_id,
            token_hash=token_digest(refresh),
            expires_at=utcnow() + lifetimes.refresh,
        )
    )
    await session.flush()
    return TokenResponse(
        access_token=access,
        expires_in=int(lifetimes.access.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=int(lifetimes.refresh.total_seconds()),
    )


async def login(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    address: str,
    throttle: LoginThrottle,
    secret: str,
    lifetimes: Lifetimes,
    client: str | None = None,
) -> TokenResponse:
    """Access and refresh tokens of a new login for valid credentials; 401 with one message
    for every failure, 429 while the user name or the address is locked after repeated
    failures."""
    await throttle.check(username, address)
    official = await OfficialRepository(session).get_by_username(username)
    stored = official.password_hash if official is not None and official.active else None
    # argon2 is deliberately slow: keep it off the event loop. An unknown or inactive user
    # name is checked against a dummy hash: every wrong answer takes as long as the others.
    right = await asyncio.to_thread(verify_password, stored or dummy_hash(), password)
    if official is None or stored is None or not right:
        await throttle.failed(username, address)
        raise Unauthorized(Message("Wrong user name or password."))
    await throttle.succeeded(username, address)
    login = Login(id=uuid.uuid4(), official_id=official.id, client=(client or "")[:300] or None)
    TokenRepository(session).add_login(login)
    return await _pair(session, official, secret, lifetimes, login.id)


async def refresh(
    session: AsyncSession, token: str, *, secret: str, lifetimes: Lifetimes
) -> TokenResponse:
    """A new pair for a valid refresh token, which is used up. A used token presented again
    was copied: the whole login is revoked and the caller must log in again."""
    repo = TokenRepository(session)
    stored = await repo.refresh_by_hash(token_digest(token))
    now = utcnow()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise Unauthorized(Message("The refresh token is invalid or expired; log in again."))
    if stored.used_at is not None:
        await revoke_logins(session, stored.official_id, "refresh_reused", only=stored.family_id)
        refused = Unauthorized(
            Message("The refresh token was already used; this login is revoked.")
        )
        refused.keep_changes = True
        raise refused
    official = await repo.official_in_login(stored.official_id, stored.family_id)
    if official is None or not official.active:
        raise Unauthorized(
            Message("This login has ended (or its account is not active); log in again.")
        )
    stored.used_at = now
    return await _pair(session, official, secret, lifetimes, stored.family_id)


async def revoke_logins(
    session: AsyncSession,
    official_id: uuid.UUID,
    reason: str,
    *,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> int:
    """End the official's logins (one of them, or all but one): their access tokens fail from
    the next request on, on every replica, and their refresh tokens with them. Every ETag
    changes too, so a revoked token's next poll is checked (and refused) instead of answered
    304. Returns how many logins ended."""
    ended = await TokenRepository(session).revoke_logins(
        official_id, reason, utcnow(), only=only, keep=keep
    )
    if ended:
        unit_of(session).data_changed = True
    return ended


async def logout(session: AsyncSession, principal: Principal) -> None:
    """End the caller's own login (a service token has none: an admin revokes it)."""
    if principal.login_id is None:
        raise Conflict(Message("A service token has no login to end; an admin revokes the token."))
    await revoke_logins(session, principal.id, "logout", only=principal.login_id)


async def change_password(
    session: AsyncSession, principal: Principal, body: PasswordChange
) -> None:
    """Change the caller's own password (the current one proves it is them) and end every
    other login of theirs; the login making the change goes on."""
    official = await OfficialRepository(session).get(principal.id)
    if principal.login_id is None or official is None or official.password_hash is None:
        raise Conflict(
            Message("This account has no password (a service token's); nothing to change.")
        )
    right = await asyncio.to_thread(verify_password, official.password_hash, body.current_password)
    if not right:
        raise InvalidInput(Message("The current password is wrong."), pointer="/current_password")
    check_password(
        body.new_password, official.username, min_length(session), pointer="/new_password"
    )
    official.password_hash = await asyncio.to_thread(hash_password, body.new_password)
    await revoke_logins(session, official.id, "password_changed", keep=principal.login_id)
    await session.flush()


async def create_service_token(
    session: AsyncSession, body: ServiceTokenCreate, creator: Principal
) -> ServiceTokenCreated:
    """Issue a service token with its own service account (role, unit scope, expiry): scoped
    to a unit of the creator's territory (422 outside it), with a role whose every permission
    the creator holds (403 otherwise: the secret is handed to the creator)."""
    now = utcnow()
    if not now < body.expires_at <= now + MAX_SERVICE_TOKEN_LIFETIME:
        raise InvalidInput(
            Message("Expiry must be in the future and within a year."), pointer="/expires_at"
        )
    unit = await UnitRepository(session).get(body.unit_id)
    if unit is None or not creator.reaches(unit.id):
        raise InvalidInput(
            Message("Unit {unit_id} does not exist.", unit_id=body.unit_id), pointer="/unit_id"
        )
    if body.higher_office_id is not None and not await TokenRepository(session).office_active(
        body.higher_office_id
    ):
        raise InvalidInput(
            Message(
                "Higher office {higher_office_id} does not exist.",
                higher_office_id=body.higher_office_id,
            ),
            pointer="/higher_office_id",
        )
    if not may_grant(creator.role, body.role, credential=True):
        missing = ", ".join(sorted(GRANTS[body.role] - GRANTS[creator.role]))
        raise Forbidden(
            Message(
                "A {role} token would hold permissions you lack ({missing}); only an "
                "admin may issue it.",
                role=body.role.value,
                missing=missing,
            )
        )
    account = Official(
        id=uuid.uuid4(),
        name=f"服务令牌:{body.name}",
        role=body.role,
        unit_id=body.unit_id,
        higher_office_id=body.higher_office_id,
    )
    OfficialRepository(session).add(account)
    await session.flush()  # the account row first: the token refers to it
    token = SERVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ServiceToken(
        id=uuid.uuid4(),
        official_id=account.id,
        name=body.name,
        token_hash=token_digest(token),
        prefix=token[:12],
        expires_at=body.expires_at,
        created_by=creator.id,
        created_at=now,
    )
    TokenRepository(session).add(row)
    await session.flush()
    return ServiceTokenCreated(**_read(row, account).model_dump(), token=token)


def _read(row: ServiceToken, account: Official) -> ServiceTokenRead:
    return ServiceTokenRead(
        id=row.id,
        name=row.name,
        role=account.role,
        unit_id=account.unit_id,
        higher_office_id=account.higher_office_id,
        prefix=row.prefix,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def list_service_tokens(
    session: AsyncSession, principal: Principal
) -> list[ServiceTokenRead]:
    """The service tokens working in the caller's territory (every one for an admin),
    without secrets."""
    rows = await TokenRepository(session).services(principal.reach)
    accounts = await OfficialRepository(session).get_many([r.official_id for r in rows])
    return [_read(r, accounts[r.official_id]) for r in rows]


async def revoke_service_token(
    session: AsyncSession, token_id: uuid.UUID, principal: Principal
) -> ServiceTokenRead:
    """Stop a service token of the caller's territory at once (404 outside it); its account
    is deactivated too. Any token there, whatever its role: revoking only takes away."""
    row = await TokenRepository(session).service(token_id)
    account = await OfficialRepository(session).get(row.official_id) if row else None
    if row is None or account is None or not principal.reaches(account.unit_id):
        raise NotFound(Message("Service token {token_id} does not exist.", token_id=token_id))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    account.active = False
    await session.flush()
    return _read(row, account)


async def service_account(session: AsyncSession, token: str) -> Official | None:
    """The service account behind a valid, unexpired, unrevoked service token, or None."""
    row = await TokenRepository(session).service_by_hash(token_digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return await OfficialRepository(session).get(row.official_id)


def is_service_token(token: str) -> bool:
    """Whether a bearer token is a service token (they carry a prefix)."""
    return token.startswith(SERVICE_TOKEN_PREFIX)


async def whoami(session: AsyncSession, principal: Principal) -> Me:
    """The calling official and the permissions of their role."""
    official = await OfficialRepository(session).get(principal.id)
    return Me(
        id=principal.id,
        name=official.name if official else "",
        role=principal.role,
        unit_id=principal.unit_id,
        permissions=sorted(GRANTS[principal.role]),
    )
