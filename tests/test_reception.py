"""Leader reception (领导接访): the duty roster, appointments (约访) and field visits carrying
cases (带案下访), with their deadlines, escalations, timelines and territory."""

from __future__ import annotations

import asyncio
import calendar
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from api.kit.timeutil import local, local_today
from api.policies.schemas import Policy
from api.policies.service import current_policy
from api.reception import service
from api.units.repository import UnitRepository
from tests.conftest import County, letter_body, login, make_county, miss_now

VISITS = "/v1/reception/field-visits"


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _problem(resp: httpx.Response, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    if pointer is not None:
        assert [e.get("pointer") for e in body["errors"]] == [pointer], body
    return body


async def _reception_days(
    client: httpx.AsyncClient, admin: dict[str, str], month: date, weekdays: set[int]
) -> list[date] | None:
    """The month's days from today on with one of `weekdays` that are working days, as the
    calendar API tells them; None when the calendar does not know some day."""
    first = max(month, local_today())
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    resp = await client.get(
        "/v1/calendar", params={"from": first.isoformat(), "to": last.isoformat()}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    days = resp.json()
    if any(d["is_workday"] is None for d in days):
        return None
    return [
        date.fromisoformat(d["date"])
        for d in days
        if d["is_workday"] and date.fromisoformat(d["date"]).isoweekday() in weekdays
    ]


async def _official(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any], role: str
) -> tuple[dict[str, Any], dict[str, str]]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    body = {
        "name": f"{role}-{username}",
        "phone": "13911112222",
        "unit_id": unit["id"],
        "role": role,
        "username": username,
        "password": "pw-for-reception",
    }
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return resp.json(), await login(client, username, "pw-for-reception")


async def _case(client: httpx.AsyncClient, county: County, admin: dict[str, str]) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=letter_body(county), headers=admin)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _timeline(
    client: httpx.AsyncClient, admin: dict[str, str], case: dict[str, Any]
) -> list[dict[str, Any]]:
    resp = await client.get(f"/v1/cases/{case['id']}/timeline", headers=admin)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


async def _deadline(
    client: httpx.AsyncClient, admin: dict[str, str], appointment: dict[str, Any]
) -> dict[str, Any]:
    """The appointment's deadline."""
    params = {"kind": "appointment", "official_id": appointment["leader_id"], "limit": 200}
    resp = await client.get("/v1/deadlines", params=params, headers=admin)
    assert resp.status_code == 200, resp.text
    [found] = [d for d in resp.json()["items"] if d["id"] == appointment["deadline_id"]]
    return dict(found)


