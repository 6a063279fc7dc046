"""Arrival deadlines: met on check-in, flagged missed exactly once, escalated up the tree."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import County, arrivals, deadline_status, flag_due, visit_body


async def _short_chief_time(client: httpx.AsyncClient, admin: dict[str, str], span: str) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = span
    doc["arrival"]["leader"] = span
    resp = await client.put("/v1/policies", json=doc, headers=admin)
    assert resp.status_code == 200, resp.text


async def _register(client: httpx.AsyncClient, county: County, headcount: int) -> dict[str, Any]:
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, headcount), headers=staff
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _deadline_of(case: dict[str, Any], official_id: str) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["official_id"] == official_id)


async def test_arrival_in_time_meets_the_deadline(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    case = await _register(client, county, 3)
    chief = await county.headers(client, "village2_chief")
    resp = await client.post(
        f"/v1/cases/{case['id']}/arrivals",
        json={"location": {"lat": 34.75, "lon": 113.62}},
        headers=chief,
    )
    assert resp.status_code == 201, resp.text
    arrival = resp.json()
    assert arrival["on_time"] is True
    assert [d["status"] for d in arrival["deadlines"]] == ["met"]
    listed = await client.get(
        "/v1/deadlines", params={"case_id": case["id"], "status": "met"}, headers=admin
    )
    assert len(listed.json()["items"]) == 1


async def test_arrival_for_someone_else_needs_petition_staff(
    county: County, client: httpx.AsyncClient
) -> None:
    case = await _register(client, county, 3)
    grid = await county.headers(client, "grid")
    resp = await client.post(
        f"/v1/cases/{case['id']}/arrivals",
        json={"official_id": county.officials["village2_chief"]["id"]},
        headers=grid,
    )
    assert resp.status_code == 403
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        f"/v1/cases/{case['id']}/arrivals",
        json={"official_id": county.officials["village2_chief"]["id"]},
        headers=staff,
    )
    assert resp.status_code == 201
    assert resp.json()["on_time"] is True


@pytest.mark.usefixtures("policy_restore")
async def test_missed_deadline_is_flagged_once_and_escalated(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _short_chief_time(client, admin, "PT1S")
    case = await _register(client, county, 25)
    chief_deadline = _deadline_of(case, county.officials["village2_chief"]["id"])
    await flag_due(client, worker_headers)  # early: nothing of this case is due yet
    assert await deadline_status(client, admin, chief_deadline) == "open"
    await asyncio.sleep(1.1)
    # Eight ticks at once (several workers): each deadline is flagged by exactly one of them,
    # the others skip the rows it holds and never wait for it.
    ticks = await asyncio.gather(
        *(client.post("/v1/internal/deadlines/flag-due", headers=worker_headers) for _ in range(8))
    )
    assert all(t.status_code == 200 for t in ticks)
    assert await deadline_status(client, admin, chief_deadline) == "missed"
    assert await flag_due(client, worker_headers) == 0  # a later tick finds nothing to flag

    escalations = (
        await client.get(
            "/v1/escalations", params={"deadline_id": chief_deadline["id"]}, headers=admin
        )
    ).json()["items"]
    assert len(escalations) == 1
    town_chief = county.officials["town_chief"]["id"]
    assert escalations[0]["recipients"] == [town_chief]
    alerts = (
        await client.get("/v1/alerts", params={"official_id": town_chief}, headers=admin)
    ).json()["items"]
    assert len(alerts) == 1
    assert alerts[0]["purpose"] == "escalation"
    assert case["number"] in alerts[0]["text"]
    assert county.officials["village2_chief"]["name"] in alerts[0]["text"]

    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=admin)).json()
    # (the deputy's deadline fell due too: the first tick took it along in its batch)
    actions = [e["action"] for e in events if e["data"].get("deadline_id") == chief_deadline["id"]]
    assert actions.count("deadline_missed") == 1
    assert actions.count("escalated") == 1


@pytest.mark.usefixtures("policy_restore")
async def test_sweep_flags_what_no_job_checked(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _short_chief_time(client, admin, "PT1S")
    case = await _register(client, county, 25)
    await asyncio.sleep(1.1)
    report = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert report.status_code == 200
    assert report.json()["deadlines_missed"] >= 2
    deadlines = (
        await client.get("/v1/deadlines", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    assert {d["status"] for d in deadlines if d["kind"] == "arrival"} == {"missed"}
    again = await client.post("/v1/internal/sweep", headers=worker_headers)
    escalations = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    assert len(escalations) == 2
    assert again.json()["deadlines_missed"] == 0


@pytest.mark.usefixtures("policy_restore")
async def test_late_arrival_stops_the_chain(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _short_chief_time(client, admin, "PT1S")
    case = await _register(client, county, 3)
    await asyncio.sleep(1.1)
    await flag_due(client, worker_headers)
    chief = await county.headers(client, "village2_chief")
    arrival = await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=chief)
    assert arrival.json()["on_time"] is False
    escalations = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    assert [e["status"] for e in escalations] == ["acknowledged"]
    assert escalations[0]["acknowledged_by"] == county.officials["village2_chief"]["id"]


@pytest.mark.usefixtures("policy_restore")
async def test_acknowledge_once(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _short_chief_time(client, admin, "PT1S")
    case = await _register(client, county, 3)
    await asyncio.sleep(1.1)
    await flag_due(client, worker_headers)
    escalation = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"][0]
    town_chief = await county.headers(client, "town_chief")
    first = await client.post(f"/v1/escalations/{escalation['id']}/ack", headers=town_chief)
    assert first.status_code == 200
    assert first.json()["status"] == "acknowledged"
    second = await client.post(f"/v1/escalations/{escalation['id']}/ack", headers=town_chief)
    assert second.status_code == 409
    assert second.json()["current_status"] == "acknowledged"


async def test_unknown_deadline_is_404(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    resp = await client.post(
        "/v1/internal/deadlines/remind",
        json={"deadline_id": "00000000-0000-0000-0000-000000000000", "fraction": 0.5},
        headers=worker_headers,
    )
    assert resp.status_code == 404


@pytest.mark.usefixtures("policy_restore")
async def test_reminders_go_out_at_policy_fractions_once(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: Any,
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT2S"
    doc["reminders"] = [0.5]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    case = await _register(client, county, 3)
    deadline = arrivals(case)[0]
    from sqlalchemy import select

    from api.models.outbox import OutboxMessage
    from shared.contracts import remind_deadline_job_id

    async with app.state.desk.sessionmaker() as session:
        row = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.job_id == remind_deadline_job_id(deadline["id"], 0.5)
                )
            )
        ).scalar_one()
    assert row.defer_until is not None
    path = "/v1/internal/deadlines/remind"
    due = {"deadline_id": deadline["id"], "fraction": 0.5}
    early = await client.post(path, json=due, headers=worker_headers)
    assert early.json()["status"] == "early"
    await asyncio.sleep(1.05)
    sent = await client.post(path, json=due, headers=worker_headers)
    assert sent.json()["status"] == "sent"
    again = await client.post(path, json=due, headers=worker_headers)
    assert again.json()["status"] == "skipped"
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    reminders = [a for a in alerts if a["purpose"] == "reminder"]
    assert len(reminders) == 1
    assert reminders[0]["official_id"] == county.officials["village2_chief"]["id"]
    assert "时限提醒" in reminders[0]["text"]


@pytest.mark.usefixtures("policy_restore")
async def test_each_reminder_says_how_far_along_it_is_and_what_is_left(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: Any,
) -> None:
    """The 50 % and the 80 % reminder of one deadline are two different texts (issue 19)."""
    from sqlalchemy import update

    from api.models.deadline import Deadline

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT2H"
    doc["reminders"] = [0.5, 0.8]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    case = await _register(client, county, 3)
    deadline = arrivals(case)[0]
    async with app.state.desk.sessionmaker() as session:  # both reminders' times have passed
        await session.execute(
            update(Deadline)
            .where(Deadline.id == uuid.UUID(deadline["id"]))
            .values(starts_at=datetime.now(UTC) - timedelta(days=1))
        )
        await session.commit()
    for fraction in (0.5, 0.8):
        due = {"deadline_id": deadline["id"], "fraction": fraction}
        sent = await client.post("/v1/internal/deadlines/remind", json=due, headers=worker_headers)
        assert sent.json()["status"] == "sent", sent.text
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    texts = sorted(a["text"] for a in alerts if a["purpose"] == "reminder")
    assert len(texts) == 2 and texts[0] != texts[1]
    assert any("已过50%" in t for t in texts) and any("已过80%" in t for t in texts)
    assert all("剩余1小时" in t for t in texts)  # two hours after registration, less a moment
