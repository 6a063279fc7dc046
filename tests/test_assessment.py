"""One-vote veto (一票否决, seed 000 rule 8) and scores (考评细则, seed 001), computed by hand
from seeded cases, rule by rule. Each test works in a fresh county, so its counts are its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from api.kit.timeutil import CHINA
from api.models.deadline import Deadline
from tests.conftest import (
    County,
    arrivals,
    deadline_status,
    flag_due,
    login,
    status_of,
    visit_body,
)

YEAR = datetime.now(CHINA).year
AT_COUNTY_OR_ABOVE = ["county", "city", "province", "national"]


def _petitioners() -> list[dict[str, Any]]:
    # A new phone number each time: the same petitioners on the same matter would be linked
    # as a repeat petition (重复访), which is its own scoring event.
    return [
        {"name": "王五", "phone": f"137{uuid.uuid4().int % 10**8:08d}", "is_representative": True}
    ]


async def _visit(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    origin: dict[str, Any],
    lodged: dict[str, Any] | str,
    headcount: int = 6,
    *,
    channel: str = "visit",
    petitioners: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Register a visit from `origin` to the unit `lodged`, or to a level above the county."""
    if isinstance(lodged, str):
        body = visit_body(origin, origin, headcount)
        body.pop("lodged_unit_id")
        body["lodged_level"] = lodged
    else:
        body = visit_body(origin, lodged, headcount)
    body["channel"] = channel
    body["petitioners"] = petitioners or _petitioners()
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _veto(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any], year: int = YEAR
) -> dict[str, dict[str, Any]]:
    resp = await client.get(
        "/v1/stats/veto", params={"year": year, "unit_id": unit["id"]}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["year"] == year
    return {u["unit_id"]: u for u in body["units"]}


async def _scores(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any], year: int = YEAR
) -> dict[str, dict[str, Any]]:
    resp = await client.get(
        "/v1/stats/scores", params={"year": year, "unit_id": unit["id"]}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return {u["unit_id"]: u for u in resp.json()["units"]}


def _rule(unit: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in unit["rules"] if r["key"] == key)


def _section(unit: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in unit["sections"] if s["key"] == key)


def _count(unit: dict[str, Any], level: str) -> int:
    return int(next(c["count"] for c in unit["counts"] if c["lodged_level"] == level))


async def _department(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A department under the county (国土所) and its head."""
    tag = uuid.uuid4().hex[:6]
    unit = await client.post(
        "/v1/units",
        json={"name": f"国土所-{tag}", "level": "department", "parent_id": county.county["id"]},
        headers=admin,
    )
    assert unit.status_code == 201, unit.text
    head = await client.post(
        "/v1/officials",
        json={
            "name": f"所长-{tag}",
            "unit_id": unit.json()["id"],
            "role": "dept_head",
            "username": f"dept-{tag}",
            "password": "dept-password",
        },
        headers=admin,
    )
    assert head.status_code == 201, head.text
    return unit.json(), head.json()


async def _assign(
    client: httpx.AsyncClient,
    county: County,
    case: dict[str, Any],
    unit: dict[str, Any],
    handler: dict[str, Any],
) -> None:
    staff = await county.headers(client, "county_staff")
    accepted = await client.post(f"/v1/cases/{case['id']}/accept", json={}, headers=staff)
    assert accepted.status_code == 200, accepted.text
    assigned = await client.post(
        f"/v1/cases/{case['id']}/assign",
        json={
            "unit_id": unit["id"],
            "leader_id": county.officials["county_chief"]["id"],
            "handler_id": handler["id"],
            "plan": "核实补偿款发放情况",
            "time_limit_days": 30,
        },
        headers=staff,
    )
    assert assigned.status_code == 200, assigned.text


# --- one-vote veto (seed 000 rule 8) -----------------------------------------------------


async def test_area_is_vetoed_from_the_third_collective_visit_at_the_town(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """8(1)①: 管理区年内累计到街道群体上访3次(含3次)以上."""
    first = await _visit(client, admin, county.village, county.town)
    second = await _visit(client, admin, county.area, county.town)
    # Not collective (4 < 5), and a collective letter: neither is a collective visit.
    await _visit(client, admin, county.village, county.town, headcount=4)
    await _visit(client, admin, county.village, "town", channel="letter")

    units = await _veto(client, admin, county.county)
    area = units[county.area["id"]]
    assert _count(area, "town") == 2
    assert _rule(area, "area_town") | {"case_ids": None} == {
        **_rule(area, "area_town"),
        "count": 2,
        "applies": False,
        "at_least": 3,
        "case_ids": None,
    }
    assert area["vetoed"] is False
    # the village's own visit at the town: no rule for villages below the county
    village = units[county.village["id"]]
    assert _count(village, "town") == 1 and village["vetoed"] is False
    assert county.town["id"] not in units  # the veto names areas, villages and departments

    third = await _visit(client, admin, county.village, county.town)
    area = (await _veto(client, admin, county.county))[county.area["id"]]
    rule = _rule(area, "area_town")
    assert rule["count"] == 3 and rule["applies"] is True
    assert set(rule["case_ids"]) == {first["id"], second["id"], third["id"]}
    assert area["vetoed"] is True
    assert _rule(area, "area_county")["applies"] is False
    assert _rule(area, "area_city")["applies"] is False


async def test_area_is_vetoed_from_the_second_visit_at_the_county_and_a_village_from_the_first(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """8(1)②: 管理区到区群体上访2次(含2次)以上; 8(2): 村(居)到区以上(含区级)群体上访1次."""
    first = await _visit(client, admin, county.village, county.county)
    units = await _veto(client, admin, county.county)
    area, village = units[county.area["id"]], units[county.village["id"]]
    assert _rule(area, "area_county")["count"] == 1 and area["vetoed"] is False
    assert _rule(village, "village_county")["case_ids"] == [first["id"]]
    assert village["vetoed"] is True
    assert units[county.village2["id"]]["vetoed"] is False

    second = await _visit(client, admin, county.area, county.county)
    units = await _veto(client, admin, county.county)
    area = units[county.area["id"]]
    assert set(_rule(area, "area_county")["case_ids"]) == {first["id"], second["id"]}
    assert area["vetoed"] is True
    # the second visit came from the area itself, not from the village
    assert _rule(units[county.village["id"]], "village_county")["count"] == 1


async def test_one_collective_visit_at_the_city_or_above_vetoes_the_area_and_the_village(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """8(1)③: 管理区年内到市级(含市级)以上群体上访1次以上; 8(2) for the village."""
    city = await _visit(client, admin, county.village, "city")
    units = await _veto(client, admin, county.county)
    area, village = units[county.area["id"]], units[county.village["id"]]
    assert _rule(area, "area_city") | {"description": ""} == {
        "key": "area_city",
        "description": "",
        "lodged_levels": ["city", "province", "national"],
        "at_least": 1,
        "count": 1,
        "applies": True,
        "case_ids": [city["id"]],
    }
    assert area["vetoed"] is True and village["vetoed"] is True
    assert _rule(village, "village_county")["lodged_levels"] == AT_COUNTY_OR_ABOVE
    # a village directly under the town with a visit to Beijing
    beijing = await _visit(client, admin, county.village2, "national")
    village2 = (await _veto(client, admin, county.county))[county.village2["id"]]
    assert _count(village2, "national") == 1
    assert _rule(village2, "village_county")["case_ids"] == [beijing["id"]]
    assert village2["vetoed"] is True


async def test_a_department_is_vetoed_for_a_visit_at_the_county_assigned_to_it(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """8(3): 涉访部门…造成群众到区以上(含区级)群体上访: the department the case is assigned
    to (归口办理) answers for it; one at the town does not count."""
    land, head = await _department(client, admin, county)
    forestry, _ = await _department(client, admin, county)
    at_county = await _visit(client, admin, county.village2, county.county)
    at_town = await _visit(client, admin, county.village2, county.town)
    units = await _veto(client, admin, county.county)
    assert units[land["id"]]["vetoed"] is False  # not assigned yet: nobody's department

    await _assign(client, county, at_county, land, head)
    await _assign(client, county, at_town, land, head)
    units = await _veto(client, admin, county.county)
    rule = _rule(units[land["id"]], "department_county")
    assert rule["case_ids"] == [at_county["id"]] and rule["applies"] is True
    assert _count(units[land["id"]], "town") == 1
    assert units[land["id"]]["vetoed"] is True
    assert units[forestry["id"]]["vetoed"] is False


async def test_veto_counts_the_year_asked_and_follows_the_policy(
    client: httpx.AsyncClient, admin: dict[str, str], county: County, policy_restore: None
) -> None:
    await _visit(client, admin, county.village, county.town)
    await _visit(client, admin, county.village, county.town)
    last_year = (await _veto(client, admin, county.county, YEAR - 1))[county.area["id"]]
    assert _count(last_year, "town") == 0

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    next(r for r in doc["veto"]["rules"] if r["key"] == "area_town")["at_least"] = 2
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    area = (await _veto(client, admin, county.county))[county.area["id"]]
    assert _rule(area, "area_town")["at_least"] == 2 and area["vetoed"] is True


async def test_veto_and_scores_stay_in_the_callers_territory(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    village_chief = await county.headers(client, "village_chief")
    for path in ("/v1/stats/veto", "/v1/stats/scores"):
        own = await client.get(path, params={"year": YEAR}, headers=village_chief)
        assert own.status_code == 200, own.text
        assert [u["unit_id"] for u in own.json()["units"]] == [county.village["id"]]
        for unit_id in (county.county["id"], county.village2["id"], str(uuid.uuid4())):
            refused = await client.get(path, params={"unit_id": unit_id}, headers=village_chief)
            assert refused.status_code == 404, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        bad = await client.get(path, params={"year": 1999}, headers=village_chief)
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"

    town_staff = await county.headers(client, "town_staff")
    units = await _veto(client, town_staff, county.area)
    assert set(units) == {county.area["id"], county.village["id"]}


# --- scores (seed 001 第一篇) -------------------------------------------------------------


async def test_first_collective_visit_at_the_county_with_the_chiefs_in_time_costs_5(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """(五).2: 来县集体上访初访,主要领导能及时赶到现场…人员及时疏散的扣5分."""
    case = await _visit(client, admin, county.village, county.county)
    chiefs = [d for d in arrivals(case) if d["role"] == "chief"]
    # the town's chief too: the unit concerned by a collective visit at the county (issue 20)
    assert {d["unit_id"] for d in chiefs} == {
        county.village["id"],
        county.area["id"],
        county.town["id"],
    }
    for key in ("village_chief", "area_chief", "town_chief"):
        came = await client.post(
            f"/v1/cases/{case['id']}/arrivals", json={}, headers=await county.headers(client, key)
        )
        assert came.json()["on_time"] is True, came.text

    units = await _scores(client, admin, county.county)
    for unit in (county.village, county.area, county.town):  # 属地: each level answers
        scored = units[unit["id"]]
        assert scored["score"] == 95 and scored["maximum"] == 100
        assert _section(scored, "五") | {"name": ""} == {
            "key": "五",
            "name": "",
            "maximum": 80,
            "deducted": 5,
            "score": 75,
            "assessed": True,
        }
        (deduction,) = scored["deductions"]
        assert deduction["event"] == "county_collective_first_dispersed"
        assert deduction["case_id"] == case["id"] and deduction["case_number"] == case["number"]
        assert set(deduction["deadline_ids"]) == {d["id"] for d in chiefs}
    assert units[county.village2["id"]]["score"] == 100
    assert units[county.village2["id"]]["rank"] == 1
    assert _section(units[county.village2["id"]], "一")["assessed"] is False
    assert county.county["id"] not in units  # the county is the one scoring


async def test_first_collective_visit_at_the_county_with_a_chief_late_costs_20(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    """(五).2: …人员滞留1个小时以上的扣20分 (a chief's missed arrival stands for it)."""
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    case = await _visit(client, admin, county.village, county.county)
    await asyncio.sleep(1.1)
    village_deadline = next(d for d in arrivals(case) if d["unit_id"] == county.village["id"])
    await flag_due(client, worker_headers)
    assert await deadline_status(client, admin, village_deadline) == "missed"

    units = await _scores(client, admin, county.county)
    village = units[county.village["id"]]
    (deduction,) = village["deductions"]
    assert deduction["event"] == "county_collective_first_stayed" and deduction["points"] == 20
    assert village_deadline["id"] in deduction["deadline_ids"]
    assert village["score"] == 80 and _section(village, "五")["score"] == 60
    assert units[county.town["id"]]["score"] == 80
    assert units[county.village2["id"]]["rank"] == 1
    assert units[county.village["id"]]["rank"] == 2


async def test_repeat_city_province_and_beijing_visits_and_the_floor_at_zero(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """(五).2: 来县重复集体上访、到市集体上访每批次扣30分; 赴省集体上访被登记每批次扣60分;
    赴京集体上访被登记每批次扣80分; the section stops at zero (扣完为止)."""
    people = _petitioners()
    first = await _visit(client, admin, county.village2, county.county, petitioners=people)
    repeat = await _visit(client, admin, county.village2, county.county, petitioners=people)
    assert repeat["is_repeat"] is True
    village2 = (await _scores(client, admin, county.county))[county.village2["id"]]
    points = {d["case_id"]: (d["event"], d["points"]) for d in village2["deductions"]}
    # the first visit's chiefs still have time to come: not (yet) a miss
    assert points == {
        first["id"]: ("county_collective_first_dispersed", 5),
        repeat["id"]: ("county_collective_repeat", 30),
    }
    assert village2["score"] == 100 - 35

    city = await _visit(client, admin, county.village, "city")
    province = await _visit(client, admin, county.area, "province")
    units = await _scores(client, admin, county.county)
    village, area = units[county.village["id"]], units[county.area["id"]]
    assert [(d["case_id"], d["points"]) for d in village["deductions"]] == [(city["id"], 30)]
    # the area's chief is summoned to the province now (issue 20) and has time yet: not a miss,
    # so 人员及时疏散 (40), as at the county
    assert {d["case_id"]: d["event"] for d in area["deductions"]} == {
        city["id"]: "city_collective",
        province["id"]: "province_collective_dispersed",
    }
    assert _section(area, "五")["deducted"] == 70 and _section(area, "五")["score"] == 10
    assert area["score"] == 30
    town = units[county.town["id"]]
    assert _section(town, "五")["deducted"] == 5 + 30 + 30 + 40
    assert town["score"] == 20

    beijing = await _visit(client, admin, county.village, "national")
    village = (await _scores(client, admin, county.county))[county.village["id"]]
    assert {d["case_id"]: d["points"] for d in village["deductions"]} == {
        city["id"]: 30,
        beijing["id"]: 80,
    }
    assert _section(village, "五")["score"] == 0 and village["score"] == 20


async def test_a_department_loses_points_for_the_visits_assigned_to_it(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    land, head = await _department(client, admin, county)
    case = await _visit(client, admin, county.village2, "city")
    await _assign(client, county, case, land, head)
    department = (await _scores(client, admin, county.county))[land["id"]]
    assert [(d["event"], d["case_id"]) for d in department["deductions"]] == [
        ("city_collective", case["id"])
    ]
    assert department["score"] == 70


async def test_a_missed_situation_report_costs_1_in_section_four(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    """(四).2: 每漏报1次扣1分 (the twice-monthly situation report, 零隐报)."""
    username = f"info-{uuid.uuid4().hex[:6]}"
    officer = await client.post(
        "/v1/officials",
        json={
            "name": "信息员",
            "unit_id": county.village2["id"],
            "role": "info_officer",
            "username": username,
            "password": "info-password",
        },
        headers=admin,
    )
    assert officer.status_code == 201, officer.text
    assert (await client.post("/v1/internal/sweep", headers=worker_headers)).status_code == 200
    deadline = (
        await client.get(
            "/v1/deadlines",
            params={"kind": "report", "official_id": officer.json()["id"]},
            headers=admin,
        )
    ).json()["items"][0]
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == deadline["id"])
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    await flag_due(client, worker_headers)
    assert await status_of(app, deadline["id"]) == "missed"

    units = await _scores(client, admin, county.county)
    for unit in (county.village2, county.town):
        scored = units[unit["id"]]
        (deduction,) = scored["deductions"]
        assert deduction["event"] == "report_missed" and deduction["case_id"] is None
        assert deduction["deadline_ids"] == [deduction["deadline_ids"][0]] == [deadline["id"]]
        assert _section(scored, "四")["score"] == 4 and scored["score"] == 99
    assert units[county.area["id"]]["score"] == 100  # not its territory
    # the officer's own view is their village only
    mine = await client.get(
        "/v1/stats/scores",
        params={"year": YEAR},
        headers=await login(client, username, "info-password"),
    )
    assert [u["unit_id"] for u in mine.json()["units"]] == [county.village2["id"]]


async def test_the_rule_table_is_the_policys(
    client: httpx.AsyncClient, admin: dict[str, str], county: County, policy_restore: None
) -> None:
    await _visit(client, admin, county.village2, "national")
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    rule = next(r for r in doc["scoring"]["rules"] if r["event"] == "national_collective")
    rule["points"] = 12.5
    doc["scoring"]["unit_levels"] = ["village"]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    units = await _scores(client, admin, county.county)
    assert county.town["id"] not in units
    assert units[county.village2["id"]]["score"] == 87.5

    doc["scoring"]["rules"].append({**rule, "section": "九"})
    refused = await client.put("/v1/policies", json=doc, headers=admin)
    assert refused.status_code == 422


@pytest.mark.parametrize("path", ["/v1/stats/veto", "/v1/stats/scores"])
async def test_the_routes_declare_their_permission(app: FastAPI, path: str) -> None:
    assert app.openapi()["paths"][path]["get"]["x-permission"] == "read_cases"


async def test_a_poll_that_finds_nothing_new_gets_304(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    params = {"year": str(YEAR), "unit_id": county.county["id"]}
    etags = {}
    for path in ("/v1/stats/veto", "/v1/stats/scores"):
        etags[path] = (await client.get(path, params=params, headers=admin)).headers["etag"]
        polled = {**admin, "If-None-Match": etags[path]}
        assert (await client.get(path, params=params, headers=polled)).status_code == 304
    await _visit(client, admin, county.village, "city")
    for path, etag in etags.items():
        polled = {**admin, "If-None-Match": etag}
        changed = await client.get(path, params=params, headers=polled)
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != etag
