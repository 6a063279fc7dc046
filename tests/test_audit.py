"""The audit trail: every read of a case, every change and every refusal, with who, when,
which client and which address; append-only in the database; readable by admins only."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.audit.archive import archive
from api.kit.pgtools import server_tool
from api.kit.timeutil import local_today
from tests.conftest import County, visit_body


async def _entries(
    client: httpx.AsyncClient, admin: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    resp = await client.get("/v1/audit", params=params, headers=admin)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def test_reads_changes_and_refusals_are_recorded(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    staff_official = county.officials["town_staff"]
    staff = await county.headers(client, "town_staff") | {"User-Agent": "desk-app/2.1"}
    created = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
    )
    assert created.status_code == 201
    case = created.json()
    assert (await client.get(f"/v1/cases/{case['id']}", headers=staff)).status_code == 200

    mine = await _entries(client, admin, official_id=staff_official["id"])
    read = next(e for e in mine if e["action"] == "read" and e["object_id"] == case["id"])
    assert read["route"] == "/v1/cases/{case_id}"
    assert read["client"] == "desk-app/2.1" and read["ip"] == "127.0.0.1"
    change = next(e for e in mine if e["action"] == "change" and e["route"] == "/v1/cases")
    assert change["method"] == "POST" and change["status"] == 201

    grid = await county.headers(client, "grid")
    refused = await client.post(f"/v1/cases/{case['id']}/accept", json={}, headers=grid)
    assert refused.status_code == 403, refused.text
    grid_entries = await _entries(
        client, admin, official_id=county.officials["grid"]["id"], action="refused"
    )
    assert any(e["object_id"] == case["id"] for e in grid_entries)


async def test_reading_the_audit_is_audited_and_admin_only(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    chief = await county.headers(client, "county_chief")
    assert (await client.get("/v1/audit", headers=chief)).status_code == 403
    await _entries(client, admin)
    reads = await _entries(client, admin, action="read")
    assert any(e["route"] == "/v1/audit" for e in reads)
    refusals = await _entries(
        client, admin, official_id=county.officials["county_chief"]["id"], action="refused"
    )
    assert any(e["route"] == "/v1/audit" and e["status"] == 403 for e in refusals)


async def test_worker_calls_and_plain_lists_of_units_are_not_audited(
    client: httpx.AsyncClient, admin: dict[str, str], worker_headers: dict[str, str]
) -> None:
    await client.post("/v1/internal/deadlines/flag-due", headers=worker_headers)
    await client.get("/v1/units", headers=admin)
    recent = await _entries(client, admin, limit="200")
    assert not any(e["route"].startswith("/v1/internal") for e in recent)
    assert not any(e["route"] == "/v1/units" and e["method"] == "GET" for e in recent)


def _run(command: list[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _this_month() -> str:
    return f"audit_entries_{local_today():%Y_%m}"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET status = 200",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "UPDATE {month} SET status = 200",
        "DELETE FROM {month}",
        "TRUNCATE {month}",
        "TRUNCATE audit_entries_default",
    ],
)
async def test_the_table_is_append_only(app: FastAPI, statement: str) -> None:
    async with app.state.desk.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement.format(month=_this_month())))
        await session.rollback()


async def test_the_sweep_keeps_months_of_partitions_ahead(
    app: FastAPI, client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    """The trail is partitioned by month; the sweep makes the coming months' partitions (here
    after the one four months ahead was dropped while empty)."""
    today = local_today().replace(day=1)
    year, month = divmod(today.month - 1 + 3, 12)
    ahead = f"audit_entries_{year + today.year:04d}_{month + 1:02d}"
    async with app.state.desk.sessionmaker() as session:
        await session.execute(text(f"DROP TABLE IF EXISTS {ahead}"))
        await session.commit()
    swept = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert swept.status_code == 200, swept.text
    async with app.state.desk.sessionmaker() as session:
        made = await session.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": ahead})
        assert made.scalar_one() is True
        parent = await session.execute(
            text(
                "SELECT p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE c.relname = :name"
            ),
            {"name": ahead},
        )
        assert parent.scalar_one() == "audit_entries"


_INSERT_ENTRY = text(
    "INSERT INTO audit_entries (id, action, method, route, path, status, query, created_at, "
    "updated_at) VALUES (:id, 'read', 'GET', '/v1/cases/{case_id}', '/v1/cases/x', 200, '{}', "
    ":at, :at)"
)


async def test_a_row_of_a_month_never_made_waits_in_the_default_partition(
    app: FastAPI, client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    """A row dated where no month's partition exists does not fail its request: it lands in
    the default partition, still append-only, and the next sweep makes its month and moves it
    there (a month range cannot be made while the default partition holds rows of it)."""
    entry = uuid.uuid4()
    at = datetime(2018, 7, 31, 17, tzinfo=UTC)  # 2018-08-01 01:00 in China
    async with app.state.desk.sessionmaker() as session:
        await session.execute(_INSERT_ENTRY, {"id": entry, "at": at})
        await session.commit()
    async with app.state.desk.sessionmaker() as session:
        where = await session.execute(
            text("SELECT tableoid::regclass::text FROM audit_entries WHERE id = :id"),
            {"id": entry},
        )
        assert where.scalar_one() == "audit_entries_default"
        for statement in (
            "DELETE FROM audit_entries_default",
            # the switch the ensure function sets opens the default partition only
            "SELECT set_config('audit_entries.moving_out_of_default', 'on', true); "
            f"DELETE FROM {_this_month()}",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                for part in statement.split("; "):
                    await session.execute(text(part))
            await session.rollback()
    swept = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert swept.status_code == 200, swept.text
    async with app.state.desk.sessionmaker() as session:
        where = await session.execute(
            text("SELECT tableoid::regclass::text FROM audit_entries WHERE id = :id"),
            {"id": entry},
        )
        assert where.scalar_one() == "audit_entries_2018_08"
        left = await session.execute(text("SELECT count(*) FROM audit_entries_default"))
        assert left.scalar_one() == 0
        # moved, not copied; and the switch is off again after the move
        assert (
            await session.execute(
                text("SELECT count(*) FROM audit_entries WHERE id = :id"), {"id": entry}
            )
        ).scalar_one() == 1
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM audit_entries_2018_08"))
        await session.rollback()


async def test_an_old_month_is_archived_whole_and_can_be_read_back(
    app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    """`make archive-audit`: a month before the one named is detached, dumped with the server's
    own pg_dump, checked, and dropped; its file restores the rows."""
    entry = uuid.uuid4()
    async with app.state.desk.sessionmaker() as session:
        await session.execute(text("SELECT audit_entries_ensure_partition('2020-01-01')"))
        await session.execute(
            _INSERT_ENTRY, {"id": entry, "at": datetime(2020, 1, 15, 4, tzinfo=UTC)}
        )
        await session.commit()
    done = await archive(database_url, date(2020, 2, 1), tmp_path, drop=True)
    # (with any older month another test of this database made)
    assert ("audit_entries_2020_01", 1, True) in [(d.table, d.rows, d.dropped) for d in done]
    january = next(d for d in done if d.table == "audit_entries_2020_01")
    async with app.state.desk.sessionmaker() as session:
        gone = await session.execute(text("SELECT to_regclass('audit_entries_2020_01')"))
        assert gone.scalar_one() is None
        left = await session.execute(
            text("SELECT count(*) FROM audit_entries WHERE id = :id"), {"id": entry}
        )
        assert left.scalar_one() == 0
    restored = await asyncio.to_thread(
        _run, [server_tool("pg_restore"), "--data-only", "--file", "-", str(january.file)]
    )
    assert str(entry) in restored
    # nothing before the first month kept is left to archive
    assert await archive(database_url, date(2020, 2, 1), tmp_path, drop=True) == []
