"""Field types that read JSON as its schema says, not as pydantic's lax mode would.

Lax mode turns `true` into 1, `"5"` into 5 and a number into a duration of seconds; the
contract says integer, integer and ISO 8601 duration, and a client that sends otherwise has a
bug it should hear about (422), not a silently different value.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator


def _integer_only(value: object) -> object:
    # JSON Schema's `integer` admits 7.0 (pydantic checks it has no fraction); not booleans or
    # text.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an integer is written as a JSON number")
    return value


def _duration_only(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and value.lstrip("-").startswith("P"):
        return value
    raise ValueError("a duration is written in ISO 8601, e.g. PT20M")


JsonInt = Annotated[int, BeforeValidator(_integer_only)]
IsoDuration = Annotated[timedelta, BeforeValidator(_duration_only)]
