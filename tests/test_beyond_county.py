"""Visits above the county (issue 20 §1; seed 000 rule 3; seed 001 第二篇 (二), (七), (八)):
the unit the matter concerns (事涉单位: the origin's town and its area) is summoned, per the
policy's thresholds for the level where the petitioners went; never the office they went to,
and never the petitioners themselves (nothing here records where they are)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import County, act, arrivals, letter_body, miss_now, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")


def _above(county: County, level: str, headcount: int) -> dict[str, Any]:
    """A visit from the village under the area, lodged at `level` (no unit of ours)."""
    return {
        **visit_body(county.village, county.town, headcount),
        "lodged_unit_id": None,
        "lodged_level": level,
    }


async def _summoned(
    client: httpx.AsyncClient, county: County, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, tuple[str, timedelta]]]:
    """Register the visit; the case and who was summoned (official key → role, time given)."""
    staff = await county.headers(client, "county_staff")
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    keys = {str(o["id"]): key for key, o in county.officials.items()}
    out = {}
    for d in arrivals(case):
        span = datetime.fromisoformat(d["due_at"]) - datetime.fromisoformat(d["starts_at"])
        out[keys[d["official_id"]]] = (d["role"], span)
    return case, out


@pytest.mark.parametrize(
    ("level", "headcount", "expected", "within"),
    [
        # Beijing: the deputy in charge from 5 people, the chief from 20 (第二篇 (八).2)
        ("national", 30, {"town_staff", "area_chief", "town_deputy", "town_chief"}, 24),
        ("national", 4, {"town_staff", "area_chief"}, 24),
        # the province: the deputy from 20, the chief from 50 (第二篇 (七).2–3)
        ("province", 20, {"town_staff", "area_chief", "town_deputy"}, 12),
        ("province", 50, {"town_staff", "area_chief", "town_deputy", "town_chief"}, 12),
        # the city: staff within 30 minutes, the deputy for more than 20 (第二篇 (二).1)
        ("city", 21, {"town_staff", "area_chief", "town_deputy"}, 0.5),
        ("city", 20, {"town_staff", "area_chief"}, 0.5),
    ],
)
async def test_a_visit_above_the_county_summons_the_unit_concerned(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    level: str,
    headcount: int,
    expected: set[str],
    within: float,
) -> None:
    case, summoned = await _summoned(client, county, _above(county, level, headcount))
    assert case["lodged_level"] == level and case["lodged_unit_id"] is None
    assert set(summoned) == expected  # never the village's chief: that is for town and county
    assert {span for _, span in summoned.values()} == {timedelta(hours=within)}
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    assert {a["official_id"] for a in alerts if a["purpose"] == "summons"} == {
        county.officials[key]["id"] for key in expected
    }


async def test_a_visit_at_the_county_summons_the_area_and_the_town_too(
    county: County, client: httpx.AsyncClient
) -> None:
    """到区以上: the area, the town's petition office and its deputy in charge come rapidly
    (30 minutes), on top of the village chief's 20 minutes (seed 000 rule 3)."""
    body = visit_body(county.village, county.county, 3)
    _, summoned = await _summoned(client, county, body)
    assert summoned == {
        "village_chief": ("chief", timedelta(minutes=20)),
        "area_chief": ("chief", timedelta(minutes=20)),
        "town_staff": ("petition_staff", timedelta(minutes=30)),
        "town_deputy": ("deputy", timedelta(minutes=30)),
    }


async def test_a_visit_at_the_town_summons_as_before(
    county: County, client: httpx.AsyncClient
) -> None:
    """The town is no level of `arrival.concerned`: its village and area chiefs, and its own
    deputy from 21 people (the town is both the lodged and the concerned unit)."""
    _, small = await _summoned(client, county, visit_body(county.village, county.town, 3))
    assert set(small) == {"village_chief", "area_chief"}
    _, large = await _summoned(client, county, visit_body(county.village, county.town, 25))
    assert set(large) == {"village_chief", "area_chief", "town_deputy"}


