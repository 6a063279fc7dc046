"""On-site reception duties (赴现场接待, issue 20 §1; seed 001 第二篇 (七), (八)): a visit lodged at
the province or in Beijing sends the officials of the unit concerned to receive the petitioners
in person, and the matter is settled at home (事要解决: assigned with an owner leader) by the
policy's date; each step has its deadline and escalation. The duty records what the officials
did; nothing in it follows the petitioners."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import County, act, arrivals, miss_now, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")


def _above(county: County, level: str, headcount: int) -> dict[str, Any]:
    return {
        **visit_body(county.village, county.town, headcount),
        "lodged_unit_id": None,
        "lodged_level": level,
    }


async def _duties(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    resp = await client.get("/v1/reception/onsite-duties", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def test_a_visit_in_beijing_opens_a_duty_settled_by_assignment_with_an_owner_leader(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    resp = await client.post("/v1/cases", json=_above(county, "national", 30), headers=staff)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    goers = {d["official_id"] for d in arrivals(case)}
    expected = {
        county.officials[k]["id"] for k in ("town_staff", "area_chief", "town_deputy", "town_chief")
    }
    assert goers == expected
    settle = next(d for d in case["deadlines"] if d["kind"] == "onsite_settlement")
    assert settle["official_id"] == county.officials["town_chief"]["id"]
    assert settle["unit_id"] == county.town["id"]

    [duty] = await _duties(client, staff, case_id=case["id"])
    assert (duty["level"], duty["unit_id"], duty["case_number"]) == (
        "national",
        county.town["id"],
        case["number"],
    )
    assert {g["official_id"] for g in duty["goers"]} == expected
    assert duty["settle_status"] == "open" and duty["settled_at"] is None
    assert datetime.fromisoformat(duty["settle_due_at"]) == datetime.fromisoformat(settle["due_at"])
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    assert "onsite_duty_opened" in [e["action"] for e in timeline]

    # the town's petition officer reports reaching and receiving them
    town_staff = await county.headers(client, "town_staff")
    arrived = await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=town_staff)
    assert arrived.status_code == 201, arrived.text
    [duty] = await _duties(client, staff, case_id=case["id"])
    met = {g["official_id"]: g for g in duty["goers"]}[county.officials["town_staff"]["id"]]
    assert met["status"] == "met" and met["met_at"]

    # assigned at home, then an owner leader: settled, once both are done
    await act(client, staff, case, "accept", {})
    assignment = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "入户核实",
        "time_limit_days": 30,
    }
    await act(client, staff, case, "assign", assignment)
    [duty] = await _duties(client, staff, case_id=case["id"], open="true")
    assert duty["settle_status"] == "open"
    await act(
        client,
        staff,
        case,
        "set_owner_leader",
        {"official_id": county.officials["town_deputy"]["id"]},
    )
    assert await _duties(client, staff, case_id=case["id"], open="true") == []
    [duty] = await _duties(client, staff, case_id=case["id"], open="false")
    assert duty["settle_status"] == "met" and duty["settled_at"]


async def test_only_the_policys_levels_open_a_duty(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "county_staff")
    city = (await client.post("/v1/cases", json=_above(county, "city", 30), headers=staff)).json()
    assert "onsite_settlement" not in {d["kind"] for d in city["deadlines"]}
    assert await _duties(client, staff, case_id=city["id"]) == []
    province = (
        await client.post("/v1/cases", json=_above(county, "province", 3), headers=staff)
    ).json()
    assert len(await _duties(client, staff, case_id=province["id"])) == 1

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["deadlines"]["onsite_levels"] = ["national"]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    later = (
        await client.post("/v1/cases", json=_above(county, "province", 3), headers=staff)
    ).json()
    assert await _duties(client, staff, case_id=later["id"]) == []
    # a letter to Beijing sends nobody on site
    letter = {**_above(county, "national", 2), "channel": "letter"}
    written = (await client.post("/v1/cases", json=letter, headers=staff)).json()
    assert await _duties(client, staff, case_id=written["id"]) == []


async def test_a_settlement_not_made_in_time_escalates_and_outsiders_see_no_duty(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "county_staff")
    case = (
        await client.post("/v1/cases", json=_above(county, "national", 6), headers=staff)
    ).json()
    settle = next(d for d in case["deadlines"] if d["kind"] == "onsite_settlement")
    await miss_now(app, client, worker_headers, settle["id"])
    steps = (
        await client.get("/v1/escalations", params={"deadline_id": settle["id"]}, headers=admin)
    ).json()["items"]
    assert [s["step"] for s in steps] == [0] and steps[0]["recipients"]
    [duty] = await _duties(client, staff, case_id=case["id"])
    assert duty["settle_status"] == "missed"
    # the month's bulletin criticises the town's chief for it (事要解决超期), in JSON and CSV
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    params = {"unit_id": county.county["id"], "month": month}
    bulletin = await client.get("/v1/reports/monthly", params=params, headers=admin)
    assert bulletin.status_code == 200, bulletin.text
    [missed] = bulletin.json()["criticism"]["missed_settlements"]
    assert (missed["deadline_id"], missed["official_id"]) == (
        settle["id"],
        county.officials["town_chief"]["id"],
    )
    printed = await client.get(
        "/v1/reports/monthly", params=params, headers={**admin, "Accept": "text/csv"}
    )
    assert "事要解决超期" in printed.content.decode("utf-8-sig")
    # a village chief below the town does not see the duty of the town's case
    village = await county.headers(client, "village2_chief")
    assert await _duties(client, village, case_id=case["id"]) == []
