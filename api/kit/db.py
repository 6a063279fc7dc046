"""Database engine, declarative base and the per-request session boundary."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    MetaData,
    Uuid,
    any_,
    event,
    func,
    inspect,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column

from api.kit.uow import DataChanges, Resource, session_info, unit_of

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

# Rows that belong to one county, found by their `county_id`, `case_id` or `unit_id` (the data
# versions are per county, `api.kit.polling`). A write to any other table (the directory, the
# policy, categories, subscriptions, a table added later …) changes every county's data.
_COUNTY_OWNED = frozenset(
    {
        "cases",
        "case_units",
        "case_events",
        "arrivals",
        "deadlines",
        "escalations",
        "alerts",
        "follow_ups",
        "materials",
        "material_uploads",
        "notices",
        "onsite_duties",
        "reception_roster",
        "reception_appointments",
        "field_visits",
        "field_visit_cases",
        "field_visit_duties",
        "situation_reports",
        "screening_items",
        "screening_rounds",
        "decision_assessments",
        "decision_cases",
    }
)
# County-owned rows written only with another that names their county: a case's timeline
# events and figures (the timeline marks the case; its county is noted as the figures
# settle), the numbers drawn for a case or a notice (written with it), an escalation's
# acknowledgement links (written with the escalation).
_WRITTEN_WITH_THEIR_OWNER = frozenset(
    {
        "case_events",
        "case_stat_facts",
        "stat_counters",
        "case_number_counters",
        "notice_counters",
        "ack_links",
    }
)
# The columns that name a county-owned row's county, case or unit.
_OWNER_COLUMNS = ("county_id", "case_id", "unit_id")


class TrackedSession(Session):
    """A session that notes in its unit of work whether it wrote data clients read, and
    whose."""


def _table_of(target: Any) -> str | None:
    table = getattr(target, "__tablename__", None) or getattr(target, "name", None)
    return str(table) if table else None


def _owners(obj: Any) -> dict[str, set[Any]]:
    """The county, case and unit a written row names, before and after the write (a row that
    moves changes both places), read without loading anything."""
    state = inspect(obj)
    found: dict[str, set[Any]] = {}
    for name in _OWNER_COLUMNS:
        if name not in state.mapper.column_attrs:
            continue
        values = {state.dict.get(name), *state.attrs[name].history.deleted} - {None}
        if values:
            found[name] = values
    return found


def _note_row(changes: DataChanges, obj: Any) -> None:
    table = _table_of(obj)
    if table in _WRITTEN_WITH_THEIR_OWNER:
        return
    if table not in _COUNTY_OWNED:
        changes.everywhere = True
        return
    # the nearest owner it names: a row of a case is its case's county's (a case keeps to its
    # county), whichever unit it sits with
    owners = _owners(obj)
    if "county_id" in owners:
        changes.counties |= owners["county_id"]
    elif "case_id" in owners:
        changes.cases |= owners["case_id"]
    elif "unit_id" in owners:
        changes.units |= owners["unit_id"]
    else:
        changes.unresolved = True


# Execution option of a bulk write whose caller notes the rows it wrote (`note_rows`, with
# what RETURNING gave back): the statement alone does not make its county unknown.
ROWS_NOTED = "rows_noted"


def note_rows(session: AsyncSession | Session, rows: Iterable[Any]) -> None:
    """Note whose data the rows a bulk statement wrote are (run with `ROWS_NOTED`)."""
    changes = unit_of(session).changes
    for row in rows:
        _note_row(changes, row)


@event.listens_for(TrackedSession, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    unit = unit_of(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _table_of(obj) not in _BOOKKEEPING:
            unit.data_changed = True
            if not unit.changes.everywhere:
                _note_row(unit.changes, obj)


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = _table_of(state.statement.table)  # type: ignore[attr-defined]
        if table in _BOOKKEEPING:
            return
        unit = unit_of(state.session)
        unit.data_changed = True
        if table in _WRITTEN_WITH_THEIR_OWNER or state.execution_options.get(ROWS_NOTED):
            return
        # a statement names no row: its county is the caller's, or everybody's
        if table in _COUNTY_OWNED:
            unit.changes.unresolved = True
        else:
            unit.changes.everywhere = True


@event.listens_for(TrackedSession, "before_commit")
def _write_before_commit(session: Session) -> None:
    for write in unit_of(session).take_before_commit():
        write(session)


def id_array(ids: Collection[uuid.UUID]) -> BindParameter[Any]:
    """Ids as one array parameter (`$1::uuid[]`), for `among`."""
    return literal(list(ids), ARRAY(Uuid()))


def among(column: Any, ids: Collection[uuid.UUID] | BindParameter[Any]) -> ColumnElement[bool]:
    """`column` is one of `ids`, sent as one array (`= ANY($1::uuid[])`), not one parameter
    each: a province's official reaches 35,000 units, past the protocol's 32,767 parameters,
    and the statement's text (and its prepared plan) no longer depends on how many there are.
    Give several columns the same `id_array` and it is sent once."""
    array = ids if isinstance(ids, BindParameter) else id_array(ids)
    clause: ColumnElement[bool] = column == any_(array)
    return clause


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
