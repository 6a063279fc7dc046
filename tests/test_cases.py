"""Registering petitions: numbers, validation, summons of the officials who must come."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models.alert import Alert
from api.models.case import Case
from api.models.deadline import Deadline
from api.models.outbox import OutboxMessage
from tests.conftest import County, arrivals, letter_body, visit_body

RECEIVED_AT = "2026-11-20T09:30:00+08:00"


async def test_letter_gets_a_number_and_no_arrival(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "county_staff")
    resp = await client.post(
        "/v1/cases", json=letter_body(county, received_at=RECEIVED_AT), headers=staff
    )
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert re.fullmatch(r"XF-\d{4}-\d{6}", case["number"])
    assert case["status"] == "registered"
    assert sorted(d["kind"] for d in case["deadlines"]) == ["acceptance_notice", "disposition"]
    assert arrivals(case) == []
    assert case["received_at"].startswith("2026-11-20T01:30:00")
    read = await client.get(f"/v1/cases/{case['id']}", headers=admin)
    assert read.json()["number"] == case["number"]


async def test_collective_visit_summons_chiefs_and_deputy(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], app: Any
) -> None:
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village, county.town, 25), headers=staff
    )
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["is_collective"] is True
    summoned = {(d["official_id"], d["role"]) for d in arrivals(case)}
    o = county.officials
    assert summoned == {
        (o["village_chief"]["id"], "chief"),
        (o["area_chief"]["id"], "chief"),
        (o["town_deputy"]["id"], "deputy"),
    }
    for d in arrivals(case):
        assert d["kind"] == "arrival" and d["status"] == "open"
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()
    assert {a["official_id"] for a in alerts["items"]} == {oid for oid, _ in summoned}
    for alert in alerts["items"]:
        assert alert["purpose"] == "summons"
        assert case["number"] in alert["text"]
        assert alert["status"] == "pending"
    async with app.state.desk.sessionmaker() as session:
        jobs = await _outbox_jobs(session, case["id"])
    assert jobs.count("flag_due") == 5  # three arrivals, disposition, acceptance notice
    assert jobs.count("deliver_alert") == 3


async def _outbox_jobs(session: AsyncSession, case_id: str) -> list[str]:
    """The outbox jobs recorded for a case's alerts and deadlines."""
    alerts = await session.execute(select(Alert.id).where(Alert.case_id == case_id))
    deadlines = await session.execute(select(Deadline.id).where(Deadline.case_id == case_id))
    alert_ids = {str(a) for a in alerts.scalars()}
    deadline_ids = {str(d) for d in deadlines.scalars()}
    jobs = []
    for row in (await session.execute(select(OutboxMessage))).scalars():
        arg = row.payload["args"][0]
        alert_job = row.job == "deliver_alert" and arg["alert_id"] in alert_ids
        if alert_job or (row.job == "flag_due" and arg in deadline_ids):
            jobs.append(row.job)
    return jobs


async def test_fifty_people_bring_the_main_leader(
    county: County, client: httpx.AsyncClient
) -> None:
    """A visit at the county gate summons the unit the matter concerns, not the county's own
    leaders (issue 20): the village's chief (20 minutes), the town's petition staff and its
    deputy in charge (seed 000 rule 3: 到区以上 … 迅速到位), and for a collective visit the
    town's chief (seed 001 第一篇 (五).2)."""
    staff = await county.headers(client, "county_staff")
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.county, 60), headers=staff
    )
    assert resp.status_code == 201, resp.text
    roles = [(d["official_id"], d["role"]) for d in arrivals(resp.json())]
    o = county.officials
    expected = sorted(
        [
            (o["village2_chief"]["id"], "chief"),
            (o["town_staff"]["id"], "petition_staff"),
            (o["town_deputy"]["id"], "deputy"),
            (o["town_chief"]["id"], "chief"),
        ],
        key=lambda t: (t[0] or "", t[1]),
    )
    assert sorted(roles, key=lambda t: (t[0] or "", t[1])) == expected


async def test_a_vacant_post_is_flagged(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A summons whose post nobody holds still opens its deadline, flagged (its escalation
    then reaches the people above)."""
    village = await client.post(
        "/v1/units",
        json={"name": "无主任村", "level": "village", "parent_id": county.town["id"]},
        headers=admin,
    )
    assert village.status_code == 201, village.text
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        "/v1/cases", json=visit_body(village.json(), county.town, 3), headers=staff
    )
    assert resp.status_code == 201, resp.text
    [vacant] = arrivals(resp.json())
    assert vacant["official_id"] is None and vacant["role"] == "chief"
    assert vacant["flags"] == ["post_vacant"]


async def test_visit_at_own_village_summons_nobody(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    body = visit_body(county.village2, county.village2, 3)
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 201
    assert arrivals(resp.json()) == []
    assert resp.json()["is_collective"] is False


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"channel": "carrier_pigeon"}, "/channel"),
        ({"petitioners": []}, "/petitioners"),
        ({"petitioners": [{"name": "x", "id_number": "123"}]}, "/petitioners/0/id_number"),
        ({"headcount": 0}, "/headcount"),
        ({"lodged_unit_id": None}, "/lodged_level"),
        ({"origin_unit_id": "00000000-0000-0000-0000-000000000000"}, "/origin_unit_id"),
        ({"is_collective": False}, "/is_collective"),
        ({"received_at": "2099-01-01T00:00:00+08:00"}, "/received_at"),
        ({"received_at": "2026-01-01T00:00:00"}, "/received_at"),
        ({"extra_field": 1}, "/extra_field"),
        ({"lodged_level": "province"}, "/lodged_level"),
    ],
)
async def test_bad_registration_is_422_and_writes_nothing(
    county: County,
    client: httpx.AsyncClient,
    app: Any,
    change: dict[str, Any],
    pointer: str,
) -> None:
    staff = await county.headers(client, "town_staff")
    body = visit_body(county.village, county.town, 25) | change
    async with app.state.desk.sessionmaker() as session:
        before = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert pointer in [e.get("pointer") for e in resp.json()["errors"]]
    async with app.state.desk.sessionmaker() as session:
        after = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
    assert after == before


async def test_too_many_representatives(county: County, client: httpx.AsyncClient) -> None:
    staff = await county.headers(client, "town_staff")
    body = visit_body(county.village, county.town, 30)
    body["petitioners"] = [{"name": f"代表{i}", "is_representative": True} for i in range(6)]
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "/petitioners"


async def test_numbers_are_unique_under_concurrent_intake(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    body = letter_body(county, received_at=RECEIVED_AT)
    results = await asyncio.gather(
        *(client.post("/v1/cases", json=body, headers=staff) for _ in range(20))
    )
    assert all(r.status_code == 201 for r in results)
    numbers = [r.json()["number"] for r in results]
    assert len(set(numbers)) == 20
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert seqs == list(range(seqs[0], seqs[0] + 20))


async def test_list_filters_and_cursor(county: County, client: httpx.AsyncClient) -> None:
    staff = await county.headers(client, "county_staff")
    for _ in range(3):
        await client.post(
            "/v1/cases", json=letter_body(county, received_at=RECEIVED_AT), headers=staff
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"origin_unit_id": county.village2["id"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/cases", params=params, headers=staff)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    bad = await client.get("/v1/cases", params={"cursor": "garbage!"}, headers=staff)
    assert bad.status_code == 422  # not of the documented shape


async def test_timeline_tells_registration_and_summons(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 2), headers=staff
        )
    ).json()
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    assert [e["action"] for e in events] == ["registered", "summoned"]
    assert events[0]["actor_id"] == county.officials["town_staff"]["id"]
