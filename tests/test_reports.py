"""Situation reports (零隐报): report days, one deadline per officer and period, filing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from api.models.deadline import Deadline
from api.reports.service import current_period, report_days
from tests.conftest import County, flag_due, login, status_of


def test_report_days_fall_on_month_end_when_the_month_is_short() -> None:
    assert report_days(2026, 2, [15, 30]) == [date(2026, 2, 15), date(2026, 2, 28)]
    assert report_days(2028, 2, [15, 30]) == [date(2028, 2, 15), date(2028, 2, 29)]


def test_current_period_runs_from_the_previous_report_day_to_the_next() -> None:
    days = [15, 30]
    assert current_period(date(2026, 11, 23), days) == (date(2026, 11, 15), date(2026, 11, 30))
    assert current_period(date(2026, 11, 15), days) == (date(2026, 10, 30), date(2026, 11, 15))
    assert current_period(date(2026, 12, 31), days) == (date(2026, 12, 30), date(2027, 1, 15))
    assert current_period(date(2027, 1, 3), days) == (date(2026, 12, 30), date(2027, 1, 15))


async def _officer(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    username = f"info-{uuid.uuid4().hex[:6]}"
    resp = await client.post(
        "/v1/officials",
        json={
            "name": "信息员小李",
            "phone": "13955556666",
            "unit_id": county.village2["id"],
            "role": "info_officer",
            "username": username,
            "password": "info-password",
        },
        headers=admin,
    )
    assert resp.status_code == 201
    return resp.json(), await login(client, username, "info-password")


async def _report_deadlines(
    client: httpx.AsyncClient, admin: dict[str, str], official_id: str
) -> list[dict[str, Any]]:
    resp = await client.get(
        "/v1/deadlines", params={"kind": "report", "official_id": official_id}, headers=admin
    )
    return list(resp.json()["items"])


async def test_sweep_opens_one_report_deadline_per_officer_and_period(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    officer, _ = await _officer(county, client, admin)
    for _ in range(2):
        assert (await client.post("/v1/internal/sweep", headers=worker_headers)).status_code == 200
    rows = await _report_deadlines(client, admin, officer["id"])
    assert len(rows) == 1
    assert rows[0]["status"] == "open" and rows[0]["unit_id"] == county.village2["id"]
    due_local = datetime.fromisoformat(rows[0]["due_at"]) + timedelta(hours=8)
    assert due_local.day in (15, 30) or due_local.month == 2


async def test_zero_report_counts_and_meets_the_deadline(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    officer, headers = await _officer(county, client, admin)
    await client.post("/v1/internal/sweep", headers=worker_headers)
    resp = await client.post("/v1/reports", json={"zero": True}, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["zero"] is True and resp.json()["on_time"] is True
    rows = await _report_deadlines(client, admin, officer["id"])
    assert [d["status"] for d in rows] == ["met"]
    again = await client.post("/v1/reports", json={"zero": True}, headers=headers)
    assert again.status_code == 409
    listed = await client.get("/v1/reports", params={"official_id": officer["id"]}, headers=admin)
    assert len(listed.json()["items"]) == 1


async def test_report_rules(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await _officer(county, client, admin)
    bad = await client.post(
        "/v1/reports", json={"zero": True, "items": [{"title": "x"}]}, headers=headers
    )
    assert bad.status_code == 422
    empty = await client.post("/v1/reports", json={"zero": False}, headers=headers)
    assert empty.status_code == 422
    not_a_day = await client.post(
        "/v1/reports", json={"zero": True, "period_day": "2026-11-03"}, headers=headers
    )
    assert not_a_day.status_code == 422
    assert not_a_day.json()["errors"][0]["pointer"] == "/period_day"
    grid = await county.headers(client, "grid")
    refused = await client.post("/v1/reports", json={"zero": True}, headers=grid)
    assert refused.status_code == 403


async def test_missed_report_escalates_to_the_unit_chief(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    officer, _ = await _officer(county, client, admin)
    await client.post("/v1/internal/sweep", headers=worker_headers)
    deadline = (await _report_deadlines(client, admin, officer["id"]))[0]
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == deadline["id"])
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    await flag_due(client, worker_headers)
    assert await status_of(app, deadline["id"]) == "missed"
    escalation = (
        await client.get("/v1/escalations", params={"deadline_id": deadline["id"]}, headers=admin)
    ).json()["items"][0]
    assert set(escalation["recipients"]) == {
        officer["id"],
        county.officials["village2_chief"]["id"],
    }
    alerts = (
        await client.get("/v1/alerts", params={"official_id": officer["id"]}, headers=admin)
    ).json()["items"]
    assert any("信息报送超期" in a["text"] for a in alerts)
