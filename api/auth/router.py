"""`/v1/auth`: OAuth2 password login."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.schemas import TokenResponse
from api.dependencies import AppState, DbSession, get_state

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
) -> TokenResponse:
    """Exchange a user name and password (form-encoded) for a bearer access token."""
    return await service.login(
        session,
        form.username,
        form.password,
        secret=state.settings.jwt_secret,
        lifetime=timedelta(minutes=state.settings.access_token_minutes),
    )
