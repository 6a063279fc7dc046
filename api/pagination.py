"""Keyset pagination shared by the list endpoints."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, or_

from api.errors import BadRequest

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; absent on the last page.")


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    """An opaque cursor pointing after the given row."""
    raw = json.dumps([created_at.isoformat(), str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points after; 400 when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, id_ = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), uuid.UUID(id_)
    except (ValueError, TypeError) as exc:
        raise BadRequest("The cursor is not valid.", parameter="cursor") from exc


def keyset(stmt: S, model: Any, cursor: str | None, limit: int) -> S:
    """Order newest first and continue after `cursor`, fetching one extra row to detect more."""
    if cursor:
        created, id_ = decode_cursor(cursor)
        stmt = stmt.where(
            or_(model.created_at < created, (model.created_at == created) & (model.id < id_))
        )
    return stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Split the extra row off and make the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor(last.created_at, last.id)
    return rows, None
