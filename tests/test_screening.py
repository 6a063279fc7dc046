"""The dispute screening register (矛盾纠纷排查台账): entries with their owning leader's
deadline, high-risk alerts, resolving and converting, weekly rounds (每周一排查), the monthly
roll-up (每月一汇总) and the dashboard figures."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from api.kit.timeutil import end_of_local_day, local_today
from api.models.deadline import Deadline
from api.models.screening import ScreeningItem
from api.policies.schemas import Policy
from api.screening import service
from api.units.repository import UnitRepository
from tests.conftest import County, letter_body, login, make_county, miss_now

ITEMS = "/v1/screening/items"
ROUNDS = "/v1/screening/rounds"


def _item_body(county: County, **fields: Any) -> dict[str, Any]:
    """A medium-risk land dispute in village2, owned by the town's deputy."""
    return {
        "unit_id": county.village2["id"],
        "category": "land.acquisition",
        "title": f"杨庄村土地承包纠纷-{uuid.uuid4().hex[:4]}",
        "description": "两户村民因承包地边界发生争执。",
        "people": [{"name": "王五", "note": "承包户"}, {"name": "赵四"}],
        "people_count": 2,
        "location": "杨庄村三组",
        "lat": 34.1,
        "lon": 113.2,
        "risk_level": "medium",
        "owner_leader_id": county.officials["town_deputy"]["id"],
        "plan": "司法所组织调解,重新丈量",
        "measures": "村干部每日走访",
        **fields,
    }


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post(ITEMS, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _deadlines(
    client: httpx.AsyncClient, admin: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    resp = await client.get("/v1/deadlines", params=params, headers=admin)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def _deadline(client: httpx.AsyncClient, admin: dict[str, str], id_: str) -> dict[str, Any]:
    rows = await _deadlines(client, admin, kind="screening")
    found = [d for d in rows if d["id"] == id_]
    assert len(found) == 1
    return found[0]


async def _alerts(
    client: httpx.AsyncClient, admin: dict[str, str], official_id: str
) -> list[dict[str, Any]]:
    resp = await client.get("/v1/alerts", params={"official_id": official_id}, headers=admin)
    return list(resp.json()["items"])


def _problem(resp: httpx.Response, status: int, pointer: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    if pointer is not None:
        assert pointer in [e["pointer"] for e in resp.json()["errors"]], resp.text


def test_weeks_run_monday_to_the_policy_weekday() -> None:
    assert service.week_of(date(2026, 11, 26)) == date(2026, 11, 23)
    assert service.week_of(date(2026, 11, 23)) == date(2026, 11, 23)
    assert service.week_of(date(2026, 11, 29)) == date(2026, 11, 23)
    policy = Policy()
    assert service.round_due(date(2026, 11, 23), policy) == end_of_local_day(date(2026, 11, 29))
    friday = Policy.model_validate({"screening": {"round_weekday": 5}})
    assert service.round_due(date(2026, 11, 23), friday) == end_of_local_day(date(2026, 11, 27))
    assert service.week_start(date(2026, 11, 23)) == datetime(2026, 11, 22, 16, tzinfo=UTC)


async def test_item_is_entered_changed_and_resolved(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    deputy = county.officials["town_deputy"]
    item = await _create(client, staff, _item_body(county))
    assert item["status"] == "open" and item["overdue"] is False
    assert item["recorded_by"] == county.officials["town_staff"]["id"]
    assert item["screened_on"] == local_today().isoformat()
    assert item["people"] == [{"name": "王五", "note": "承包户"}, {"name": "赵四", "note": None}]
    # a medium risk has 15 days by default
    due = end_of_local_day(local_today() + timedelta(days=15))
    assert datetime.fromisoformat(item["due_at"]) == due
    first = await _deadline(client, admin, item["deadline_id"])
    assert first["status"] == "open" and first["official_id"] == deputy["id"]
    assert first["subject"] == item["title"] and first["case_id"] is None
    assert first["unit_id"] == county.town["id"]  # the leader's unit: a miss goes up from there
    assert datetime.fromisoformat(first["due_at"]) == due
    assert not [a for a in await _alerts(client, admin, deputy["id"]) if a["deadline_id"]]

    got = await client.get(f"{ITEMS}/{item['id']}", headers=staff)
    assert got.status_code == 200 and got.json()["title"] == item["title"]

    # plan and measures change alone: the deadline stays
    changed = await client.patch(
        f"{ITEMS}/{item['id']}", json={"plan": "镇司法所调解", "measures": None}, headers=staff
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"] == "镇司法所调解" and changed.json()["measures"] is None
    assert changed.json()["deadline_id"] == item["deadline_id"]

    # raised to high: the time limit shrinks to 7 days, the deadline is replaced, and the
    # owner is alerted at once
    raised = await client.patch(f"{ITEMS}/{item['id']}", json={"risk_level": "high"}, headers=staff)
    assert raised.status_code == 200, raised.text
    high = raised.json()
    assert high["risk_level"] == "high"
    assert datetime.fromisoformat(high["due_at"]) == end_of_local_day(
        local_today() + timedelta(days=7)
    )
    assert high["deadline_id"] != item["deadline_id"]
    assert (await _deadline(client, admin, item["deadline_id"]))["status"] == "cancelled"
    second = await _deadline(client, admin, high["deadline_id"])
    assert second["status"] == "open" and second["due_at"] == high["due_at"]
    risk_alerts = [
        a for a in await _alerts(client, admin, deputy["id"]) if a["purpose"] == "screening_risk"
    ]
    assert len(risk_alerts) == 1
    assert "高风险" in risk_alerts[0]["text"] and item["title"] in risk_alerts[0]["text"]
    assert risk_alerts[0]["deadline_id"] == high["deadline_id"]

    # listed with its filters
    listed = await client.get(
        ITEMS,
        params={"unit_id": county.village2["id"], "status": "open", "risk_level": "high"},
        headers=staff,
    )
    assert [i["id"] for i in listed.json()["items"]] == [item["id"]]
    assert (
        await client.get(
            ITEMS, params={"unit_id": county.village2["id"], "risk_level": "low"}, headers=staff
        )
    ).json()["items"] == []

    resolved = await client.post(
        f"{ITEMS}/{item['id']}/resolve", json={"resolution": "调解成功,签订协议"}, headers=staff
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"] == "调解成功,签订协议"
    assert resolved.json()["resolved_at"] and resolved.json()["closed_at"]
    assert (await _deadline(client, admin, high["deadline_id"]))["status"] == "met"
    # only while open
    _problem(await client.patch(f"{ITEMS}/{item['id']}", json={"plan": "x"}, headers=staff), 409)
    again = await client.post(
        f"{ITEMS}/{item['id']}/resolve", json={"resolution": "again"}, headers=staff
    )
    _problem(again, 409)
    assert again.json()["item_status"] == "resolved"


async def test_high_risk_alerts_the_owner_at_once_and_a_new_owner_too(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    chief = county.officials["town_chief"]
    item = await _create(
        client, staff, _item_body(county, risk_level="high", owner_leader_id=chief["id"])
    )
    assert datetime.fromisoformat(item["due_at"]) == end_of_local_day(
        local_today() + timedelta(days=7)
    )
    alerts = [
        a for a in await _alerts(client, admin, chief["id"]) if a["purpose"] == "screening_risk"
    ]
    assert len(alerts) == 1
    assert alerts[0]["deadline_id"] == item["deadline_id"] and alerts[0]["case_id"] is None
    assert "高风险" in alerts[0]["text"] and county.village2["name"] in alerts[0]["text"]
    # a new owner of a high-risk item gets the alert and the deadline
    deputy = county.officials["town_deputy"]
    moved = await client.patch(
        f"{ITEMS}/{item['id']}", json={"owner_leader_id": deputy["id"]}, headers=staff
    )
    assert moved.status_code == 200, moved.text
    assert (await _deadline(client, admin, item["deadline_id"]))["status"] == "cancelled"
    new = await _deadline(client, admin, moved.json()["deadline_id"])
    assert new["official_id"] == deputy["id"] and new["due_at"] == item["due_at"]
    assert [a["purpose"] for a in await _alerts(client, admin, deputy["id"])] == ["screening_risk"]
    # a later due date replaces the deadline again, without another alert
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    extended = await client.patch(f"{ITEMS}/{item['id']}", json={"due_at": later}, headers=staff)
    assert extended.status_code == 200, extended.text
    assert extended.json()["deadline_id"] != moved.json()["deadline_id"]
    assert len(await _alerts(client, admin, deputy["id"])) == 1


async def test_convert_links_the_case_and_hands_over_the_deadline(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    item = await _create(client, staff, _item_body(county))
    registered = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    assert registered.status_code == 201, registered.text
    case = registered.json()

    unknown = await client.post(
        f"{ITEMS}/{item['id']}/convert", json={"case_id": str(uuid.uuid4())}, headers=staff
    )
    _problem(unknown, 422, "/case_id")
    assert (await client.get(f"{ITEMS}/{item['id']}", headers=staff)).json()["status"] == "open"

    converted = await client.post(
        f"{ITEMS}/{item['id']}/convert", json={"case_id": case["id"]}, headers=staff
    )
    assert converted.status_code == 200, converted.text
    assert converted.json()["status"] == "converted"
    assert converted.json()["case_id"] == case["id"]
    assert (await _deadline(client, admin, item["deadline_id"]))["status"] == "cancelled"
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    events = [e for e in timeline if e["action"] == "screening_converted"]
    assert len(events) == 1 and events[0]["data"]["screening_item_id"] == item["id"]
    _problem(
        await client.post(
            f"{ITEMS}/{item['id']}/convert", json={"case_id": case["id"]}, headers=staff
        ),
        409,
    )
    # a case of another county is unknown here
    other = await make_county(client, admin)
    other_staff = await other.headers(client, "town_staff")
    foreign = (await client.post("/v1/cases", json=letter_body(other), headers=other_staff)).json()
    second = await _create(client, staff, _item_body(county))
    refused = await client.post(
        f"{ITEMS}/{second['id']}/convert", json={"case_id": foreign["id"]}, headers=staff
    )
    _problem(refused, 422, "/case_id")


async def test_close_cancels_the_deadline(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    grid = await county.headers(client, "grid")
    body = _item_body(
        county, risk_level="low", owner_leader_id=county.officials["village2_chief"]["id"]
    )
    item = await _create(client, grid, body)
    assert datetime.fromisoformat(item["due_at"]) == end_of_local_day(
        local_today() + timedelta(days=30)
    )
    _problem(await client.post(f"{ITEMS}/{item['id']}/close", json={}, headers=grid), 422)
    closed = await client.post(
        f"{ITEMS}/{item['id']}/close", json={"reason": "经核实不属实"}, headers=grid
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["resolution"] == "经核实不属实"
    assert (await _deadline(client, admin, item["deadline_id"]))["status"] == "cancelled"


async def test_bad_input_is_422_and_writes_nothing(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    other = await make_county(client, admin)
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"owner_leader_id": other.officials["town_chief"]["id"]}, "/owner_leader_id"),
        ({"owner_leader_id": str(uuid.uuid4())}, "/owner_leader_id"),
        ({"owner_leader_id": county.officials["town_staff"]["id"]}, "/owner_leader_id"),
        # a village's chief does not lead a dispute of the whole town
        (
            {
                "unit_id": county.town["id"],
                "owner_leader_id": county.officials["village2_chief"]["id"],
            },
            "/owner_leader_id",
        ),
        ({"unit_id": other.village2["id"]}, "/unit_id"),
        ({"screened_on": tomorrow}, "/screened_on"),
        ({"due_at": past}, "/due_at"),
        ({"risk_level": "extreme"}, "/risk_level"),
        ({"people_count": 0}, "/people_count"),
        ({"title": ""}, "/title"),
        ({"surprise": 1}, "/surprise"),
    ]
    for fields, pointer in cases:
        _problem(
            await client.post(ITEMS, json=_item_body(county, **fields), headers=staff), 422, pointer
        )
    _problem(
        await client.post(ITEMS, json=_item_body(county, lat=1.0, lon=None), headers=staff), 422
    )
    assert (
        await client.get(ITEMS, params={"unit_id": county.village2["id"]}, headers=staff)
    ).json()["items"] == []
    assert await _deadlines(client, admin, kind="screening", unit_id=county.town["id"]) == []

    item = await _create(client, staff, _item_body(county))
    for body, pointer in [
        ({"risk_level": None}, "/risk_level"),
        ({"owner_leader_id": None}, "/owner_leader_id"),
        ({"due_at": past}, "/due_at"),
        ({"owner_leader_id": other.officials["town_chief"]["id"]}, "/owner_leader_id"),
    ]:
        _problem(
            await client.patch(f"{ITEMS}/{item['id']}", json=body, headers=staff), 422, pointer
        )
    unchanged = (await client.get(f"{ITEMS}/{item['id']}", headers=staff)).json()
    assert unchanged == {**item, "updated_at": unchanged["updated_at"]}
    assert unchanged["updated_at"] == item["updated_at"]
    _problem(await client.post(f"{ITEMS}/{item['id']}/resolve", json={}, headers=staff), 422)
    _problem(
        await client.post(f"{ITEMS}/{item['id']}/resolve", json={"resolution": ""}, headers=staff),
        422,
        "/resolution",
    )


async def test_territory_and_permissions(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    item = await _create(client, staff, _item_body(county))
    town_item = await _create(client, staff, _item_body(county, unit_id=county.town["id"]))
    other = await make_county(client, admin)
    outsider = await other.headers(client, "town_chief")
    for method, path, body in [
        ("get", f"{ITEMS}/{item['id']}", None),
        ("patch", f"{ITEMS}/{item['id']}", {"plan": "x"}),
        ("post", f"{ITEMS}/{item['id']}/resolve", {"resolution": "x"}),
        ("post", f"{ITEMS}/{item['id']}/close", {"reason": "x"}),
        ("post", f"{ITEMS}/{item['id']}/convert", {"case_id": str(uuid.uuid4())}),
    ]:
        _problem(await client.request(method, path, json=body, headers=outsider), 404)
    assert (await client.get(ITEMS, headers=outsider)).json()["items"] == []
    # the grid worker of village2 sees the village's entry, not the town's own
    grid = await county.headers(client, "grid")
    seen = [i["id"] for i in (await client.get(ITEMS, headers=grid)).json()["items"]]
    assert item["id"] in seen and town_item["id"] not in seen
    _problem(await client.get(f"{ITEMS}/{town_item['id']}", headers=grid), 404)
    # a viewer reads but may not screen
    name = f"viewer-{uuid.uuid4().hex[:6]}"
    created = await client.post(
        "/v1/officials",
        json={
            "name": name,
            "unit_id": county.town["id"],
            "role": "viewer",
            "username": name,
            "password": f"pw-{name}",
        },
        headers=admin,
    )
    assert created.status_code == 201
    viewer = await login(client, name, f"pw-{name}")
    refused = await client.post(ITEMS, json=_item_body(county), headers=viewer)
    _problem(refused, 403)
    assert refused.json()["detail"].endswith("may not screen_disputes.")
    assert (await client.get(f"{ITEMS}/{item['id']}", headers=viewer)).status_code == 200
    _problem(
        await client.post(ROUNDS, json={"zero": True}, headers=viewer),
        403,
    )
    # the outsider's deadlines list does not show the leader's deadline either
    theirs = await client.get("/v1/deadlines", params={"kind": "screening"}, headers=outsider)
    assert item["deadline_id"] not in [d["id"] for d in theirs.json()["items"]]


async def test_missed_item_deadline_escalates_through_the_worker(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    staff = await county.headers(client, "town_staff")
    item = await _create(client, staff, _item_body(county))
    await miss_now(app, client, worker_headers, item["deadline_id"])
    deadline = await _deadline(client, admin, item["deadline_id"])
    assert deadline["status"] == "missed"
    escalations = (
        await client.get(
            "/v1/escalations", params={"deadline_id": item["deadline_id"]}, headers=admin
        )
    ).json()["items"]
    assert len(escalations) == 1
    deputy, chief = county.officials["town_deputy"], county.officials["town_chief"]
    assert set(escalations[0]["recipients"]) == {deputy["id"], chief["id"]}
    told = [a for a in await _alerts(client, admin, chief["id"]) if a["purpose"] == "escalation"]
    assert len(told) == 1 and item["title"] in told[0]["text"]
    # the next step (1: steps count from 0), when its delay has passed, goes to the county's
    # chief
    advanced = await client.post(
        "/v1/internal/escalations/advance",
        json={"deadline_id": item["deadline_id"], "step": 1},
        headers=worker_headers,
    )
    assert advanced.status_code == 200, advanced.text
    steps = (
        await client.get(
            "/v1/escalations", params={"deadline_id": item["deadline_id"]}, headers=admin
        )
    ).json()["items"]
    second = [s for s in steps if s["step"] == 1]
    assert len(second) == 1
    assert second[0]["recipients"] == [county.officials["county_chief"]["id"]]
    # the entry itself is overdue until resolved; resolving late leaves the miss standing
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(ScreeningItem)
            .where(ScreeningItem.id == uuid.UUID(item["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await client.get(f"{ITEMS}/{item['id']}", headers=staff)).json()["overdue"] is True
    done = await client.post(
        f"{ITEMS}/{item['id']}/resolve", json={"resolution": "已调解"}, headers=staff
    )
    assert done.status_code == 200 and done.json()["overdue"] is False
    assert (await _deadline(client, admin, item["deadline_id"]))["status"] == "missed"


async def _round_deadlines(
    client: httpx.AsyncClient, admin: dict[str, str], official_id: str
) -> list[dict[str, Any]]:
    return await _deadlines(client, admin, kind="screening_round", official_id=official_id)


async def test_sweeps_open_one_round_deadline_per_official_and_week(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    sweeps = await asyncio.gather(
        *(client.post("/v1/internal/sweep", headers=worker_headers) for _ in range(4))
    )
    assert all(s.status_code == 200 for s in sweeps)
    assert (await client.post("/v1/internal/sweep", headers=worker_headers)).status_code == 200
    staff = county.officials["town_staff"]
    rows = await _round_deadlines(client, admin, staff["id"])
    assert len(rows) == 1
    week = service.week_of(local_today())
    assert rows[0]["status"] == "open" and rows[0]["unit_id"] == county.town["id"]
    assert datetime.fromisoformat(rows[0]["starts_at"]) == service.week_start(week)
    assert datetime.fromisoformat(rows[0]["due_at"]) == end_of_local_day(week + timedelta(days=6))
    assert "矛盾纠纷排查" in rows[0]["subject"]
    # the county's petition staff and the town's leaders owe none (policy: the town's staff)
    for key in ("county_staff", "town_chief", "grid"):
        assert await _round_deadlines(client, admin, county.officials[key]["id"]) == []


async def test_rounds_are_filed_once_a_week(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    staff_id = county.officials["town_staff"]["id"]
    item = await _create(client, staff, _item_body(county))
    week = service.week_of(local_today())
    # bad rounds first: nothing is written
    for body, pointer in [
        ({"zero": True, "week": (week + timedelta(days=1)).isoformat()}, "/week"),
        ({"zero": True, "week": (week + timedelta(days=7)).isoformat()}, "/week"),
        ({"zero": True, "week": (week - timedelta(days=7)).isoformat()}, "/week"),
        ({"zero": False, "item_ids": [str(uuid.uuid4())]}, "/item_ids/0"),
    ]:
        _problem(await client.post(ROUNDS, json=body, headers=staff), 422, pointer)
    _problem(
        await client.post(ROUNDS, json={"zero": True, "item_ids": [item["id"]]}, headers=staff),
        422,
    )
    _problem(await client.post(ROUNDS, json={"zero": False}, headers=staff), 422)
    _problem(await client.post(ROUNDS, json={}, headers=staff), 422, "/zero")
    assert await _round_deadlines(client, admin, staff_id) == []
    # an official who owes no round may not file one
    grid = await county.headers(client, "grid")
    refused = await client.post(ROUNDS, json={"zero": True}, headers=grid)
    _problem(refused, 403)

    # filed before the sweep came by: the week's deadline is opened and met at once
    filed = await client.post(
        ROUNDS, json={"zero": False, "item_ids": [item["id"]], "note": "排查1起"}, headers=staff
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["week"] == week.isoformat() and filed.json()["on_time"] is True
    assert filed.json()["item_ids"] == [item["id"]]
    rows = await _round_deadlines(client, admin, staff_id)
    assert [d["status"] for d in rows] == ["met"] and filed.json()["deadline_id"] == rows[0]["id"]
    await client.post("/v1/internal/sweep", headers=worker_headers)
    assert len(await _round_deadlines(client, admin, staff_id)) == 1
    _problem(await client.post(ROUNDS, json={"zero": True}, headers=staff), 409)

    listed = await client.get(ROUNDS, params={"official_id": staff_id}, headers=admin)
    assert [r["id"] for r in listed.json()["items"]] == [filed.json()["id"]]
    mine = await client.get(ROUNDS, params={"week": week.isoformat()}, headers=staff)
    assert filed.json()["id"] in [r["id"] for r in mine.json()["items"]]
    outsider = await (await make_county(client, admin)).headers(client, "town_staff")
    theirs = await client.get(ROUNDS, headers=outsider)
    assert filed.json()["id"] not in [r["id"] for r in theirs.json()["items"]]


async def test_a_late_round_is_a_miss_without_escalation(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    staff = await county.headers(client, "town_staff")
    staff_id = county.officials["town_staff"]["id"]
    await client.post("/v1/internal/sweep", headers=worker_headers)
    [deadline] = await _round_deadlines(client, admin, staff_id)
    async with app.state.desk.sessionmaker() as session:  # due a moment ago, not yet flagged
        await session.execute(
            update(Deadline)
            .where(Deadline.id == uuid.UUID(deadline["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    late = await client.post(ROUNDS, json={"zero": True}, headers=staff)
    assert late.status_code == 201, late.text
    assert late.json()["on_time"] is False
    [flagged] = await _round_deadlines(client, admin, staff_id)
    assert flagged["status"] == "missed"
    escalations = await client.get(
        "/v1/escalations", params={"deadline_id": deadline["id"]}, headers=admin
    )
    assert escalations.json()["items"] == []


async def test_a_missed_round_escalates(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    staff_id = county.officials["town_staff"]["id"]
    await client.post("/v1/internal/sweep", headers=worker_headers)
    [deadline] = await _round_deadlines(client, admin, staff_id)
    await miss_now(app, client, worker_headers, deadline["id"])
    escalation = (
        await client.get("/v1/escalations", params={"deadline_id": deadline["id"]}, headers=admin)
    ).json()["items"][0]
    assert set(escalation["recipients"]) == {staff_id, county.officials["town_chief"]["id"]}
    told = await _alerts(client, admin, county.officials["town_chief"]["id"])
    assert any("每周排查" in a["text"] or "矛盾纠纷排查" in a["text"] for a in told), told


async def test_policy_decides_who_owes_rounds(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    bad = {**policy, "screening": {**policy["screening"], "resolution_days": {"high": 40}}}
    _problem(await client.put("/v1/policies", json=bad, headers=admin), 422)
    wider = {**policy["screening"], "round_levels": ["county", "town"]}
    put = await client.put("/v1/policies", json={**policy, "screening": wider}, headers=admin)
    assert put.status_code == 200, put.text
    await client.post("/v1/internal/sweep", headers=worker_headers)
    county_staff = county.officials["county_staff"]["id"]
    assert len(await _round_deadlines(client, admin, county_staff)) == 1


async def _age(app: FastAPI, item_id: str) -> None:
    """Make an entry's time limit lie in the past."""
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(ScreeningItem)
            .where(ScreeningItem.id == uuid.UUID(item_id))
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
        await session.commit()


async def test_monthly_rollup_and_figures(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    staff = await county.headers(client, "town_staff")
    village_chief = county.officials["village_chief"]["id"]
    # village2 (directly under the town): resolved, converted, open overdue, open in time
    resolved = await _create(client, staff, _item_body(county, risk_level="high"))
    await client.post(f"{ITEMS}/{resolved['id']}/resolve", json={"resolution": "ok"}, headers=staff)
    converted = await _create(client, staff, _item_body(county))
    case = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    await client.post(
        f"{ITEMS}/{converted['id']}/convert", json={"case_id": case["id"]}, headers=staff
    )
    overdue = await _create(client, staff, _item_body(county, risk_level="low"))
    await _age(app, overdue["id"])
    await _create(client, staff, _item_body(county, risk_level="low"))
    # the village under the area: two resolved, one closed
    for _ in range(2):
        done = await _create(
            client,
            staff,
            _item_body(county, unit_id=county.village["id"], owner_leader_id=village_chief),
        )
        await client.post(f"{ITEMS}/{done['id']}/resolve", json={"resolution": "ok"}, headers=staff)
    dropped = await _create(
        client,
        staff,
        _item_body(county, unit_id=county.village["id"], owner_leader_id=village_chief),
    )
    await client.post(f"{ITEMS}/{dropped['id']}/close", json={"reason": "不属实"}, headers=staff)
    await client.post("/v1/internal/sweep", headers=worker_headers)
    await client.post(ROUNDS, json={"zero": True}, headers=staff)

    month = f"{local_today():%Y-%m}"
    resp = await client.get(
        "/v1/screening/rollup", params={"unit_id": county.town["id"], "month": month}, headers=staff
    )
    assert resp.status_code == 200, resp.text
    rollup = resp.json()
    assert rollup["month"] == month and rollup["target"] == 0.8
    total = rollup["total"]
    assert total["unit_id"] == county.town["id"]
    assert total["screened"] == 7
    assert total["by_risk"] == {"high": 1, "medium": 4, "low": 2}
    assert (total["resolved"], total["converted"], total["closed"]) == (3, 1, 1)
    assert (total["open"], total["overdue"]) == (2, 1)
    # 化解率 = 3 / (3 resolved + 1 converted + 1 overdue)
    assert total["resolution_rate"] == {"numerator": 3, "denominator": 5, "rate": 0.6}
    assert total["meets_target"] is False
    if (service.week_of(local_today()) + timedelta(days=6)).month == local_today().month:
        assert (total["rounds_owed"], total["rounds_filed"], total["rounds_missed"]) == (1, 1, 0)
    rows = {r["unit_id"]: r for r in rollup["children"]}
    assert set(rows) == {county.area["id"], county.village2["id"]}
    area = rows[county.area["id"]]  # with the village below it
    assert (area["screened"], area["resolved"], area["closed"]) == (3, 2, 1)
    assert area["resolution_rate"]["rate"] == 1.0 and area["meets_target"] is True
    village2 = rows[county.village2["id"]]
    assert village2["resolution_rate"] == {"numerator": 1, "denominator": 3, "rate": 0.3333}
    assert village2["by_risk"] == {"high": 1, "medium": 1, "low": 2}

    # another month: nothing; out of reach: 404; a bad month: 422
    empty = await client.get(
        "/v1/screening/rollup",
        params={"unit_id": county.town["id"], "month": "2020-01"},
        headers=staff,
    )
    assert empty.json()["total"]["screened"] == 0 and empty.json()["total"]["meets_target"] is None
    outsider = await (await make_county(client, admin)).headers(client, "town_chief")
    _problem(
        await client.get(
            "/v1/screening/rollup", params={"unit_id": county.town["id"]}, headers=outsider
        ),
        404,
    )
    for bad in ("2026-13", "26-01", "2026-1"):
        _problem(
            await client.get("/v1/screening/rollup", params={"month": bad}, headers=staff), 422
        )
    grid = await county.headers(client, "grid")  # default: the caller's own unit
    own = (await client.get("/v1/screening/rollup", headers=grid)).json()
    assert own["unit_id"] == county.village2["id"] and own["total"]["screened"] == 4

    # the dashboard's figures, straight from the service
    async with app.state.desk.sessionmaker() as session:
        unit_ids = await UnitRepository(session).subtree_ids(uuid.UUID(county.town["id"]))
        week = service.week_of(local_today())
        figures = await service.figures(session, unit_ids, week, week + timedelta(days=6), Policy())
    assert figures.open_by_risk.model_dump() == {"high": 0, "medium": 0, "low": 2}
    assert figures.high_risk_open == 0 and figures.open_overdue == 1
    assert (figures.screened, figures.resolved, figures.converted) == (7, 3, 1)
    assert figures.resolution_rate.model_dump() == {"numerator": 3, "denominator": 5, "rate": 0.6}
    assert figures.resolution_target == 0.8 and figures.meets_target is False
    assert (figures.rounds_owed, figures.rounds_filed, figures.rounds_missed) == (1, 1, 0)
