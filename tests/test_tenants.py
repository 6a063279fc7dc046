"""One deployment for a city (issue 24): counties as tenants under a city, their own admins
confined to them, and a policy per subtree."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.kit.timeutil import CHINA
from api.reports.service import current_period
from tests.conftest import County, arrivals, higher_office, login, make_county, visit_body


async def _unit(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, level: str, parent: Any
) -> httpx.Response:
    body = {"name": f"{name}-{uuid.uuid4().hex[:6]}", "level": level, "parent_id": parent}
    return await client.post("/v1/units", json=body, headers=headers)


async def _official_of(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any], role: str
) -> dict[str, str]:
    """A new official of `unit` in `role` (`admin`: the unit's 系统管理员), logged in."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "unit_id": unit["id"],
        "role": role,
        "username": name,
        "password": "tenant-password-long-1",
    }
    made = await client.post("/v1/officials", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return await login(client, name, "tenant-password-long-1")


class City:
    """A city with two counties, and an admin for each county."""

    def __init__(self, city: dict[str, Any], a: County, b: County) -> None:
        self.city, self.a, self.b = city, a, b
        self.admin_a: dict[str, str] = {}
        self.admin_b: dict[str, str] = {}


@pytest.fixture
async def city(client: httpx.AsyncClient, admin: dict[str, str]) -> City:
    """A city (市) and two of its counties, made by the deployment's admin."""
    made = await _unit(client, admin, "青州市", "city", None)
    assert made.status_code == 201, made.text
    city = made.json()
    found = City(
        city, await make_county(client, admin, city), await make_county(client, admin, city)
    )
    found.admin_a = await _official_of(client, admin, found.a.county, "admin")
    found.admin_b = await _official_of(client, admin, found.b.county, "admin")
    return found


async def test_the_tree_takes_provinces_and_cities_in_their_order(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    province = (await _unit(client, admin, "江东省", "province", None)).json()
    city = await _unit(client, admin, "江城市", "city", province["id"])
    assert city.status_code == 201, city.text
    county = await _unit(client, admin, "江县", "county", city.json()["id"])
    assert county.status_code == 201, county.text
    # a city under a county, a province under a city: refused at the parent
    wrong = await _unit(client, admin, "错市", "city", county.json()["id"])
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "/parent_id"
    wrong = await _unit(client, admin, "错省", "province", city.json()["id"])
    assert wrong.status_code == 422


async def test_a_county_admin_keeps_to_their_county(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    a, b = city.a, city.b
    # their own county: a town, an official, a service token
    town = await _unit(client, city.admin_a, "新镇", "town", a.county["id"])
    assert town.status_code == 201, town.text
    staff = {
        "name": "新镇信访干部",
        "unit_id": town.json()["id"],
        "role": "petition_staff",
        "username": f"staff-{uuid.uuid4().hex[:8]}",
        "password": "staff-password-long-1",
    }
    assert (await client.post("/v1/officials", json=staff, headers=city.admin_a)).status_code == 201
    # the other county does not exist for them
    other = await _unit(client, city.admin_a, "越界镇", "town", b.county["id"])
    assert other.status_code == 422
    moved = await client.patch(
        f"/v1/units/{b.town['id']}", json={"name": "改名"}, headers=city.admin_a
    )
    assert moved.status_code == 404
    b_chief = b.officials["town_chief"]["id"]
    changed = await client.patch(
        f"/v1/officials/{b_chief}", json={"name": "改名"}, headers=city.admin_a
    )
    assert changed.status_code == 404
    listed = await client.get("/v1/officials", params={"limit": 200}, headers=city.admin_a)
    assert b_chief not in {o["id"] for o in listed.json()["items"]}
    # nor does the city above them, to change; a new root is the deployment's admin's
    renamed = await client.patch(
        f"/v1/units/{city.city['id']}", json={"name": "改名"}, headers=city.admin_a
    )
    assert renamed.status_code == 404
    root = await _unit(client, city.admin_a, "新县", "county", None)
    assert root.status_code == 403
    # admins are the deployment's admin's to appoint
    boss = {**staff, "username": f"boss-{uuid.uuid4().hex[:8]}", "role": "admin"}
    boss["unit_id"] = a.county["id"]
    assert (await client.post("/v1/officials", json=boss, headers=city.admin_a)).status_code == 403
    # and their cases: none of the other county's
    case = await client.post(
        "/v1/cases",
        json=visit_body(b.village2, b.town, 3),
        headers=await b.headers(client, "town_staff"),
    )
    assert case.status_code == 201, case.text
    read = await client.get(f"/v1/cases/{case.json()['id']}", headers=city.admin_a)
    assert read.status_code == 404
    # the deployment's policy and its national calendar are not theirs
    policy = (await client.get("/v1/policies", headers=city.admin_a)).json()["policy"]
    assert (await client.put("/v1/policies", json=policy, headers=city.admin_a)).status_code == 403
    day = await client.put(
        "/v1/calendar/2031-10-08", json={"is_workday": True}, headers=city.admin_a
    )
    assert day.status_code == 403
    # nor the vocabulary every county files under, nor the registry of higher offices
    category = await client.put(
        "/v1/categories/land.quarry",
        json={"name": "采石", "name_en": "Quarrying"},
        headers=city.admin_a,
    )
    assert category.status_code == 403, category.text
    office, _ = await higher_office(client, admin, a.county)
    renamed = await client.patch(
        f"/v1/higher-offices/{office['id']}", json={"name": "改名"}, headers=city.admin_a
    )
    assert renamed.status_code == 403
    # the audit trail: what their county's officials did, not the other county's
    trail = await client.get("/v1/audit", params={"limit": 200}, headers=city.admin_a)
    assert trail.status_code == 200, trail.text
    actors = {e["official_id"] for e in trail.json()["items"]}
    assert b.officials["town_staff"]["id"] not in actors
    assert None not in actors


def _span_minutes(deadline: dict[str, Any]) -> float:
    start = datetime.fromisoformat(deadline["starts_at"])
    due = datetime.fromisoformat(deadline["due_at"])
    return (due - start).total_seconds() / 60


async def _chief_arrival(
    client: httpx.AsyncClient, county: County, headers: dict[str, str]
) -> float:
    case = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=headers
    )
    assert case.status_code == 201, case.text
    chief = county.officials["village2_chief"]["id"]
    return _span_minutes(next(d for d in arrivals(case.json()) if d["official_id"] == chief))


async def test_a_county_sets_its_own_values_and_the_nearest_override_wins(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    a, b = city.a, city.b
    staff_a = await a.headers(client, "town_staff")
    staff_b = await b.headers(client, "town_staff")
    assert await _chief_arrival(client, a, staff_a) == 20
    # the city sets 40 minutes for both counties; county A its own 45 minutes
    city_put = await client.put(
        f"/v1/policies/units/{city.city['id']}",
        json={"arrival": {"chief": "PT40M"}, "max_representatives": 4},
        headers=admin,
    )
    assert city_put.status_code == 200, city_put.text
    put = await client.put(
        f"/v1/policies/units/{a.county['id']}",
        json={"arrival": {"chief": "PT45M"}},
        headers=city.admin_a,
    )
    assert put.status_code == 200, put.text
    assert put.json()["override"] == {"arrival": {"chief": "PT45M"}}
    try:
        assert await _chief_arrival(client, a, staff_a) == 45
        assert await _chief_arrival(client, b, staff_b) == 40
        # where each value comes from, read at a village of A
        read = await client.get(f"/v1/policies/units/{a.village2['id']}", headers=staff_a)
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["policy"]["arrival"]["chief"] == "PT45M"
        assert body["policy"]["arrival"]["staff"] == "PT30M"  # the deployment's
        assert body["policy"]["max_representatives"] == 4
        sources = {s["pointer"]: s["unit_id"] for s in body["sources"]}
        assert sources == {
            "/arrival/chief": a.county["id"],
            "/max_representatives": city.city["id"],
        }
        # county B's admin cannot touch A's values, nor the city's
        for unit in (a.county, city.city):
            refused = await client.put(
                f"/v1/policies/units/{unit['id']}",
                json={"arrival": {"chief": "PT5M"}},
                headers=city.admin_b,
            )
            assert refused.status_code == 404
        # bad values are refused at their pointer, and nothing changes
        bad = await client.put(
            f"/v1/policies/units/{a.county['id']}",
            json={"arrival": {"chief": "soon"}},
            headers=city.admin_a,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["pointer"].startswith("/arrival/chief")
        unknown = await client.put(
            f"/v1/policies/units/{a.county['id']}", json={"arival": {}}, headers=city.admin_a
        )
        assert unknown.status_code == 422
        assert await _chief_arrival(client, a, staff_a) == 45
        # the history: who set what, newest first; B's admin does not see A's changes
        changes = await client.get("/v1/policies/changes", headers=city.admin_a)
        assert changes.status_code == 200, changes.text
        mine = [c for c in changes.json()["items"] if c["unit_id"] == a.county["id"]]
        assert mine[0]["document"] == {"arrival": {"chief": "PT45M"}}
        assert mine[0]["changed_by"] is not None
        theirs = (await client.get("/v1/policies/changes", headers=city.admin_b)).json()
        assert a.county["id"] not in {c["unit_id"] for c in theirs["items"]}
    finally:
        for unit, headers in ((a.county, city.admin_a), (city.city, admin)):
            dropped = await client.delete(f"/v1/policies/units/{unit['id']}", headers=headers)
            assert dropped.status_code == 200, dropped.text
    assert await _chief_arrival(client, a, staff_a) == 20
    gone = await client.delete(f"/v1/policies/units/{a.county['id']}", headers=city.admin_a)
    assert gone.status_code == 404


async def test_a_change_above_that_breaks_a_county_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], city: City, policy_restore: None
) -> None:
    # county A's sensitive periods may only shorten its arrival times: a deployment document
    # whose own chief time is shorter than what A's period sets breaks A's policy
    a = city.a
    put = await client.put(
        f"/v1/policies/units/{a.county['id']}",
        json={"arrival": {"chief": "PT10M"}},
        headers=city.admin_a,
    )
    assert put.status_code == 200, put.text
    try:
        policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
        policy["collective_headcount"] = 7
        saved = await client.put("/v1/policies", json=policy, headers=admin)
        assert saved.status_code == 200, saved.text
        read = await client.get(f"/v1/policies/units/{a.county['id']}", headers=admin)
        assert read.json()["policy"]["collective_headcount"] == 7
        assert read.json()["policy"]["arrival"]["chief"] == "PT10M"
    finally:
        await client.delete(f"/v1/policies/units/{a.county['id']}", headers=city.admin_a)


async def test_the_city_bureau_sees_the_sum_of_its_counties(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    a, b = city.a, city.b
    for county, count in ((a, 2), (b, 3)):
        staff = await county.headers(client, "town_staff")
        for _ in range(count):
            made = await client.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
            assert made.status_code == 201, made.text
    bureau_headers = await _official_of(client, admin, city.city, "petition_staff")

    async def summary(unit: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        got = await client.get("/v1/stats/summary", params={"unit_id": unit["id"]}, headers=headers)
        assert got.status_code == 200, got.text
        return dict(got.json())

    whole = await summary(city.city, bureau_headers)
    parts = [await summary(c.county, admin) for c in (a, b)]
    assert [p["cases"] for p in parts] == [2, 3]
    assert whole["cases"] == 5
    for key in ("by_status", "by_channel", "by_category", "by_lodged_level"):
        summed: dict[str, int] = {}
        for part in parts:
            for name, n in part[key].items():
                summed[name] = summed.get(name, 0) + n
        assert {k: v for k, v in whole[key].items() if v} == {k: v for k, v in summed.items() if v}
    assert whole["collective"] == sum(p["collective"] for p in parts)
    ranked = await client.get(
        "/v1/stats/units", params={"unit_id": city.city["id"]}, headers=bureau_headers
    )
    assert ranked.status_code == 200, ranked.text
    rows = {r["unit"]["id"]: r["summary"] for r in ranked.json()["items"]}
    assert rows[a.county["id"]]["cases"] == 2 and rows[b.county["id"]]["cases"] == 3


async def test_a_city_bureau_reads_its_own_cases_and_a_county_s_only_when_granted(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    a = city.a
    staff = await a.headers(client, "town_staff")
    county_case = await client.post(
        "/v1/cases", json=visit_body(a.village2, a.town, 3), headers=staff
    )
    assert county_case.status_code == 201, county_case.text
    # petitioners of A's village who went to the city's bureau (越级访)
    at_the_city = await client.post(
        "/v1/cases", json=visit_body(a.village2, city.city, 3), headers=staff
    )
    assert at_the_city.status_code == 201, at_the_city.text
    assert at_the_city.json()["lodged_level"] == "city"
    reader = await _official_of(client, admin, city.city, "petition_staff")
    mine = await client.get(f"/v1/cases/{at_the_city.json()['id']}", headers=reader)
    assert mine.status_code == 200, mine.text
    theirs = await client.get(f"/v1/cases/{county_case.json()['id']}", headers=reader)
    assert theirs.status_code == 404
    listed = await client.get("/v1/cases", params={"limit": 200}, headers=reader)
    assert county_case.json()["id"] not in {c["id"] for c in listed.json()["items"]}
    # the city's bureau as a higher office (its system's token) hands a case down to A: its
    # officials read it; an office must be a unit of its own level
    wrong = await client.post(
        "/v1/higher-offices",
        json={"name": "错", "level": "province", "code": "x-1", "unit_id": city.city["id"]},
        headers=admin,
    )
    assert wrong.status_code == 422
    _, system = await higher_office(client, admin, a.county, office_unit=city.city)
    handed = await client.post(
        "/v1/transfers",
        json={
            "kind": "assigned",
            "reference": f"QZ-{uuid.uuid4().hex[:6]}",
            "petitioners": [{"name": "王五"}],
            "title": "宅基地纠纷",
            "content": "界址争议",
        },
        headers=system,
    )
    assert handed.status_code == 201, handed.text
    down = await client.get(f"/v1/cases/{handed.json()['case_id']}", headers=reader)
    assert down.status_code == 200, down.text
    # the city's policy grants its bureau the subtree's cases
    granted = await client.put(
        f"/v1/policies/units/{city.city['id']}",
        json={"bureaus": {"read_subtree_cases": True}},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text
    try:
        theirs = await client.get(f"/v1/cases/{county_case.json()['id']}", headers=reader)
        assert theirs.status_code == 200, theirs.text
    finally:
        await client.delete(f"/v1/policies/units/{city.city['id']}", headers=admin)


async def test_the_sweep_opens_report_deadlines_on_each_county_s_own_days(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    city: City,
    worker_headers: dict[str, str],
) -> None:
    officers = {}
    for key, county in (("a", city.a), ("b", city.b)):
        body = {
            "name": f"信息员-{key}",
            "unit_id": county.village2["id"],
            "role": "info_officer",
        }
        made = await client.post("/v1/officials", json=body, headers=admin)
        assert made.status_code == 201, made.text
        officers[key] = made.json()["id"]
    put = await client.put(
        f"/v1/policies/units/{city.a.county['id']}",
        json={"reports": {"days_of_month": [7]}},
        headers=city.admin_a,
    )
    assert put.status_code == 200, put.text
    # the city overrides something else: its territory holds county B, not county A
    above = await client.put(
        f"/v1/policies/units/{city.city['id']}", json={"max_representatives": 4}, headers=admin
    )
    assert above.status_code == 200, above.text
    try:
        swept = await client.post("/v1/internal/sweep", headers=worker_headers)
        assert swept.status_code == 200, swept.text
    finally:
        await client.delete(f"/v1/policies/units/{city.a.county['id']}", headers=city.admin_a)
        await client.delete(f"/v1/policies/units/{city.city['id']}", headers=admin)
    today = datetime.now(UTC).astimezone(CHINA).date()
    for key, days in (("a", [7]), ("b", [15, 30])):
        rows = (
            await client.get(
                "/v1/deadlines",
                params={"kind": "report", "official_id": officers[key]},
                headers=admin,
            )
        ).json()["items"]
        assert len(rows) == 1, rows
        due = datetime.fromisoformat(rows[0]["due_at"]).astimezone(CHINA).date()
        assert due == current_period(today, days)[1], (key, due)


async def test_a_county_words_its_own_summons(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    a, b = city.a, city.b
    wording = "【城关到位】{case_number}:请于{due_local}前到场({within}内)。"
    put = await client.put(
        f"/v1/policies/units/{a.county['id']}",
        json={"templates": {"summons": wording}},
        headers=city.admin_a,
    )
    assert put.status_code == 200, put.text
    try:
        texts = {}
        for key, county in (("a", a), ("b", b)):
            staff = await county.headers(client, "town_staff")
            case = await client.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
            assert case.status_code == 201, case.text
            alerts = await client.get(
                "/v1/alerts", params={"case_id": case.json()["id"]}, headers=admin
            )
            texts[key] = [x["text"] for x in alerts.json()["items"] if x["purpose"] == "summons"]
        assert texts["a"] and all(t.startswith("【城关到位】") for t in texts["a"])
        assert texts["b"] and all(t.startswith("【到位通知】") for t in texts["b"])
    finally:
        await client.delete(f"/v1/policies/units/{a.county['id']}", headers=city.admin_a)


async def test_a_city_reads_each_countys_veto_by_that_countys_thresholds(
    client: httpx.AsyncClient, admin: dict[str, str], city: City
) -> None:
    """The veto over a city judges each village by its own county's rules: county B lets a
    village have one collective visit at the county before it is vetoed (at least 2)."""
    a, b = city.a, city.b
    rules = [
        {**r, "at_least": 2} if r["key"] == "village_county" else r
        for r in (await client.get("/v1/policies", headers=admin)).json()["policy"]["veto"]["rules"]
    ]
    put = await client.put(
        f"/v1/policies/units/{b.county['id']}", json={"veto": {"rules": rules}}, headers=admin
    )
    assert put.status_code == 200, put.text
    try:
        for county in (a, b):
            staff = await county.headers(client, "county_staff")
            made = await client.post(
                "/v1/cases", json=visit_body(county.village2, county.county, 6), headers=staff
            )
            assert made.status_code == 201, made.text
        got = await client.get("/v1/stats/veto", params={"unit_id": city.city["id"]}, headers=admin)
        assert got.status_code == 200, got.text
        units = {u["unit_id"]: u for u in got.json()["units"]}

        def village_rule(county: County) -> dict[str, Any]:
            unit = units[county.village2["id"]]
            rule = next(r for r in unit["rules"] if r["key"] == "village_county")
            return {**rule, "vetoed": unit["vetoed"]}

        assert village_rule(a) | {"case_ids": None} == {
            **village_rule(a),
            "count": 1,
            "at_least": 1,
            "applies": True,
            "vetoed": True,
            "case_ids": None,
        }
        assert village_rule(b)["count"] == 1 and village_rule(b)["at_least"] == 2
        assert village_rule(b)["applies"] is False and village_rule(b)["vetoed"] is False
    finally:
        dropped = await client.delete(f"/v1/policies/units/{b.county['id']}", headers=admin)
        assert dropped.status_code == 200, dropped.text
