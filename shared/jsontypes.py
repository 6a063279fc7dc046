"""Field types that read JSON as its schema says, not as pydantic's lax mode would, and keep
every date, datetime, month, year and duration of the contract inside sane bounds.

Lax mode turns `true` into 1, `"5"` into 5, a number into a duration of seconds and `0` into
1970-01-01 (a Unix time); the contract says integer, integer, ISO 8601 duration and a date
written YYYY-MM-DD, and a client that sends otherwise has a bug it should hear about (422), not
a silently different value.

The bounds (issue 19 §2). Every date, datetime, month and year the API takes lies in the years
2000–2099, and every duration is at most `LONGEST_DURATION` (3,660 days, ten years) either way:

- 2000: no petition record a county office keeps electronically is older, so an earlier year is
  a typo (`0026` for `2026`), not history; 2099: plans (reception rosters, decisions, tokens)
  look a few years ahead at most, and the century leaves room without being absurd.
- Inside them every shift the services make — to Asia/Shanghai (a day at most), by a policy
  window (ten years at most), to a month's or year's end — stays far from the ends of Python's
  dates (year 1 and 9999) and PostgreSQL's, so no arithmetic overflows.
- The JSON Schema carries the same bound as a `pattern` on the year (`20[0-9]{2}`), so clients
  and the fuzzer see it; a datetime is bounded as written (its own offset), so the instant is
  within a day of those years.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, TypeVar

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

FIRST_YEAR = 2000
LAST_YEAR = 2099
LONGEST_DURATION = timedelta(days=3660)
_YEAR = "20[0-9]{2}"
_DAY = rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = rf"^{_DAY}$"
# RFC 3339 as JSON Schema's `date-time` means it: seconds, and an offset or Z. Spelled out in
# full so that values drawn from the pattern are (nearly all) real datetimes.
DATETIME_PATTERN = (
    rf"^{_DAY}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,6}})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
MONTH_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"


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


_D = TypeVar("_D", bound=date)
_T = TypeVar("_T")


class _Pattern:
    """Adds a `pattern` to a type's JSON Schema (pydantic puts none on dates)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


def _in_years(value: _D) -> _D:
    # a datetime is a date: its year as written, in its own offset
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _not_too_long(value: timedelta) -> timedelta:
    if abs(value) > LONGEST_DURATION:
        raise ValueError(f"a duration is at most P{LONGEST_DURATION.days}D")
    return value


def distinct(values: list[_T]) -> list[_T]:
    """The values once each, in the order first given: a set sent as a JSON array."""
    return list(dict.fromkeys(values))


# On a list of names (roles, channels, event types …): each counts once, however often sent.
Distinct = AfterValidator(distinct)

JsonInt = Annotated[int, BeforeValidator(_integer_only)]
IsoDuration = Annotated[
    timedelta,
    BeforeValidator(_text_only(timedelta, r"-?P.*", "PT20M")),
    AfterValidator(_not_too_long),
]
IsoDate = Annotated[
    date,
    BeforeValidator(_text_only(date, DATE_PATTERN, "2026-11-24 (years 2000–2099)")),
    AfterValidator(_in_years),
    _Pattern(DATE_PATTERN),
]
IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(
        _text_only(datetime, DATETIME_PATTERN, "2026-11-24T09:30:00+08:00 (years 2000–2099)")
    ),
    AfterValidator(_in_years),
    _Pattern(DATETIME_PATTERN),
]
IsoMonth = Annotated[
    str,
    Field(
        pattern=MONTH_PATTERN,
        description="A calendar month, `YYYY-MM` (local, Asia/Shanghai; years 2000–2099).",
        examples=["2026-12"],
    ),
]
# A year is asked for in the query (text there, as every query value is).
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
