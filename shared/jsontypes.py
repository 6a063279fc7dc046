"""Field types that read JSON as its schema says, not as pydantic's lax mode would.

Lax mode turns `true` into 1, `"5"` into 5, a number into a duration of seconds and `0` into
1970-01-01 (a Unix time); the contract says integer, integer, ISO 8601 duration and a date
written YYYY-MM-DD, and a client that sends otherwise has a bug it should hear about (422), not
a silently different value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator


def _integer_only(value: object) -> object:
    # JSON Schema's `integer` admits 7.0 (pydantic checks it has no fraction); not booleans or
    # text.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an integer is written as a JSON number")
    return value


def _text_only(kind: type, pattern: str, example: str) -> Callable[[object], object]:
    """Accept a `kind` as it is (defaults in code), or text matching `pattern`."""
    written = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, kind) or (isinstance(value, str) and written.fullmatch(value)):
            return value
        raise ValueError(f"expected text of the form {example}")

    return check


JsonInt = Annotated[int, BeforeValidator(_integer_only)]
IsoDuration = Annotated[timedelta, BeforeValidator(_text_only(timedelta, r"-?P.*", "PT20M"))]
IsoDate = Annotated[date, BeforeValidator(_text_only(date, r"\d{4}-\d{2}-\d{2}", "2026-11-24"))]
IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(
        _text_only(datetime, r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*", "2026-11-24T09:30:00+08:00")
    ),
]
