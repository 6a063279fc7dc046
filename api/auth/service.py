"""Logging in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.schemas import TokenResponse
from api.auth.security import TokenClaims, issue_token, verify_password
from api.errors import Unauthorized
from api.officials.repository import OfficialRepository


async def login(
    session: AsyncSession, username: str, password: str, *, secret: str, lifetime: timedelta
) -> TokenResponse:
    """An access token for valid credentials; 401 with one message for every failure."""
    official = await OfficialRepository(session).get_by_username(username)
    # argon2 is deliberately slow: keep it off the event loop.
    if (
        official is None
        or not official.active
        or official.password_hash is None
        or not await asyncio.to_thread(verify_password, official.password_hash, password)
    ):
        raise Unauthorized("Wrong user name or password.")
    token = issue_token(TokenClaims(official.id, official.role.value), secret, lifetime)
    return TokenResponse(access_token=token, expires_in=int(lifetime.total_seconds()))
