"""Token requests and answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.auth.permissions import Permission
from api.kit.i18n import Message
from api.models.official import Role
from shared.jsontypes import IsoDateTime


class TokenResponse(BaseModel):
    """OAuth2 bearer token answer, with the refresh token that renews it."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Single use: `POST /v1/auth/refresh` returns a new one.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")


class LoginForm(BaseModel):
    """The OAuth2 password grant (RFC 6749 §4.3), form-encoded; `scope` and the client
    fields are accepted and ignored."""

    grant_type: str = Field(default="password", pattern="^password$")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    scope: str = ""
    client_id: str = ""
    client_secret: str = ""


class LoginJson(LoginForm):
    """The same login as a JSON body, for apps that speak JSON only: `{"username",
    "password"}` is enough (the grant's other fields as in the form, accepted and ignored)."""


class RefreshRequest(BaseModel):
    """A refresh token to exchange for a new pair."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordChange(BaseModel):
    """The caller's current password, and the new one (the password policy applies: long
    enough, not the user name, not a commonly used password)."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class ServiceTokenCreate(BaseModel):
    """A token for a dashboard or a tool: what it may do and where."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="e.g. 县信访局大屏")
    role: Role = Field(description="Any role but admin.")
    unit_id: uuid.UUID = Field(description="The unit whose subtree the token works in.")
    expires_at: IsoDateTime = Field(description="When the token stops working (at most a year).")
    higher_office_id: uuid.UUID | None = Field(
        default=None,
        description="For role `higher_office` (and only for it): the registered higher office "
        "whose system the token is (`/v1/higher-offices`). It hands cases down to `unit_id` "
        "(`POST /v1/transfers`) and reads back only those.",
    )

    @field_validator("role")
    @classmethod
    def _not_admin(cls, role: Role) -> Role:
        if role is Role.admin:
            raise ValueError(Message("a service token cannot be an admin"))
        return role

    @model_validator(mode="after")
    def _office_for_office_role(self) -> ServiceTokenCreate:
        if (self.role is Role.higher_office) != (self.higher_office_id is not None):
            raise ValueError(
                Message("higher_office_id is given with role higher_office, and only then")
            )
        return self


class ServiceTokenRead(BaseModel):
    """A service token as listed (the secret itself is shown once, at creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: Role
    unit_id: uuid.UUID | None
    higher_office_id: uuid.UUID | None = Field(
        default=None, description="The higher office a `higher_office` token speaks for."
    )
    prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    created_by: uuid.UUID
    created_at: datetime


class ServiceTokenCreated(ServiceTokenRead):
    """A new service token, with its secret: store it now, it is not shown again."""

    token: str


class Me(BaseModel):
    """Who the token belongs to and what it may do (for clients that adapt to their user)."""

    id: uuid.UUID
    name: str
    role: Role
    unit_id: uuid.UUID | None = Field(description="Their unit: their territory is its subtree.")
    permissions: list[Permission] = Field(description="What the role may do (`GRANTS`).")
