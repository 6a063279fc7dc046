"""Database engine, declarative base and the per-request session boundary."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
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

from api.privacy.crypto import Vault

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# session.info key: the URL the service is reached at from outside (links in messages), from
# the app's settings.
PUBLIC_BASE_URL = "public_base_url"
# session.info key: the `api.privacy.crypto.Vault` sealing petitioners' numbers, from the
# app's settings.
PII_VAULT = "pii_vault"


# session.info key: the transaction wrote something clients read (ETags must change).
DATA_CHANGED = "data_changed"
# Bookkeeping that no client reads as data: writing it does not change any ETag.
_BOOKKEEPING = frozenset(
    {"audit_entries", "idempotency_records", "refresh_tokens", "outbox_messages"}
)


class TrackedSession(Session):
    """A session that notes in `info[DATA_CHANGED]` whether it wrote data clients read."""


def _table_of(target: Any) -> str | None:
    table = getattr(target, "__tablename__", None) or getattr(target, "name", None)
    return str(table) if table else None


@event.listens_for(TrackedSession, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _table_of(obj) not in _BOOKKEEPING:
            session.info[DATA_CHANGED] = True
            return


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = state.statement.table  # type: ignore[attr-defined]
        if _table_of(table) not in _BOOKKEEPING:
            state.session.info[DATA_CHANGED] = True


# session.info key: what to do once this transaction has committed (`after_commit`).
AFTER_COMMIT = "after_commit"


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[object]]) -> None:
    """Have `action` run once the request's transaction has committed, never if it rolls back
    (a note in Redis that must not claim work the database did not keep)."""
    actions: list[Callable[[], Awaitable[object]]] = session.info.setdefault(AFTER_COMMIT, [])
    actions.append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """Run what the committed transaction left for afterwards; a failure is logged, the
    transaction stands."""
    for action in session.info.pop(AFTER_COMMIT, []):
        try:
            await action()
        except Exception:
            log.exception("after commit: an action failed")


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
    engine: AsyncEngine, *, public_base_url: str, vault: Vault
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it), each
    knowing the URL the service is reached at (for links in messages) and the vault of
    petitioners' numbers."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        sync_session_class=TrackedSession,
        info={PUBLIC_BASE_URL: public_base_url, PII_VAULT: vault},
    )
