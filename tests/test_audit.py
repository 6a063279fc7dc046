"""The audit trail: every read of a case, every change and every refusal, with who, when,
which client and which address; append-only in the database; readable by admins only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

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


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET status = 200", "DELETE FROM audit_entries"]
)
async def test_the_table_is_append_only(app: FastAPI, statement: str) -> None:
    async with app.state.desk.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()
