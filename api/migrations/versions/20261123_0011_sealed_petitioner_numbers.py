"""Petitioners' ID-card and phone numbers encrypted, found by keyed hash

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 23:00:00.000000

Data only: in each item of `cases.petitioners`, `id_number` / `phone` become
`id_number_enc` + `id_number_hash` / `phone_enc` + `phone_hash` (Fernet token under the first
key of PII_KEYS, HMAC-SHA256 under PII_HASH_KEY); the downgrade decrypts them back. Both need
the keys in the environment, but only when there are rows to convert. The item format is
spelled out here rather than imported, so that this revision keeps doing what it did when the
application's code moves on.
"""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from api.privacy.crypto import Kind, Vault
from shared.settings import Settings

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
FIELDS = ("id_number", "phone")

cases = sa.table("cases", sa.column("id", sa.Uuid()), sa.column("petitioners", JSONB()))


class _LazyVault:
    """The vault of the environment's keys, opened at the first row that needs it."""

    def __init__(self) -> None:
        self._vault: Vault | None = None

    def __call__(self) -> Vault:
        if self._vault is None:
            self._vault = Vault.from_settings(Settings())
        return self._vault


def _sealed(item: dict[str, Any], vault: _LazyVault) -> dict[str, Any]:
    out = dict(item)
    for field in FIELDS:
        value = out.pop(field, None)
        if value:
            clear = str(value).upper()  # the check character X of an ID-card number
            out[f"{field}_enc"] = vault().encrypt(clear)
            out[f"{field}_hash"] = vault().blind(Kind(field), clear)
    return out


def _opened(item: dict[str, Any], vault: _LazyVault) -> dict[str, Any]:
    out = dict(item)
    for field in FIELDS:
        token = out.pop(f"{field}_enc", None)
        out.pop(f"{field}_hash", None)
        if token:
            out[field] = vault().decrypt(str(token))
        else:
            out.setdefault(field, None)
    return out


def _convert(change: Callable[[dict[str, Any], _LazyVault], dict[str, Any]]) -> None:
    bind = op.get_bind()
    vault = _LazyVault()
    after = uuid.UUID(int=0)
    while True:
        rows = bind.execute(
            sa.select(cases.c.id, cases.c.petitioners)
            .where(cases.c.id > after)
            .order_by(cases.c.id)
            .limit(BATCH)
        ).all()
        for case_id, items in rows:
            converted = [change(dict(item), vault) for item in items or []]
            if converted != items:
                bind.execute(
                    sa.update(cases).where(cases.c.id == case_id).values(petitioners=converted)
                )
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def upgrade() -> None:
    """Apply this revision."""
    _convert(_sealed)


def downgrade() -> None:
    """Revert this revision."""
    _convert(_opened)
