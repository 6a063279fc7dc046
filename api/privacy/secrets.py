"""The petitioner's lookup secret (查询码): handed over at registration, kept only as a keyed
hash, asked for with the case number by the public lookup."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from api.models.case import Case
from api.policies.service import current_policy
from api.privacy.service import vault_of

# Look-alikes (0/O, 1/I/L) left out: the secret is read out over the phone and written by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_secret(length: int) -> str:
    """A fresh lookup secret of `length` characters."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


async def issue_secret(session: AsyncSession, case: Case) -> str:
    """Give the case a new lookup secret and keep only its keyed hash; returns the secret."""
    length = (await current_policy(session)).policy.follow_up.secret_length
    secret = new_secret(length)
    case.lookup_secret_hash = vault_of(session).lookup_digest(str(case.id), secret)
    return secret
