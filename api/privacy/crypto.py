"""Sealing ID-card and phone numbers: Fernet encryption, a keyed hash for exact matches, masks.

`PII_KEYS` holds Fernet keys, newest first: the newest encrypts, any of them decrypts
(MultiFernet), so a new key can be put in front while stored values still open with the old
ones until `python -m api.privacy rotate` has re-encrypted them. Fernet ciphertexts are
randomised (the same number encrypts differently each time), so exact-match lookups go through
a blind index instead: HMAC-SHA256 under `PII_HASH_KEY` of the normalised number. Equal
numbers give equal hashes, and without the key nobody can test a guessed number against the
database.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from api.kit.uow import Resource
from shared.settings import Settings

# A keyed hash is only as strong as its key: ask for at least 256 bits' worth of characters.
MIN_HASH_KEY_CHARS = 32
_PHONE_NOISE = re.compile(r"[\s\-().]")
# +86 / 0086 before a mainland mobile number: the same phone as without it.
_MAINLAND_MOBILE = re.compile(r"^(?:\+86|0086)(1[0-9]{10})$")


class Kind(enum.StrEnum):
    """A sealed field of a petitioner; also the domain tag of its hash."""

    id_number = "id_number"
    phone = "phone"


class PrivacyConfigError(RuntimeError):
    """`PII_KEYS` or `PII_HASH_KEY` is missing or malformed."""


class UnreadableValueError(RuntimeError):
    """A stored value that none of `PII_KEYS` opens: a key was dropped before rotation ended."""


def new_key() -> str:
    """A fresh Fernet key for `PII_KEYS`."""
    return Fernet.generate_key().decode()


def normalise_id_number(value: str) -> str:
    """An ID-card number without spaces, with an upper-case check character X."""
    return "".join(value.split()).upper()


def normalise_phone(value: str) -> str:
    """A phone number as digits with an optional leading +: no spaces, dashes or brackets."""
    return _PHONE_NOISE.sub("", value)


def _match_key(kind: Kind, value: str) -> str:
    if kind is Kind.id_number:
        return normalise_id_number(value)
    phone = normalise_phone(value)
    mobile = _MAINLAND_MOBILE.match(phone)
    return mobile.group(1) if mobile else phone


def mask_id_number(value: str) -> str:
    """First four and last four characters, the rest hidden: `3201**********1234`."""
    number = normalise_id_number(value)
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(value: str) -> str:
    """First three and last four digits of a full number (`138****0001`); of a short one,
    only the last two."""
    phone = normalise_phone(value)
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 0) + phone[-2:]


MASKS: dict[Kind, Callable[[str], str]] = {Kind.id_number: mask_id_number, Kind.phone: mask_phone}
NORMALISE: dict[Kind, Callable[[str], str]] = {
    Kind.id_number: normalise_id_number,
    Kind.phone: normalise_phone,
}


def parse_keys(raw: str) -> list[str]:
    """The keys of a comma-separated `PII_KEYS` value, newest first."""
    return [key.strip() for key in raw.split(",") if key.strip()]


class Vault:
    """Encrypts, decrypts, re-encrypts and blind-indexes personal numbers."""

    def __init__(self, keys: Sequence[str], hash_key: str) -> None:
        if not keys:
            raise PrivacyConfigError(
                "PII_KEYS is not set: give one or more Fernet keys, comma-separated, newest "
                "first (make one with `python -m api.privacy new-key`)."
            )
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                raise PrivacyConfigError(
                    f"PII_KEYS: key {position} is not a Fernet key (32 url-safe base64 bytes)."
                ) from None
        if len(hash_key) < MIN_HASH_KEY_CHARS:
            raise PrivacyConfigError(
                f"PII_HASH_KEY must be at least {MIN_HASH_KEY_CHARS} characters long "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        self._newest = fernets[0]
        self._any = MultiFernet(fernets)
        self._hash_key = hash_key.encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """The vault of `PII_KEYS` and `PII_HASH_KEY`; PrivacyConfigError when they are unusable."""
        return cls(parse_keys(settings.pii_keys), settings.pii_hash_key)

    def encrypt(self, value: str) -> str:
        """`value` encrypted under the newest key."""
        return self._any.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The clear value of a token encrypted under any of the keys."""
        try:
            return self._any.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UnreadableValueError(
                "A stored personal number opens with none of PII_KEYS: put back the key it was "
                "encrypted with (and run `python -m api.privacy rotate` before dropping it)."
            ) from None

    def rotate(self, token: str) -> str | None:
        """The token re-encrypted under the newest key; None when it already is."""
        try:
            self._newest.decrypt(token.encode())
            return None
        except InvalidToken:
            pass
        self.decrypt(token)  # UnreadableValueError, with its advice, when no key opens it
        return self._any.rotate(token.encode()).decode()

    def lookup_digest(self, case_id: str, secret: str) -> str:
        """The keyed hash a case keeps of its petitioner's lookup secret (查询码): a short
        secret is only as safe as the key it is hashed with, so it is never hashed bare."""
        message = f"lookup:{case_id}:{secret.upper()}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def blind(self, kind: Kind, value: str) -> str:
        """The keyed hash of the normalised number: the same for the same number, written in
        any accepted form; tagged with the field so an ID and a phone never collide."""
        message = f"{kind.value}:{_match_key(kind, value)}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def blind_token(self, token: str) -> str:
        """The keyed hash of one search token of personal text (a petitioner's name or
        address): `~` and 16 hex characters (64 bits: collisions among a county's tokens are
        negligible, and a shorter array entry keeps the search index small)."""
        message = f"token:{token}".encode()
        return "~" + hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()[:16]


PII_VAULT: Resource[Vault] = Resource("pii vault")
"""The vault every session of the app seals and opens petitioners' numbers with."""
