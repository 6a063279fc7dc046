"""The password policy: long enough, not the user name, not a commonly used password.

The common passwords are the list zxcvbn (Dropbox's strength estimator, PyPI `zxcvbn`) ranks
from leaked password sets: about 30,000 of them, checked case-insensitively."""

from __future__ import annotations

import functools

from sqlalchemy.ext.asyncio import AsyncSession
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from api.kit.errors import InvalidInput
from api.kit.i18n import Message
from api.kit.uow import Resource, unit_of

PASSWORD_MIN_LENGTH: Resource[int] = Resource("shortest password")
"""The shortest password an official may be given (setting `PASSWORD_MIN_LENGTH`)."""
DEFAULT_MIN_LENGTH = 10


@functools.cache
def _common() -> frozenset[str]:
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def min_length(session: AsyncSession) -> int:
    """The shortest password the app allows."""
    return int(unit_of(session).resources.get(PASSWORD_MIN_LENGTH, DEFAULT_MIN_LENGTH))


def check_password(
    password: str, username: str | None, min_length: int, *, pointer: str = "/password"
) -> None:
    """Refuse (422, naming the field) a password shorter than `min_length`, the user name
    itself, or a commonly used one."""
    if len(password) < min_length:
        raise InvalidInput(
            Message("A password needs at least {min_length} characters.", min_length=min_length),
            pointer=pointer,
        )
    lowered = password.strip().lower()
    if username and lowered == username.strip().lower():
        raise InvalidInput(Message("A password may not be the user name."), pointer=pointer)
    if lowered in _common():
        raise InvalidInput(
            Message("This password is among the most commonly used ones; choose another."),
            pointer=pointer,
        )
