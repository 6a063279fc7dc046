"""Petitioners as stored (numbers sealed), as found (keyed hashes) and as shown (clear or masked).

A stored petitioner (an item of `cases.petitioners`) keeps its name, address and
`is_representative` in clear; each of its ID-card and phone numbers only as `<field>_enc`
(Fernet token) and `<field>_hash` (keyed hash, what the GIN index of the column finds by
containment). No plain number is ever written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import Permission
from api.auth.principal import Principal
from api.kit.uow import unit_of
from api.models.case import Case
from api.models.official import Role
from api.privacy.crypto import MASKS, PII_VAULT, Kind, PrivacyConfigError, Vault
from api.privacy.repository import PetitionerRepository
from api.privacy.schemas import Petitioner, PetitionerRead


def enc_key(kind: Kind) -> str:
    """The item key of a number's ciphertext."""
    return f"{kind.value}_enc"


def hash_key(kind: Kind) -> str:
    """The item key of a number's keyed hash."""
    return f"{kind.value}_hash"


def vault_of(session: AsyncSession) -> Vault:
    """The vault the session was made with (`api.kit.db.create_sessionmaker`)."""
    vault = unit_of(session).resources.get(PII_VAULT)
    if not isinstance(vault, Vault):
        raise PrivacyConfigError("This database session was made without the PII vault.")
    return vault


def seal(vault: Vault, petitioner: Petitioner) -> dict[str, Any]:
    """The stored form of a petitioner: numbers only encrypted and hashed."""
    item = petitioner.model_dump(mode="json", exclude={kind.value for kind in Kind})
    for kind in Kind:
        value = getattr(petitioner, kind.value)
        if value:
            item[enc_key(kind)] = vault.encrypt(value)
            item[hash_key(kind)] = vault.blind(kind, value)
    return item


def identities(vault: Vault, petitioners: Iterable[Petitioner]) -> list[dict[str, str]]:
    """How each petitioner is recognised again (repeat petitions): one containment pattern per
    ID-card or phone number, each matching any stored petitioner with that number."""
    found: list[dict[str, str]] = []
    for petitioner in petitioners:
        for kind in Kind:
            value = getattr(petitioner, kind.value)
            if value:
                found.append({hash_key(kind): vault.blind(kind, value)})
    return found


def search_pattern(
    vault: Vault, *, id_number: str | None, phone: str | None
) -> dict[str, str] | None:
    """The containment pattern of one petitioner with these numbers; None when neither is
    given."""
    given = {Kind.id_number: id_number, Kind.phone: phone}
    pattern = {hash_key(kind): vault.blind(kind, value) for kind, value in given.items() if value}
    return pattern or None


def _clear(vault: Vault, item: Mapping[str, Any], kind: Kind) -> str | None:
    token = item.get(enc_key(kind))
    if token:
        return vault.decrypt(str(token))
    # written in clear by a replica older than the encryption (rolling deploy): shown
    # like the rest, sealed by the next `python -m api.privacy rotate`
    legacy = item.get(kind.value)
    return str(legacy) if legacy else None


# Who reads every confidential case in their territory: the petition office's staff (信访工作
# 机构) and the install's administrators of petition work; never an IT administrator.
CONFIDENTIAL_ROLES = frozenset({Role.petition_staff, Role.admin})


@dataclass(frozen=True)
class Disclosure:
    """How much of a case one response may show: the petitioners' numbers clear or masked,
    and a confidential case's content (保密) or only that it exists."""

    vault: Vault
    reveal: bool
    reader_id: uuid.UUID | None = None
    petition_staff: bool = False

    def reads_content(self, case: Case) -> bool:
        """Whether the reader may read the case's content: any case that is not confidential;
        a confidential one for petition staff (and admins) and the leaders named on it."""
        return (
            not case.confidential
            or self.petition_staff
            or (self.reader_id is not None and self.reader_id in case.named_readers())
        )

    def petitioner(self, item: Mapping[str, Any]) -> PetitionerRead:
        """A stored petitioner as the response shows it: numbers clear or masked."""
        numbers: dict[str, str | None] = {}
        for kind in Kind:
            value = _clear(self.vault, item, kind)
            numbers[kind.value] = value if value is None or self.reveal else MASKS[kind](value)
        return PetitionerRead(
            name=str(item.get("name", "")),
            address=item.get("address"),
            is_representative=bool(item.get("is_representative", False)),
            **numbers,
        )

    def petitioners(self, items: Iterable[Mapping[str, Any]]) -> list[PetitionerRead]:
        """Every stored petitioner of a case as the response shows them."""
        return [self.petitioner(item) for item in items]


def disclosure(session: AsyncSession, principal: Principal, *, kept: bool = False) -> Disclosure:
    """Clear numbers for a role that may read personal data (`Permission.read_personal_data`),
    masked ones for everybody else, and masked ones in a response `kept` for Idempotency-Key
    replays, so that the replay store holds no personal numbers either."""
    reveal = principal.can(Permission.read_personal_data) and not kept
    staff = principal.role in CONFIDENTIAL_ROLES
    return Disclosure(vault_of(session), reveal, principal.id, staff)


def reseal(vault: Vault, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item with every number encrypted under the newest key and hashed under the current
    hash key (and any number still in clear sealed); None when it already is."""
    updated = dict(item)
    for kind in Kind:
        value = _clear(vault, item, kind)
        updated.pop(kind.value, None)
        if value is None:
            continue
        token = str(item.get(enc_key(kind), ""))
        fresh = vault.rotate(token) if token else vault.encrypt(value)
        if fresh is not None:
            updated[enc_key(kind)] = fresh
        updated[hash_key(kind)] = vault.blind(kind, value)
    return updated if updated != dict(item) else None


@dataclass
class RotationBatch:
    """What one batch of `rotate_batch` did."""

    last_id: uuid.UUID | None
    cases: int
    changed: int


async def rotate_batch(
    session: AsyncSession, vault: Vault, *, after: uuid.UUID | None, size: int
) -> RotationBatch:
    """Re-seal the petitioners of the next `size` cases (by id, after `after`), locked until
    the caller commits. Running it again changes nothing: a case already under the newest keys
    is left alone."""
    repo = PetitionerRepository(session)
    rows = await repo.lock_petitioners_after(after, size)
    changed = 0
    for case_id, items in rows:
        fresh = [reseal(vault, item) for item in items]
        if any(f is not None for f in fresh):
            merged = [f if f is not None else item for f, item in zip(fresh, items, strict=True)]
            await repo.set_petitioners(case_id, merged)
            changed += 1
    await session.flush()
    return RotationBatch(rows[-1][0] if rows else None, len(rows), changed)
