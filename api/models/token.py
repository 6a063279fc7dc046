"""Logins, their refresh tokens, and service tokens; only the tokens' hashes are stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import Base, utcnow


class Login(Base):
    """One login (会话): a password login starts it, every access and refresh token it leads to
    belongs to it, and revoking it (logout, a refresh token used twice, a new password, the
    account deactivated, an admin's "sign out everywhere") ends them all at once."""

    __tablename__ = "logins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    client: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    """One refresh token of a login. Each refresh uses it up and hands out the next of the same
    family; presenting a used one again means it was stolen, and the family is revoked."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("logins.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class ServiceToken(Base):
    """A long-lived token for a dashboard or a grid-worker tool (服务令牌). It acts as its own
    service account: an official row with the token's role and unit scope and no password."""

    __tablename__ = "service_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), doc="The token's first characters, to tell it.")
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
