"""Lists: filter parameters, keyset pagination and the page envelope shared by every list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, or_
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.errors import BadRequest
from api.kit.i18n import Message
from shared.jsontypes import IsoDateTime

T = TypeVar("T")
MAX_LIMIT = 200
PAGING_FIELDS = frozenset({"cursor", "limit", "updated_since"})
# A position in the newest-first order: microseconds since the epoch, and the row's id. Every
# string of this shape is a position (16 digits stay inside the years a datetime can hold), so
# the contract describes exactly which cursors are accepted.
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9a-f]{32}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; absent on the last page.")


class ListQuery(BaseModel):
    """Paging of a list. Subclasses add filter fields named like the model's columns; each one
    given narrows the list to rows whose column equals it."""

    model_config = ConfigDict(extra="forbid")
    custom_filters: ClassVar[frozenset[str]] = frozenset()  # applied by the repository itself

    cursor: str | None = Field(
        default=None,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page.",
    )
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    updated_since: IsoDateTime | None = Field(
        default=None, description="Only rows changed after this moment (RFC 3339)."
    )


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    """An opaque cursor pointing after the given row."""
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{id_.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points after; 400 when it is not one of ours."""
    micros, _, hex_id = cursor.partition(".")
    try:
        return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=hex_id)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(Message("The cursor is not valid."), parameter="cursor") from exc


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], model: Any, query: ListQuery
) -> tuple[list[Any], str | None]:
    """Apply the query's filters to `stmt`, page newest first, and return rows + next cursor."""
    skip = set(PAGING_FIELDS | query.custom_filters)
    for name, value in query.model_dump(exclude=skip, exclude_none=True).items():
        stmt = stmt.where(getattr(model, name) == value)
    if query.updated_since is not None:
        stmt = stmt.where(model.updated_at > query.updated_since)
    if query.cursor:
        created, id_ = decode_cursor(query.cursor)
        stmt = stmt.where(
            or_(model.created_at < created, (model.created_at == created) & (model.id < id_))
        )
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(query.limit + 1)
    rows = list((await session.execute(stmt)).scalars().all())
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        return rows, encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, None
