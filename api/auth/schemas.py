"""Token endpoint schemas."""

from __future__ import annotations

from pydantic import BaseModel


class TokenResponse(BaseModel):
    """OAuth2 bearer token answer."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