async def test_the_thresholds_are_the_policys(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    national = doc["arrival"]["concerned"]["national"]
    assert (national["deputy_from"], national["chief_from"]) == (5, 20)
    assert doc["arrival"]["concerned"]["city"]["within"] == "PT30M"
    national.update(chief_from=100, area_chief=False, within="PT6H")
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    _, summoned = await _summoned(client, county, _above(county, "national", 30))
    assert set(summoned) == {"town_staff", "town_deputy"}
    assert {span for _, span in summoned.values()} == {timedelta(hours=6)}

    doc["arrival"]["concerned"]["town"] = national  # the town is not "above": refused
    refused = await client.put("/v1/policies", json=doc, headers=admin)
    assert refused.status_code == 422, refused.text
    del doc["arrival"]["concerned"]["town"]
    del doc["arrival"]["concerned"]["city"]  # a level left out summons nobody concerned
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    _, nobody = await _summoned(client, county, _above(county, "city", 30))
    assert nobody == {}


async def test_a_missed_summons_above_the_county_escalates(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    case, _ = await _summoned(client, county, _above(county, "province", 3))
    [staff_deadline] = [d for d in arrivals(case) if d["role"] == "petition_staff"]
    await miss_now(app, client, worker_headers, staff_deadline["id"])
    steps = (
        await client.get(
            "/v1/escalations", params={"deadline_id": staff_deadline["id"]}, headers=admin
        )
    ).json()["items"]
    assert [s["step"] for s in steps] == [0]
    assert steps[0]["recipients"]  # the chain's first step reached someone


async def _skip_rate(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> tuple[int, int]:
    resp = await client.get(
        "/v1/stats/summary", params={"unit_id": county.county["id"]}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    rate = resp.json()["rates"]["skip_level"]
    return rate["numerator"], rate["denominator"]


async def test_skip_level_counts_a_visit_that_skipped_its_town(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """越级访: above the county, and at the county when the petitioners went past their town
    (seed 000 rule 2); at the town, or at the county from the town itself, it is not."""
    await _summoned(client, county, visit_body(county.village, county.town, 2))
    assert await _skip_rate(client, admin, county) == (0, 1)
    await _summoned(client, county, visit_body(county.village, county.county, 2))
    assert await _skip_rate(client, admin, county) == (1, 2)
    await _summoned(client, county, visit_body(county.town, county.county, 2))
    assert await _skip_rate(client, admin, county) == (1, 3)
    await _summoned(client, county, _above(county, "province", 2))
    assert await _skip_rate(client, admin, county) == (2, 4)

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    assert doc["intake"]["skip_levels"] == ["county", "city", "province", "national"]
    doc["intake"]["skip_levels"] = ["city", "province", "national"]  # the county's choice
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    await _summoned(client, county, visit_body(county.village, county.county, 2))
    assert await _skip_rate(client, admin, county) == (2, 5)  # cases counted before stay
    doc["intake"]["skip_levels"] = ["town"]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 422


async def test_a_case_from_beijing_owes_an_owner_leader_by_the_next_working_day(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    """进京访 …要落实有关领导包案处理 (seed 001 第二篇 (八).4): a deadline to name an owner
    leader opens at once, is met by naming one, and escalates when it is missed."""
    staff = await county.headers(client, "county_staff")
    case, _ = await _summoned(client, county, _above(county, "national", 3))
    [owed] = [d for d in case["deadlines"] if d["kind"] == "owner_leader"]
    assert owed["official_id"] == county.officials["county_staff"]["id"]  # the desk names one
    assert owed["status"] == "open"
    assert datetime.fromisoformat(owed["due_at"]) > datetime.fromisoformat(owed["starts_at"])
    named = await client.post(
        f"/v1/cases/{case['id']}/set_owner_leader",
        json={"official_id": county.officials["town_chief"]["id"]},
        headers=staff,
    )
    assert named.status_code == 200, named.text
    [met] = [d for d in named.json()["deadlines"] if d["id"] == owed["id"]]
    assert met["status"] == "met"

    # nobody named: the deadline is missed and escalates like any other
    other, _ = await _summoned(client, county, _above(county, "province", 3))
    [late] = [d for d in other["deadlines"] if d["kind"] == "owner_leader"]
    await miss_now(app, client, worker_headers, late["id"])
    steps = (
        await client.get("/v1/escalations", params={"deadline_id": late["id"]}, headers=admin)
    ).json()["items"]
    assert [s["step"] for s in steps] == [0]

    # a letter to the city owes none (the policy's levels: province and Beijing)
    city, _ = await _summoned(client, county, _above(county, "city", 3))
    assert [d for d in city["deadlines"] if d["kind"] == "owner_leader"] == []


async def test_the_desk_filters_cases(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    """Filters a desk needs (issue 20 §3): received between, overdue now, assigned unit,
    lodged level, owner leader."""
    staff = await county.headers(client, "county_staff")
    old_at = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    old = await client.post(
        "/v1/cases", json=letter_body(county, received_at=old_at), headers=staff
    )
    assert old.status_code == 201, old.text
    beijing, _ = await _summoned(client, county, _above(county, "national", 3))
    mine = {old.json()["id"], beijing["id"]}

    async def found(**params: str) -> set[str]:
        resp = await client.get("/v1/cases", params={"limit": "200", **params}, headers=admin)
        assert resp.status_code == 200, resp.text
        return {c["id"] for c in resp.json()["items"]} & mine

    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert await found(received_from=since) == {beijing["id"]}
    assert await found(received_to=since) == {old.json()["id"]}
    assert await found(lodged_level="national") == {beijing["id"]}

    case = old.json()
    await act(client, staff, case, "accept", {})
    assign = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "核实",
        "time_limit_days": 30,
    }
    await act(client, staff, case, "assign", assign)
    await act(
        client,
        staff,
        case,
        "set_owner_leader",
        {"official_id": county.officials["town_deputy"]["id"]},
    )
    assert await found(assigned_unit_id=county.town["id"]) == {case["id"]}
    assert await found(owner_leader_id=county.officials["town_deputy"]["id"]) == {case["id"]}
    assert await found(overdue="true") == set()
    [handling] = [
        d
        for d in (
            await client.get("/v1/deadlines", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        if d["kind"] == "handling"
    ]
    await miss_now(app, client, worker_headers, handling["id"])
    assert await found(overdue="true") == {case["id"]}
    assert await found(overdue="false") == {beijing["id"]}


async def _assigned_letter(
    client: httpx.AsyncClient, county: County, staff: dict[str, str]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    assert resp.status_code == 201, resp.text
    case = dict(resp.json())
    await act(client, staff, case, "accept", {})
    assign = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "核实",
        "time_limit_days": 30,
    }
    return await act(client, staff, case, "assign", assign)


async def test_a_supervision_notice_opens_its_own_deadline_met_by_the_answer(
    county: County, client: httpx.AsyncClient
) -> None:
    """督办 (seed 001 第二篇 (四).5: 按规定时限办理市信访局督办的信访事项)."""
    staff = await county.headers(client, "county_staff")
    case = await _assigned_letter(client, county, staff)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = await client.post(
        f"/v1/cases/{case['id']}/supervise", json={"reason": "r", "due_at": past}, headers=staff
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/due_at"
    due = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    body = {"reason": "市信访局督办：限期答复", "due_at": due, "reference": "DB-2026-17"}
    supervised = await act(client, staff, case, "supervise", body)
    [owed] = [d for d in supervised["deadlines"] if d["kind"] == "supervision"]
    assert owed["official_id"] == county.officials["town_staff"]["id"]  # the handler
    assert owed["subject"] == "市信访局督办：限期答复" and owed["status"] == "open"
    handler = await county.headers(client, "town_staff")
    replied = await act(client, handler, case, "reply", {"text": "已答复"})
    [met] = [d for d in replied["deadlines"] if d["id"] == owed["id"]]
    assert met["status"] == "met"


async def test_a_case_sent_back_is_handled_again_with_a_new_time_limit(
    county: County, client: httpx.AsyncClient
) -> None:
    """退回重办 (seed 001 第二篇 (四).2: 被退回重新办理的每件次扣0.03分)."""
    staff = await county.headers(client, "county_staff")
    handler = await county.headers(client, "town_staff")
    case = await _assigned_letter(client, county, staff)
    await act(client, handler, case, "reply", {"text": "第一次答复"})
    await act(client, staff, case, "feedback", {"satisfied": False})
    closed = await act(client, staff, case, "close", {"outcome": "stabilized"})
    assert closed["status"] == "closed"
    back = await act(
        client, staff, case, "return_for_rehandling", {"reason": "事实不清", "days": 20}
    )
    assert back["status"] == "assigned"
    assert back["reply_text"] is None and back["outcome"] is None and back["satisfied"] is None
    handling = [d for d in back["deadlines"] if d["kind"] == "handling" and d["status"] == "open"]
    assert len(handling) == 1
    assert handling[0]["official_id"] == county.officials["town_staff"]["id"]
    span = datetime.fromisoformat(handling[0]["due_at"]) - datetime.now(UTC)
    assert timedelta(days=19) < span <= timedelta(days=21)
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    [sent] = [e for e in events if e["action"] == "return_for_rehandling"]
    assert sent["data"]["reason"] == "事实不清"
    assert sent["data"]["withdrawn_reply"] == "第一次答复"
    again = await act(client, handler, case, "reply", {"text": "重新答复"})
    assert again["status"] == "replied"
    # an open case cannot be sent back: only an answered or closed one
    registered = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    not_yet = await client.post(
        f"/v1/cases/{registered.json()['id']}/return_for_rehandling",
        json={"reason": "r", "days": 5},
        headers=staff,
    )
    assert not_yet.status_code == 409, not_yet.text


async def _office(client: httpx.AsyncClient, admin: dict[str, str], level: str) -> dict[str, Any]:
    code = f"XF-{level}-{uuid.uuid4().hex[:8]}"
    body = {"name": f"{level}信访局", "level": level, "code": code}
    resp = await client.post("/v1/higher-offices", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    again = await client.post("/v1/higher-offices", json=body, headers=admin)
    assert again.status_code == 409, again.text
    return dict(resp.json())


async def test_a_case_handed_down_is_one_case_per_reference_and_owes_its_result(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """上级转送、交办 (seed 001 第二篇 (四)): the office and its reference number recorded, the
    same reference once; wanting the result back, the case owes an owner leader (包案, (四).3)
    and a closing report (结案报告) by the office's date."""
    city = await _office(client, admin, "city")
    staff = await county.headers(client, "county_staff")
    due = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    body = letter_body(
        county,
        source="assigned",
        higher_office_id=city["id"],
        higher_reference="市信交〔2026〕88号",
        higher_due_at=due.isoformat(),
        wants_result=True,
    )
    first = await client.post("/v1/cases", json=body, headers=staff)
    assert first.status_code == 201, first.text
    case = first.json()
    assert (case["source"], case["higher_reference"], case["wants_result"]) == (
        "assigned",
        "市信交〔2026〕88号",
        True,
    )
    kinds = {d["kind"]: d for d in case["deadlines"]}
    assert "owner_leader" in kinds
    assert datetime.fromisoformat(kinds["national_report"]["due_at"]) == due
    second = await client.post("/v1/cases", json=body, headers=staff)
    assert second.status_code == 409, second.text

    listed = await client.get(
        "/v1/cases", params={"higher_office_id": city["id"], "wants_result": "true"}, headers=admin
    )
    assert [c["id"] for c in listed.json()["items"]] == [case["id"]]

    # an own intake names no office; a case handed down names one that exists
    for change, pointer in [
        ({"higher_office_id": city["id"]}, "/higher_office_id"),
        ({"wants_result": True}, "/wants_result"),
        ({"source": "transferred"}, "/higher_office_id"),
        (
            {"source": "transferred", "higher_office_id": city["id"]},
            "/higher_reference",
        ),
        (
            {
                "source": "transferred",
                "higher_office_id": str(uuid.uuid4()),
                "higher_reference": "x",
            },
            "/higher_office_id",
        ),
    ]:
        refused = await client.post("/v1/cases", json=letter_body(county, **change), headers=staff)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == pointer

    # an office made inactive hands down nothing new
    off = await client.patch(
        f"/v1/higher-offices/{city['id']}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["active"] is False
    late = await client.post(
        "/v1/cases", json={**body, "higher_reference": "市信交〔2026〕89号"}, headers=staff
    )
    assert late.status_code == 422, late.text
    chief = await county.headers(client, "town_chief")
    assert (
        await client.post(
            "/v1/higher-offices", json={"name": "x", "level": "city", "code": "y"}, headers=chief
        )
    ).status_code == 403
    seen = await client.get(f"/v1/higher-offices/{city['id']}", headers=chief)
    assert seen.status_code == 200 and seen.json()["code"] == city["code"]


async def test_the_desk_reassigns_a_case_keeping_its_due_dates(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """改派 at any stage of the handling (seed 002 第五篇 四定): the due dates stay, the open
    deadlines follow the new handler, who may object and is alerted."""
    staff = await county.headers(client, "county_staff")
    case = await _assigned_letter(client, county, staff)
    before = {d["kind"]: d for d in case["deadlines"] if d["status"] == "open"}
    body = {
        "unit_id": county.village2["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["village2_chief"]["id"],
        "reason": "属村级事务",
    }
    moved = await act(client, staff, case, "reassign", body)
    assert (moved["assigned_unit_id"], moved["handler_id"]) == (
        county.village2["id"],
        county.officials["village2_chief"]["id"],
    )
    assert moved["time_limit"] == case["time_limit"]
    after = {d["kind"]: d for d in moved["deadlines"] if d["status"] == "open"}
    assert after["handling"]["due_at"] == before["handling"]["due_at"]
    assert after["handling"]["official_id"] == county.officials["village2_chief"]["id"]
    assert after["objection"]["official_id"] == county.officials["village2_chief"]["id"]
    alerts = (
        await client.get(
            "/v1/alerts",
            params={"case_id": case["id"], "official_id": county.officials["village2_chief"]["id"]},
            headers=admin,
        )
    ).json()["items"]
    assert [a["purpose"] for a in alerts] == ["reassigned"]
    # the policy's template (templates.reassigned)
    assert alerts[0]["text"].startswith("【改派通知】") and case["number"] in alerts[0]["text"]
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    [event] = [e for e in events if e["action"] == "reassign"]
    assert event["data"]["before"]["handler_id"] == county.officials["town_staff"]["id"]
    # the new handler's unit must be the unit's: refused, nothing changes
    wrong = {**body, "handler_id": county.officials["town_staff"]["id"]}
    refused = await client.post(f"/v1/cases/{case['id']}/reassign", json=wrong, headers=staff)
    assert refused.status_code == 422, refused.text
    still = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert still["handler_id"] == county.officials["village2_chief"]["id"]


async def test_the_desk_corrects_a_registration_with_a_reason(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """不错登: a correction replaces the fields given, each change on the timeline with its
    value before and after; bad input and a closed case write nothing."""
    staff = await county.headers(client, "county_staff")
    resp = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    case = resp.json()
    url = f"/v1/cases/{case['id']}"
    fixed = await client.patch(
        url,
        json={"reason": "登记有误", "category": "land", "location": {"lat": 34.1, "lon": 113.2}},
        headers=staff,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["category"] == "land"
    assert fixed.json()["location"] == {"lat": 34.1, "lon": 113.2}
    events = (await client.get(f"{url}/timeline", headers=staff)).json()
    [event] = [e for e in events if e["action"] == "corrected"]
    assert event["data"]["reason"] == "登记有误"
    assert event["data"]["changes"]["category"] == {"before": "labour.wages", "after": "land"}
    for bad, pointer in [
        ({"reason": "r", "title": "电话13812345678"}, "/title"),
        ({"reason": "r", "content": None}, "/content"),
        ({"reason": "r"}, "/reason"),
        ({"title": "无理由"}, "/reason"),
    ]:
        refused = await client.patch(url, json=bad, headers=staff)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == pointer, refused.text
    grid = await county.headers(client, "grid")
    assert (
        await client.patch(url, json={"reason": "r", "title": "x"}, headers=grid)
    ).status_code == 403
    after = (await client.get(url, headers=staff)).json()
    assert (after["title"], after["content"]) == (case["title"], case["content"])
    # the facts behind the dashboard follow the category
    summary = await client.get(
        "/v1/stats/summary", params={"unit_id": county.county["id"]}, headers=admin
    )
    assert summary.json()["by_category"].get("land") == 1

    await act(client, staff, case, "reject", {"reason": "r", "notice_text": "n"})
    closed = await client.patch(url, json={"reason": "r", "title": "晚了"}, headers=staff)
    assert closed.status_code == 409, closed.text
