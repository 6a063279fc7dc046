"""Database engine, declarative base and the per-request session boundary."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column

from api.kit.uow import Resource, session_info, unit_of

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Bookkeeping that no client reads as data: writing it does not change any ETag.
_BOOKKEEPING = frozenset(
    {"audit_entries", "idempotency_records", "logins", "refresh_tokens", "outbox_messages"}
)


class TrackedSession(Session):
    """A session that notes in its unit of work whether it wrote data clients read."""


def _table_of(target: Any) -> str | None:
    table = getattr(target, "__tablename__", None) or getattr(target, "name", None)
    return str(table) if table else None


@event.listens_for(TrackedSession, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _table_of(obj) not in _BOOKKEEPING:
            unit_of(session).data_changed = True
            return


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = state.statement.table  # type: ignore[attr-defined]
        if _table_of(table) not in _BOOKKEEPING:
            unit_of(state.session).data_changed = True


@event.listens_for(TrackedSession, "before_commit")
def _write_before_commit(session: Session) -> None:
    for write in unit_of(session).take_before_commit():
        write(session)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
        list[str]: JSONB,
        list[dict[str, Any]]: JSONB,
    }


class RecordModel(Base):
    """A table whose rows have a UUID id and creation/modification times."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now(), index=True
    )


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine for the given SQLAlchemy URL."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_sessionmaker(
    engine: AsyncEngine, resources: Mapping[Resource[Any], Any]
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it), each
    given the app's `resources` (the URL the service is reached at, the vault of petitioners'
    numbers …) through its unit of work."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        sync_session_class=TrackedSession,
        info=session_info(resources),
    )