async def _field_visit_deadlines(
    client: httpx.AsyncClient, admin: dict[str, str], official_id: str
) -> list[dict[str, Any]]:
    resp = await client.get(
        "/v1/deadlines", params={"kind": "field_visit", "official_id": official_id}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


# --- the duty roster --------------------------------------------------------------------


async def test_roster_entry_added_listed_and_removed(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    day = local_today() + timedelta(days=3)
    body = {
        "unit_id": county.town["id"],
        "day": day.isoformat(),
        "official_id": county.officials["town_deputy"]["id"],
        "place": "镇信访接待室",
    }
    created = await client.post("/v1/reception/roster", json=body, headers=staff)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["official_name"] == county.officials["town_deputy"]["name"]
    assert entry["unit_name"] == county.town["name"] and entry["official_role"] == "deputy"
    # One leader per unit and day.
    again = {**body, "official_id": county.officials["town_chief"]["id"]}
    _problem(await client.post("/v1/reception/roster", json=again, headers=staff), 409)

    params = {"from": day.isoformat(), "to": day.isoformat()}
    listed = await client.get("/v1/reception/roster", params=params, headers=staff)
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["items"]] == [entry["id"]]
    assert listed.json()["from"] == day.isoformat()
    # The village below sees the town's roster only if the town is in its territory: not.
    village = await county.headers(client, "village2_chief")
    seen = await client.get("/v1/reception/roster", params=params, headers=village)
    assert seen.json()["items"] == []
    by_unit = {**params, "unit_id": county.town["id"]}
    county_chief = await county.headers(client, "county_chief")
    seen = await client.get("/v1/reception/roster", params=by_unit, headers=county_chief)
    assert [e["id"] for e in seen.json()["items"]] == [entry["id"]]
    seen = await client.get("/v1/reception/roster", params=by_unit, headers=village)
    assert seen.json()["items"] == []
    backwards = {"from": day.isoformat(), "to": (day - timedelta(days=1)).isoformat()}
    _problem(await client.get("/v1/reception/roster", params=backwards, headers=staff), 422)
    too_long = {"from": day.isoformat(), "to": (day + timedelta(days=400)).isoformat()}
    _problem(await client.get("/v1/reception/roster", params=too_long, headers=staff), 422)

    # Another county's staff: 404, as if it did not exist; the grid worker may not.
    other = await make_county(client, admin)
    stranger = await other.headers(client, "town_staff")
    path = f"/v1/reception/roster/{entry['id']}"
    _problem(await client.delete(path, headers=stranger), 404)
    grid = await county.headers(client, "grid")
    _problem(await client.delete(path, headers=grid), 403)
    assert (await client.delete(path, headers=staff)).status_code == 204
    _problem(await client.delete(path, headers=staff), 404)
    listed = await client.get("/v1/reception/roster", params=params, headers=staff)
    assert listed.json()["items"] == []

    # Today's duty stays on the record.
    today = {**body, "day": local_today().isoformat()}
    todays = (await client.post("/v1/reception/roster", json=today, headers=staff)).json()
    _problem(await client.delete(f"/v1/reception/roster/{todays['id']}", headers=staff), 409)


async def test_roster_entry_rules_write_nothing(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    day = local_today() + timedelta(days=2)
    good = {
        "unit_id": county.town["id"],
        "day": day.isoformat(),
        "official_id": county.officials["town_chief"]["id"],
    }
    other = await make_county(client, admin)
    bad = [
        ({"day": (local_today() - timedelta(days=1)).isoformat()}, "/day"),
        ({"official_id": county.officials["town_staff"]["id"]}, "/official_id"),
        ({"official_id": county.officials["area_chief"]["id"]}, "/official_id"),
        ({"official_id": str(uuid.uuid4())}, "/official_id"),
        ({"unit_id": other.town["id"]}, "/unit_id"),
        ({"unit_id": str(uuid.uuid4())}, "/unit_id"),
    ]
    for change, pointer in bad:
        resp = await client.post("/v1/reception/roster", json={**good, **change}, headers=staff)
        _problem(resp, 422, pointer)
    unknown_field = await client.post(
        "/v1/reception/roster", json={**good, "leader": "x"}, headers=staff
    )
    _problem(unknown_field, 422)
    grid = await county.headers(client, "grid")
    _problem(await client.post("/v1/reception/roster", json=good, headers=grid), 403)
    params = {
        "from": local_today().isoformat(),
        "to": (local_today() + timedelta(days=5)).isoformat(),
    }
    listed = await client.get("/v1/reception/roster", params=params, headers=staff)
    assert listed.json()["items"] == []


async def test_generate_town_roster_rotates_over_working_days(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    leaders = [county.officials["town_chief"]["id"], county.officials["town_deputy"]["id"]]
    for month in (local_today().replace(day=1), _next_month(local_today())):
        body = {"unit_id": county.town["id"], "month": _month(month), "place": "镇接访室"}
        expected = await _reception_days(client, admin, month, {1, 2, 3, 4, 5, 6, 7})
        resp = await client.post("/v1/reception/monthly-roster", json=body, headers=staff)
        if expected is None:  # a year whose holidays are not known: refused, never guessed
            _problem(resp, 422)
            continue
        assert resp.status_code == 201, resp.text
        made = resp.json()
        days = [date.fromisoformat(e["day"]) for e in made["created"]]
        assert days == expected and made["already_set"] == []
        assert all(e["place"] == "镇接访室" for e in made["created"])
        ids = [e["official_id"] for e in made["created"]]
        # One leader a day, taking turns.
        assert all(ids[i] != ids[i + 1] for i in range(len(ids) - 1))
        assert set(ids) <= set(leaders)
        again = await client.post("/v1/reception/monthly-roster", json=body, headers=staff)
        assert again.status_code == 201, again.text
        assert again.json()["created"] == []
        assert [date.fromisoformat(d) for d in again.json()["already_set"]] == expected


async def test_generate_county_roster_on_tuesdays_and_its_rules(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    deputy, _ = await _official(client, admin, county.county, "deputy")
    staff = await county.headers(client, "county_staff")
    month = _next_month(local_today())
    expected = await _reception_days(client, admin, month, {2})
    body = {"unit_id": county.county["id"], "month": _month(month)}
    if expected:
        # A day set by hand is kept and the rotation goes around it.
        kept = {
            "unit_id": county.county["id"],
            "day": expected[0].isoformat(),
            "official_id": deputy["id"],
        }
        assert (await client.post("/v1/reception/roster", json=kept, headers=staff)).is_success
    resp = await client.post("/v1/reception/monthly-roster", json=body, headers=staff)
    if expected is None:
        _problem(resp, 422)
    else:
        assert resp.status_code == 201, resp.text
        made = resp.json()
        assert [date.fromisoformat(d) for d in made["already_set"]] == expected[:1]
        assert [date.fromisoformat(e["day"]) for e in made["created"]] == expected[1:]
        assert all(date.fromisoformat(e["day"]).isoweekday() == 2 for e in made["created"])
        ids = [e["official_id"] for e in made["created"]]
        # Goes on after the deputy set by hand: the chief, then the deputy, …
        turns = [county.officials["county_chief"]["id"], deputy["id"]]
        assert ids == [turns[i % 2] for i in range(len(ids))]

    # A level without reception days, a month over, someone else's unit, a bad month.
    area = {"unit_id": county.area["id"], "month": _month(month)}
    _problem(
        await client.post("/v1/reception/monthly-roster", json=area, headers=staff),
        422,
        "/unit_id",
    )
    past = {"unit_id": county.county["id"], "month": _month(local_today() - timedelta(days=40))}
    _problem(
        await client.post("/v1/reception/monthly-roster", json=past, headers=staff),
        422,
        "/month",
    )
    other = await make_county(client, admin)
    stranger = await other.headers(client, "county_staff")
    _problem(
        await client.post("/v1/reception/monthly-roster", json=body, headers=stranger),
        422,
        "/unit_id",
    )
    for month_text in ("2026-13", "2026-1", "26-01"):
        bad = {"unit_id": county.county["id"], "month": month_text}
        resp = await client.post("/v1/reception/monthly-roster", json=bad, headers=staff)
        _problem(resp, 422)
    grid = await county.headers(client, "grid")
    _problem(await client.post("/v1/reception/monthly-roster", json=body, headers=grid), 403)


# --- appointments -----------------------------------------------------------------------


def _appointment(county: County, leader: str, **fields: Any) -> dict[str, Any]:
    at = datetime.now(UTC) + timedelta(hours=1)
    return {
        "unit_id": county.town["id"],
        "leader_id": county.officials[leader]["id"],
        "petitioner_name": "王五",
        "at": at.isoformat(),
        "place": "镇信访接待室",
        **fields,
    }


async def test_appointment_held_meets_its_deadline_and_notes_the_case(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    case = await _case(client, county, admin)
    staff = await county.headers(client, "town_staff")
    body = _appointment(county, "town_deputy", case_id=case["id"], note="带材料")
    created = await client.post("/v1/reception/appointments", json=body, headers=staff)
    assert created.status_code == 201, created.text
    appointment = created.json()
    assert appointment["status"] == "scheduled" and appointment["case_id"] == case["id"]
    at = datetime.fromisoformat(appointment["at"])
    assert datetime.fromisoformat(appointment["due_at"]) == at + timedelta(hours=2)
    deadline = await _deadline(client, admin, appointment)
    assert deadline["kind"] == "appointment" and deadline["status"] == "open"
    assert deadline["official_id"] == county.officials["town_deputy"]["id"]
    assert "王五" in deadline["subject"]
    path = f"/v1/reception/appointments/{appointment['id']}"

    # The town's staff may not hold it; a fellow deputy or a leader of another county may not.
    _problem(await client.post(f"{path}/hold", json={"outcome": "x"}, headers=staff), 403)
    other = await make_county(client, admin)
    stranger = await other.headers(client, "town_chief")
    _problem(await client.post(f"{path}/hold", json={"outcome": "x"}, headers=stranger), 404)
    _problem(await client.get(path, headers=stranger), 404)
    listed = await client.get("/v1/reception/appointments", headers=stranger)
    assert appointment["id"] not in [a["id"] for a in listed.json()["items"]]
    _, fellow_headers = await _official(client, admin, county.town, "deputy")
    refused = await client.post(f"{path}/hold", json={"outcome": "x"}, headers=fellow_headers)
    _problem(refused, 403)
    empty = await client.post(f"{path}/hold", json={"outcome": ""}, headers=fellow_headers)
    _problem(empty, 422)

    leader = await county.headers(client, "town_deputy")
    held = await client.post(f"{path}/hold", json={"outcome": "已答复,息访"}, headers=leader)
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held" and held.json()["outcome"] == "已答复,息访"
    assert held.json()["held_by"] == county.officials["town_deputy"]["id"]
    assert (await _deadline(client, admin, appointment))["status"] == "met"
    _problem(await client.post(f"{path}/hold", json={"outcome": "x"}, headers=leader), 409)
    _problem(await client.post(f"{path}/cancel", json={"reason": "x"}, headers=staff), 409)

    actions = [e["action"] for e in await _timeline(client, admin, case)]
    assert actions.count("appointment_scheduled") == 1
    assert actions.count("appointment_held") == 1
    read = await client.get(path, headers=staff)
    assert read.status_code == 200 and read.json()["status"] == "held"
    listed = await client.get(
        "/v1/reception/appointments", params={"case_id": case["id"]}, headers=staff
    )
    assert [a["id"] for a in listed.json()["items"]] == [appointment["id"]]
    held_list = await client.get(
        "/v1/reception/appointments",
        params={"leader_id": county.officials["town_deputy"]["id"], "status": "held"},
        headers=staff,
    )
    assert [a["id"] for a in held_list.json()["items"]] == [appointment["id"]]


async def test_a_leader_above_holds_the_appointment(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    for holder in ("town_chief", "county_chief"):
        body = _appointment(county, "town_deputy")
        appointment = (
            await client.post("/v1/reception/appointments", json=body, headers=staff)
        ).json()
        headers = await county.headers(client, holder)
        held = await client.post(
            f"/v1/reception/appointments/{appointment['id']}/hold",
            json={"outcome": "代为接访"},
            headers=headers,
        )
        assert held.status_code == 200, held.text
        assert held.json()["held_by"] == county.officials[holder]["id"]


async def test_appointment_cancelled_cancels_its_deadline(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    case = await _case(client, county, admin)
    staff = await county.headers(client, "town_staff")
    body = _appointment(county, "town_chief", case_id=case["id"])
    appointment = (await client.post("/v1/reception/appointments", json=body, headers=staff)).json()
    path = f"/v1/reception/appointments/{appointment['id']}"
    _problem(await client.post(f"{path}/cancel", json={}, headers=staff), 422)
    grid = await county.headers(client, "grid")
    _problem(await client.post(f"{path}/cancel", json={"reason": "改期"}, headers=grid), 403)
    cancelled = await client.post(f"{path}/cancel", json={"reason": "信访人改期"}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "信访人改期"
    deadline = await _deadline(client, admin, appointment)
    assert deadline["status"] == "cancelled"
    chief = await county.headers(client, "town_chief")
    _problem(await client.post(f"{path}/hold", json={"outcome": "x"}, headers=chief), 409)
    actions = [e["action"] for e in await _timeline(client, admin, case)]
    assert "appointment_scheduled" in actions and "appointment_cancelled" in actions


async def test_missed_appointment_escalates(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    body = _appointment(county, "town_deputy")
    appointment = (await client.post("/v1/reception/appointments", json=body, headers=staff)).json()
    await miss_now(app, client, worker_headers, appointment["deadline_id"])
    path = f"/v1/reception/appointments/{appointment['id']}"
    assert (await client.get(path, headers=staff)).json()["status"] == "missed"
    missed = await client.get(
        "/v1/reception/appointments",
        params={"status": "missed", "unit_id": county.town["id"]},
        headers=staff,
    )
    assert [a["id"] for a in missed.json()["items"]] == [appointment["id"]]
    scheduled = await client.get(
        "/v1/reception/appointments",
        params={"status": "scheduled", "unit_id": county.town["id"]},
        headers=staff,
    )
    assert scheduled.json()["items"] == []
    escalation = (
        await client.get(
            "/v1/escalations", params={"deadline_id": appointment["deadline_id"]}, headers=admin
        )
    ).json()["items"][0]
    assert set(escalation["recipients"]) == {
        county.officials["town_deputy"]["id"],
        county.officials["town_chief"]["id"],
    }
    alerts = (
        await client.get(
            "/v1/alerts",
            params={"official_id": county.officials["town_deputy"]["id"]},
            headers=admin,
        )
    ).json()["items"]
    assert any("约访王五" in a["text"] for a in alerts)
    leader = await county.headers(client, "town_deputy")
    _problem(await client.post(f"{path}/hold", json={"outcome": "x"}, headers=leader), 409)
    _problem(await client.post(f"{path}/cancel", json={"reason": "x"}, headers=staff), 409)


async def test_appointment_rules_write_nothing(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    other = await make_county(client, admin)
    foreign_case = await _case(client, other, admin)
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    bad = [
        ({"at": past}, "/at"),
        ({"leader_id": county.officials["town_staff"]["id"]}, "/leader_id"),
        ({"leader_id": county.officials["county_chief"]["id"]}, "/leader_id"),
        ({"unit_id": other.town["id"]}, "/unit_id"),
        ({"case_id": foreign_case["id"]}, "/case_id"),
        ({"case_id": str(uuid.uuid4())}, "/case_id"),
    ]
    for change, pointer in bad:
        resp = await client.post(
            "/v1/reception/appointments",
            json=_appointment(county, "town_chief", **change),
            headers=staff,
        )
        _problem(resp, 422, pointer)
    for change in ({"petitioner_name": ""}, {"at": "tomorrow"}, {"extra": 1}):
        resp = await client.post(
            "/v1/reception/appointments",
            json=_appointment(county, "town_chief", **change),
            headers=staff,
        )
        _problem(resp, 422)
    grid = await county.headers(client, "grid")
    resp = await client.post(
        "/v1/reception/appointments", json=_appointment(county, "town_chief"), headers=grid
    )
    _problem(resp, 403)
    listed = await client.get(
        "/v1/reception/appointments", params={"unit_id": county.town["id"]}, headers=staff
    )
    assert listed.json()["items"] == []
    _problem(await client.get(f"/v1/reception/appointments/{uuid.uuid4()}", headers=staff), 404)


# --- field visits -----------------------------------------------------------------------


async def test_field_visits_meet_the_monthly_deadline(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    deputy_id = county.officials["town_deputy"]["id"]
    sweeps = [client.post("/v1/internal/sweep", headers=worker_headers) for _ in range(3)]
    assert all(r.status_code == 200 for r in await asyncio.gather(*sweeps))
    assert (await client.post("/v1/internal/sweep", headers=worker_headers)).status_code == 200
    [deadline] = await _field_visit_deadlines(client, admin, deputy_id)
    assert deadline["status"] == "open" and deadline["unit_id"] == county.town["id"]
    assert "带案下访" in deadline["subject"]
    today = local_today()
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    due_local = local(datetime.fromisoformat(deadline["due_at"]))
    assert due_local.date() == last and due_local.hour == 23
    # Leaders of the county and the town owe visits; the area's and villages' do not.
    for key in ("county_chief", "town_chief"):
        assert len(await _field_visit_deadlines(client, admin, county.officials[key]["id"])) == 1
    for key in ("area_chief", "village_chief", "town_staff"):
        assert await _field_visit_deadlines(client, admin, county.officials[key]["id"]) == []

    cases = [await _case(client, county, admin) for _ in range(2)]
    leader = await county.headers(client, "town_deputy")
    body = {"day": today.isoformat(), "place": "杨庄村", "case_ids": [cases[0]["id"]]}
    first = await client.post(VISITS, json=body, headers=leader)
    assert first.status_code == 201, first.text
    assert first.json()["official_id"] == deputy_id
    assert first.json()["unit_id"] == county.town["id"]
    assert (await _field_visit_deadlines(client, admin, deputy_id))[0]["status"] == "open"
    progress = await client.get(
        "/v1/reception/field-visits/progress", params={"unit_id": county.town["id"]}, headers=leader
    )
    assert progress.status_code == 200, progress.text
    mine = {row["official_id"]: row for row in progress.json()["leaders"]}
    assert mine[deputy_id]["visits"] == 1 and mine[deputy_id]["reached"] is False
    assert mine[county.officials["town_chief"]["id"]]["visits"] == 0
    assert county.officials["county_chief"]["id"] not in mine  # above the town

    both = {**body, "case_ids": [c["id"] for c in cases], "note": "入户走访"}
    second = await client.post(VISITS, json=both, headers=leader)
    assert second.status_code == 201, second.text
    assert sorted(second.json()["case_ids"]) == sorted(c["id"] for c in cases)
    assert (await _field_visit_deadlines(client, admin, deputy_id))[0]["status"] == "met"
    progress = await client.get(
        "/v1/reception/field-visits/progress",
        params={"unit_id": county.town["id"], "month": _month(today)},
        headers=leader,
    )
    mine = {row["official_id"]: row for row in progress.json()["leaders"]}
    assert mine[deputy_id]["visits"] == 2 and mine[deputy_id]["reached"] is True
    assert mine[deputy_id]["deadline_status"] == "met" and progress.json()["minimum"] == 2

    timeline = await _timeline(client, admin, cases[0])
    visits = [e for e in timeline if e["action"] == "field_visit"]
    assert len(visits) == 2 and visits[0]["data"]["official_id"] == deputy_id
    assert [e["action"] for e in await _timeline(client, admin, cases[1])].count("field_visit") == 1

    listed = await client.get(VISITS, params={"case_id": cases[1]["id"]}, headers=leader)
    assert [v["id"] for v in listed.json()["items"]] == [second.json()["id"]]
    listed = await client.get(VISITS, params={"official_id": deputy_id}, headers=leader)
    assert len(listed.json()["items"]) == 2
    other = await make_county(client, admin)
    stranger = await other.headers(client, "town_chief")
    listed = await client.get(VISITS, params={"official_id": deputy_id}, headers=stranger)
    assert listed.json()["items"] == []
    _problem(
        await client.get(
            "/v1/reception/field-visits/progress",
            params={"unit_id": county.town["id"]},
            headers=stranger,
        ),
        404,
    )


async def test_missed_field_visit_month_escalates(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    worker_headers: dict[str, str],
) -> None:
    await client.post("/v1/internal/sweep", headers=worker_headers)
    chief_id = county.officials["town_chief"]["id"]
    [deadline] = await _field_visit_deadlines(client, admin, chief_id)
    await miss_now(app, client, worker_headers, deadline["id"])
    escalation = (
        await client.get("/v1/escalations", params={"deadline_id": deadline["id"]}, headers=admin)
    ).json()["items"][0]
    assert chief_id in escalation["recipients"]
    alerts = (
        await client.get("/v1/alerts", params={"official_id": chief_id}, headers=admin)
    ).json()["items"]
    assert any("带案下访" in a["text"] for a in alerts)
    # A visit recorded after the miss does not undo it.
    case = await _case(client, county, admin)
    chief = await county.headers(client, "town_chief")
    for _ in range(2):
        body = {"day": local_today().isoformat(), "place": "柳树村", "case_ids": [case["id"]]}
        assert (await client.post(VISITS, json=body, headers=chief)).is_success
    assert (await _field_visit_deadlines(client, admin, chief_id))[0]["status"] == "missed"


async def test_field_visit_rules_write_nothing(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    case = await _case(client, county, admin)
    other = await make_county(client, admin)
    foreign_case = await _case(client, other, admin)
    leader = await county.headers(client, "town_chief")
    good: dict[str, Any] = {
        "day": local_today().isoformat(),
        "place": "杨庄村",
        "case_ids": [case["id"]],
    }
    bad: list[tuple[dict[str, Any], str]] = [
        ({"day": (local_today() + timedelta(days=1)).isoformat()}, "/day"),
        ({"case_ids": [case["id"], foreign_case["id"]]}, "/case_ids/1"),
        ({"case_ids": [str(uuid.uuid4())]}, "/case_ids/0"),
    ]
    for change, pointer in bad:
        resp = await client.post(VISITS, json={**good, **change}, headers=leader)
        _problem(resp, 422, pointer)
    wrong: list[dict[str, Any]] = [
        {"case_ids": []},
        {"case_ids": [case["id"], case["id"]]},
        {"place": ""},
    ]
    for change in wrong:
        resp = await client.post(VISITS, json={**good, **change}, headers=leader)
        _problem(resp, 422)
    # A leader records their own; staff may not record visits at all.
    someone = {**good, "official_id": county.officials["town_deputy"]["id"]}
    _problem(await client.post(VISITS, json=someone, headers=leader), 403)
    staff = await county.headers(client, "town_staff")
    _problem(await client.post(VISITS, json=good, headers=staff), 403)
    # The admin names the leader, who must be one.
    not_leader = {**good, "official_id": county.officials["town_staff"]["id"]}
    resp = await client.post(VISITS, json=not_leader, headers=admin)
    _problem(resp, 422, "/official_id")
    _problem(await client.post(VISITS, json=good, headers=admin), 422)
    listed = await client.get(VISITS, params={"case_id": case["id"]}, headers=admin)
    assert listed.json()["items"] == []
    assert "field_visit" not in [e["action"] for e in await _timeline(client, admin, case)]
    by_admin = {**good, "official_id": county.officials["town_deputy"]["id"]}
    resp = await client.post(VISITS, json=by_admin, headers=admin)
    assert resp.status_code == 201, resp.text
    assert resp.json()["official_id"] == county.officials["town_deputy"]["id"]


# --- figures ----------------------------------------------------------------------------


async def test_figures(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    today = local_today()
    entry = {
        "unit_id": county.town["id"],
        "day": today.isoformat(),
        "official_id": county.officials["town_deputy"]["id"],
        "place": "镇接访室",
    }
    assert (await client.post("/v1/reception/roster", json=entry, headers=staff)).is_success
    held = (
        await client.post(
            "/v1/reception/appointments", json=_appointment(county, "town_chief"), headers=staff
        )
    ).json()
    chief = await county.headers(client, "town_chief")
    await client.post(
        f"/v1/reception/appointments/{held['id']}/hold", json={"outcome": "ok"}, headers=chief
    )
    missed = (
        await client.post(
            "/v1/reception/appointments", json=_appointment(county, "town_chief"), headers=staff
        )
    ).json()
    await miss_now(app, client, worker_headers, missed["deadline_id"])
    await client.post(
        "/v1/reception/appointments", json=_appointment(county, "town_deputy"), headers=staff
    )
    case = await _case(client, county, admin)
    visit = {"day": today.isoformat(), "place": "杨庄村", "case_ids": [case["id"]]}
    for _ in range(2):
        assert (await client.post(VISITS, json=visit, headers=chief)).is_success

    policy = Policy()
    async with app.state.desk.sessionmaker() as session:
        units = await UnitRepository(session).subtree_ids(uuid.UUID(county.town["id"]))
        got = await service.figures(session, units, today, today + timedelta(days=1), policy)
    assert [(d.official_name, d.place) for d in got.today_on_duty] == [
        (county.officials["town_deputy"]["name"], "镇接访室")
    ]
    workdays = await client.get(
        "/v1/calendar",
        params={"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()},
        headers=admin,
    )
    owed = sum(1 for d in workdays.json() if d["is_workday"])
    assert got.duty_days_owed == owed
    assert got.duty_days_covered == (1 if workdays.json()[0]["is_workday"] else 0)
    assert got.duty_days_uncovered == owed - got.duty_days_covered
    counts = got.appointments
    assert (counts.total, counts.held, counts.missed, counts.scheduled) == (3, 1, 1, 1)
    assert counts.cancelled == 0
    assert (got.field_visits, got.cases_carried) == (2, 1)
    assert got.leaders_owing == 2  # the town's chief and deputy
    assert got.leaders_below_minimum == 1  # the deputy


async def test_policy_sets_the_grace_and_the_monthly_minimum(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["reception"]["appointment_grace"] = "PT30M"
    policy["reception"]["field_visits_per_month"] = 1
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 200, resp.text
    twice = [policy["reception"]["days"][0]] * 2  # one rule per unit level
    bad = {**policy, "reception": {**policy["reception"], "days": twice}}
    _problem(await client.put("/v1/policies", json=bad, headers=admin), 422)

    staff = await county.headers(client, "town_staff")
    body = _appointment(county, "town_chief")
    appointment = (await client.post("/v1/reception/appointments", json=body, headers=staff)).json()
    at = datetime.fromisoformat(appointment["at"])
    assert datetime.fromisoformat(appointment["due_at"]) == at + timedelta(minutes=30)

    await client.post("/v1/internal/sweep", headers=worker_headers)
    case = await _case(client, county, admin)
    chief = await county.headers(client, "town_chief")
    visit = {"day": local_today().isoformat(), "place": "杨庄村", "case_ids": [case["id"]]}
    assert (await client.post(VISITS, json=visit, headers=chief)).status_code == 201
    chief_id = county.officials["town_chief"]["id"]
    assert (await _field_visit_deadlines(client, admin, chief_id))[0]["status"] == "met"


async def test_a_sensitive_period_owes_a_leader_on_duty_every_day(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    policy_restore: None,
) -> None:
    """全天接访 (seed 001 第三篇: 各单位每天都要有一名班子成员坚持全天接访): in a sensitive
    period a unit with reception days owes a duty leader every day of it, weekends and
    holidays included: the roster is generated for them and the dashboard owes them."""
    today = local_today()
    window = [today + timedelta(days=n) for n in range(3)]
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    period = {
        "key": "duty",
        "name": "全国两会",
        "starts_on": window[0].isoformat(),
        "ends_on": window[-1].isoformat(),
    }
    policy["sensitive_periods"]["periods"] = [period]
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200

    staff = await county.headers(client, "county_staff")
    tuesdays = await _reception_days(client, admin, today.replace(day=1), {2})
    body = {"unit_id": county.county["id"], "month": _month(today)}
    resp = await client.post("/v1/reception/monthly-roster", json=body, headers=staff)
    if tuesdays is None:  # a year whose holidays are not known: refused, never guessed
        _problem(resp, 422)
        return
    assert resp.status_code == 201, resp.text
    in_month = [d for d in window if d.month == today.month]
    days = [date.fromisoformat(e["day"]) for e in resp.json()["created"]]
    assert days == sorted(set(tuesdays) | set(in_month))

    async def owed_and_covered() -> tuple[int, int]:
        async with app.state.desk.sessionmaker() as session:
            current = (await current_policy(session)).policy
            got = await service.figures(
                session, frozenset({uuid.UUID(county.county["id"])}), window[0], window[-1], current
            )
        return got.duty_days_owed, got.duty_days_covered

    assert await owed_and_covered() == (3, len(in_month))
    # a period without all-day reception owes only the usual days
    policy["sensitive_periods"]["periods"] = [period | {"all_day_reception": False}]
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    resp = await client.get(
        "/v1/calendar",
        params={"from": window[0].isoformat(), "to": window[-1].isoformat()},
        headers=admin,
    )
    usual = [
        d
        for d in resp.json()
        if d["is_workday"] and date.fromisoformat(d["date"]).isoweekday() == 2
    ]
    owed, _ = await owed_and_covered()
    assert owed == len(usual)
