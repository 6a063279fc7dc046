"""Counting the SQL a piece of work sends (issue 22's guards): statements, transactions and
round trips, of the work measured only (the app's own background tasks, started before, are
not counted: the mark is a context variable, which tasks created later inherit)."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_MEASURED: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("measured", default=None)


@dataclass
class Tally:
    """What the measured work sent to PostgreSQL."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    ends: int = 0  # commits and rollbacks

    @property
    def round_trips(self) -> int:
        """Every exchange with the server: each statement (an executemany is one batch), each
        BEGIN and each COMMIT or ROLLBACK."""
        return len(self.statements) + self.transactions + self.ends

    def by_table(self) -> dict[str, int]:
        """How many statements began with each verb and named each first table: a failed
        budget says what grew."""
        counts: dict[str, int] = {}
        for sql in self.statements:
            words = sql.split()
            verb = words[0].upper() if words else "?"
            table = next(
                (
                    words[i + 1].strip('"(')
                    for i, w in enumerate(words[:-1])
                    if w.upper() in ("FROM", "INTO", "UPDATE")
                ),
                "",
            )
            key = f"{verb} {table}".strip()
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def __str__(self) -> str:
        return (
            f"{len(self.statements)} statements, {self.transactions} transactions, "
            f"{self.round_trips} round trips: {self.by_table()}"
        )


def _tally() -> Tally | None:
    return _MEASURED.get()


def _statement(
    conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
) -> None:
    tally = _tally()
    if tally is not None:
        tally.statements.append(statement)


def _begin(conn: Any) -> None:
    tally = _tally()
    if tally is not None:
        tally.transactions += 1


def _end(conn: Any) -> None:
    tally = _tally()
    if tally is not None:
        tally.ends += 1


@contextmanager
def listening(engine: AsyncEngine) -> Iterator[None]:
    """Count on this engine while inside (see `counting`)."""
    sync = engine.sync_engine
    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", _statement),
        ("begin", _begin),
        ("commit", _end),
        ("rollback", _end),
    ]
    for name, fn in hooks:
        event.listen(sync, name, fn)
    try:
        yield
    finally:
        for name, fn in hooks:
            event.remove(sync, name, fn)


@asynccontextmanager
async def counting(engine: AsyncEngine) -> AsyncIterator[Tally]:
    """A tally of what the work inside sends on `engine`."""
    tally = Tally()
    token = _MEASURED.set(tally)
    try:
        with listening(engine):
            yield tally
    finally:
        _MEASURED.reset(token)
