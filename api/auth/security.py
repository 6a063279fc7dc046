"""Password hashing (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.kit.db import utcnow

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def token_digest(token: str) -> str:
    """What is stored of a random bearer secret (refresh or service token, acknowledgement
    link): its SHA-256. The secrets carry 128+ random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


@functools.cache
def dummy_hash() -> str:
    """A hash of no one's password, made once: checking a password for an unknown user name
    against it costs what checking a real one does, so the time of an answer does not tell
    which user names exist."""
    return _hasher.hash(secrets.token_urlsafe(24))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    """What an access token says about its bearer."""

    official_id: uuid.UUID
    role: str
    login_id: uuid.UUID


def issue_token(claims: TokenClaims, secret: str, lifetime: timedelta) -> str:
    """A signed access token for the official."""
    now = utcnow()
    payload = {
        "sub": str(claims.official_id),
        "role": claims.role,
        "sid": str(claims.login_id),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> TokenClaims | None:
    """The claims of a valid, unexpired access token, or None (a token made before logins
    were recorded has no `sid`: its holder refreshes or logs in again)."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]}
        )
        if payload.get("typ") != "access":
            return None
        return TokenClaims(
            official_id=uuid.UUID(payload["sub"]),
            role=str(payload["role"]),
            login_id=uuid.UUID(payload["sid"]),
        )
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
