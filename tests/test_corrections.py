"""The desk corrects where a petition arose, when it was received, who came and how many
(不错登; issue 20 §3): the deadlines counted from receipt move, the officials a visit now
requires are summoned and those it no longer requires are stood down, the figures follow the
case, and every change is on the timeline, petitioners' numbers masked."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.kit.timeutil import local
from tests.conftest import County, act, arrivals, letter_body, make_county, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")


async def _town2(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """A second town of the county with a village, and their officials."""
    tag = uuid.uuid4().hex[:6]

    async def unit(name: str, level: str, parent: dict[str, Any]) -> dict[str, Any]:
        body = {"name": f"{name}-{tag}", "level": level, "parent_id": parent["id"]}
        resp = await client.post("/v1/units", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    town2 = await unit("西河镇", "town", county.county)
    village3 = await unit("王庄村", "village", town2)
    officials = {}
    for n, (key, where, role) in enumerate(
        [
            ("town2_chief", town2, "chief"),
            ("town2_deputy", town2, "deputy"),
            ("town2_staff", town2, "petition_staff"),
            ("village3_chief", village3, "chief"),
        ]
    ):
        body = {
            "name": f"{key}-{tag}",
            "phone": f"136{n:02d}{int(tag, 16) % 1000000:06d}",
            "unit_id": where["id"],
            "role": role,
            "username": f"{key}-{tag}",
            "password": f"pw-{key}-{tag}",
        }
        resp = await client.post("/v1/officials", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        officials[key] = resp.json()
    return town2, village3, officials


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _correct(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: dict[str, Any],
    body: dict[str, Any],
    expect: int = 200,
) -> dict[str, Any]:
    resp = await client.patch(f"/v1/cases/{case['id']}", json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    return dict(resp.json())


async def _events(
    client: httpx.AsyncClient, headers: dict[str, str], case: dict[str, Any], action: str
) -> list[dict[str, Any]]:
    resp = await client.get(f"/v1/cases/{case['id']}/timeline", headers=headers)
    assert resp.status_code == 200, resp.text
    return [e for e in resp.json() if e["action"] == action]


def _by_kind(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in case["deadlines"] if d["kind"] != "arrival"}


def _posts(case: dict[str, Any], status: str = "open") -> set[tuple[str, str]]:
    """The arrival deadlines of the case in this status, as (official id, role)."""
    return {(d["official_id"], d["role"]) for d in arrivals(case) if d["status"] == status}


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _per_day(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any], first: date
) -> dict[str, int]:
    """Cases a unit's subtree received per local day since `first`."""
    resp = await client.get(
        "/v1/stats/summary",
        params={"unit_id": unit["id"], "from": first.isoformat()},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    counts = {d["day"]: sum(d["by_channel"].values()) for d in resp.json()["per_day"]}
    return {day: n for day, n in counts.items() if n}


async def test_a_corrected_receipt_moves_the_open_deadlines_counted_from_it(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A letter registered as received today arrived days ago: its disposition and
    acceptance-notice deadlines move back as many days, the timeline says from when to when,
    a deadline already met stays as it was, and the figures count it on the day received."""
    staff = await county.headers(client, "county_staff")
    case = await _register(client, staff, letter_body(county))
    before = _by_kind(case)
    received = _at(case["received_at"])
    earlier = received - timedelta(days=3)

    fixed = await _correct(
        client, staff, case, {"reason": "来信实为三天前收到", "received_at": earlier.isoformat()}
    )
    assert _at(fixed["received_at"]) == earlier
    after = _by_kind(fixed)
    for kind in ("disposition", "acceptance_notice"):
        assert _at(after[kind]["due_at"]) == _at(before[kind]["due_at"]) - timedelta(days=3)
        assert _at(after[kind]["starts_at"]) == earlier
        assert after[kind]["status"] == "open"
    [event] = await _events(client, staff, case, "corrected")
    assert event["data"]["reason"] == "来信实为三天前收到"
    assert event["data"]["changes"]["received_at"] == {
        "before": received.isoformat(),
        "after": earlier.isoformat(),
    }
    moved = {m["kind"]: m for m in event["data"]["deadlines_moved"]}
    assert set(moved) == {"disposition", "acceptance_notice"}
    assert moved["disposition"]["deadline_id"] == before["disposition"]["id"]
    assert _at(moved["disposition"]["due_at"]["before"]) == _at(before["disposition"]["due_at"])
    assert _at(moved["disposition"]["due_at"]["after"]) == _at(after["disposition"]["due_at"])
    # the figures count the case on the day it was received, no longer on the day registered
    first = local(earlier).date() - timedelta(days=1)
    days = await _per_day(client, admin, county.county, first)
    assert days == {local(earlier).date().isoformat(): 1}, days

    # accepted and its notice served: the acceptance notice is met and stays so; the
    # disposition still moves
    await act(client, staff, fixed, "accept")
    notice = await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": "acceptance"}, headers=staff
    )
    served = await client.post(
        f"/v1/notices/{notice.json()['id']}/service",
        json={"method": "in_person", "served_at": notice.json()["issued_at"], "recipient": "王五"},
        headers=staff,
    )
    assert served.status_code == 200, served.text
    accepted = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    met = _by_kind(accepted)["acceptance_notice"]
    assert met["status"] == "met"
    handling = _by_kind(accepted)["handling"]
    still_earlier = earlier - timedelta(days=2)
    again = await _correct(
        client, staff, case, {"reason": "再次更正", "received_at": still_earlier.isoformat()}
    )
    now = _by_kind(again)
    assert now["acceptance_notice"] == met  # history
    assert now["handling"]["due_at"] == handling["due_at"]  # counted from the acceptance
    assert _at(now["disposition"]["due_at"]) == _at(after["disposition"]["due_at"]) - timedelta(
        days=2
    )

    # received long ago: the disposition is overdue at once, as a backdated registration's is
    long_ago = received - timedelta(days=40)
    late = await _correct(
        client, staff, case, {"reason": "补登", "received_at": long_ago.isoformat()}
    )
    assert _by_kind(late)["disposition"]["status"] == "missed"
    assert (
        _at(_by_kind(late)["disposition"]["due_at"])
        < datetime.now(UTC)
        < _at(_by_kind(late)["handling"]["due_at"])
    )


async def test_a_receipt_in_the_future_or_out_of_bounds_is_refused_and_changes_nothing(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    case = await _register(client, staff, letter_body(county))
    for value in [
        (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "1999-12-31T23:00:00+00:00",
        "2026-01-01T08:00:00",  # no offset
        None,
    ]:
        refused = await _correct(
            client, staff, case, {"reason": "r", "received_at": value}, expect=422
        )
        assert refused["errors"][0]["pointer"] == "/received_at", refused
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert after["received_at"] == case["received_at"]
    assert _by_kind(after) == _by_kind(case)
    assert await _events(client, staff, case, "corrected") == []


async def test_a_corrected_origin_summons_the_new_towns_officials_and_stands_down_the_old(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A visit at the county registered from the wrong town: the officials of the town it
    really came from are summoned now (deadline and summons), the first town's open
    summonses are withdrawn, one already met stays met, and the figures move to the new
    town."""
    town2, village3, others = await _town2(client, admin, county)
    staff = await county.headers(client, "county_staff")
    case = await _register(client, staff, visit_body(county.village, county.county, 3))
    first = {
        (county.officials[k]["id"], r)
        for k, r in [
            ("village_chief", "chief"),
            ("area_chief", "chief"),
            ("town_staff", "petition_staff"),
            ("town_deputy", "deputy"),
        ]
    }
    assert _posts(case) == first
    # the village chief came in time: that stays, whatever the correction
    chief = await county.headers(client, "village_chief")
    checked = await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=chief)
    assert checked.status_code == 201, checked.text

    fixed = await _correct(
        client, staff, case, {"reason": "来访人实为西河镇王庄村", "origin_unit_id": village3["id"]}
    )
    assert fixed["origin_unit_id"] == village3["id"]
    second = {
        (others[k]["id"], r)
        for k, r in [
            ("village3_chief", "chief"),
            ("town2_staff", "petition_staff"),
            ("town2_deputy", "deputy"),
        ]
    }
    assert _posts(fixed) == second
    assert _posts(fixed, "met") == {(county.officials["village_chief"]["id"], "chief")}
    assert _posts(fixed, "cancelled") == first - _posts(fixed, "met")
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    summoned = {a["official_id"] for a in alerts if a["purpose"] == "summons"}
    assert {o for o, _ in second} <= summoned

    [event] = await _events(client, staff, case, "corrected")
    assert event["data"]["changes"]["origin_unit_id"] == {
        "before": county.village["id"],
        "after": village3["id"],
    }
    assert "skip_level" not in event["data"]["changes"]  # it went past its town all the same
    assert {(s["unit_id"], s["role"]) for s in event["data"]["summoned"]} == {
        (village3["id"], "chief"),
        (town2["id"], "petition_staff"),
        (town2["id"], "deputy"),
    }
    assert {w["official_id"] for w in event["data"]["withdrawn"]} == {
        county.officials[k]["id"] for k in ("area_chief", "town_staff", "town_deputy")
    }
    cancelled = await _events(client, staff, case, "deadline_cancelled")
    assert len(cancelled) == 3
    assert len(await _events(client, staff, case, "summoned")) == 4 + 3

    today = local(_at(case["received_at"])).date()
    assert await _per_day(client, admin, county.town, today) == {}
    assert await _per_day(client, admin, town2, today) == {today.isoformat(): 1}
    assert await _per_day(client, admin, county.county, today) == {today.isoformat(): 1}


async def test_a_corrected_headcount_summons_the_leaders_or_stands_them_down(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """At the town, its deputy comes from 21 people and its chief from 50 (the policy's
    `arrival.deputy_headcount`, `leader_headcount`): a headcount raised past them summons
    them, lowered withdraws their open summonses; the visit is collective from 5."""
    staff = await county.headers(client, "town_staff")
    case = await _register(client, staff, visit_body(county.village, county.town, 3))
    grassroots = {
        (county.officials["village_chief"]["id"], "chief"),
        (county.officials["area_chief"]["id"], "chief"),
    }
    assert _posts(case) == grassroots and case["is_collective"] is False
    deputy = (county.officials["town_deputy"]["id"], "deputy")
    chief = (county.officials["town_chief"]["id"], "chief")

    raised = await _correct(client, staff, case, {"reason": "实到25人", "headcount": 25})
    assert (raised["headcount"], raised["is_collective"]) == (25, True)
    assert _posts(raised) == grassroots | {deputy}
    alerts = (
        await client.get(
            "/v1/alerts",
            params={"case_id": case["id"], "official_id": deputy[0]},
            headers=admin,
        )
    ).json()["items"]
    assert [a["purpose"] for a in alerts] == ["summons"]
    assert "25人" in alerts[0]["text"]

    crowd = await _correct(client, staff, case, {"reason": "实到60人", "headcount": 60})
    assert _posts(crowd) == grassroots | {deputy, chief}
    assert len(arrivals(crowd)) == 4  # nobody summoned twice

    lowered = await _correct(client, staff, case, {"reason": "实到4人", "headcount": 4})
    assert (lowered["headcount"], lowered["is_collective"]) == (4, False)
    assert _posts(lowered) == grassroots
    assert _posts(lowered, "cancelled") == {deputy, chief}
    events = await _events(client, staff, case, "corrected")
    assert events[-1]["data"]["changes"]["headcount"] == {"before": 60, "after": 4}
    assert events[-1]["data"]["changes"]["is_collective"] == {"before": True, "after": False}
    assert {w["role"] for w in events[-1]["data"]["withdrawn"]} == {"deputy", "chief"}

    # raised again: a withdrawn summons counts for nothing, the deputy is summoned anew
    again = await _correct(client, staff, case, {"reason": "实到30人", "headcount": 30})
    assert _posts(again) == grassroots | {deputy}
    # fewer people than petitioners listed: refused, nothing changes
    refused = await _correct(client, staff, case, {"reason": "r", "headcount": 1}, expect=422)
    assert refused["errors"][0]["pointer"] == "/headcount"
    for bad in (0, None, "3"):
        refused = await _correct(client, staff, case, {"reason": "r", "headcount": bad}, 422)
        assert refused["errors"][0]["pointer"] == "/headcount", refused
    still = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert still["headcount"] == 30 and _posts(still) == grassroots | {deputy}


async def test_the_petitioners_are_corrected_their_numbers_masked_on_the_timeline(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    case = await _register(client, staff, letter_body(county))
    petitioners = [
        {"name": "赵六", "phone": "13700000009"},
        {"name": "钱七", "id_number": "32010219800101123x", "address": "杨庄村三组"},
    ]
    fixed = await _correct(
        client, staff, case, {"reason": "漏登一人", "petitioners": petitioners, "headcount": 2}
    )
    assert [(p["name"], p["phone"], p["id_number"]) for p in fixed["petitioners"]] == [
        ("赵六", "13700000009", None),
        ("钱七", None, "32010219800101123X"),
    ]
    assert fixed["headcount"] == 2
    [event] = await _events(client, staff, case, "corrected")
    told = event["data"]["changes"]["petitioners"]
    assert [p["name"] for p in told["before"]] == ["赵六"]
    assert [p["name"] for p in told["after"]] == ["赵六", "钱七"]
    text = json.dumps(event, ensure_ascii=False)
    for number in ("13700000000", "13700000009", "32010219800101123X"):
        assert number not in text
    assert told["after"][0]["phone"] == "137****0009"
    # found again by the corrected number (sealed as at registration), not by the old one
    found = await client.get("/v1/cases", params={"phone": "13700000009"}, headers=staff)
    assert [c["id"] for c in found.json()["items"]] == [case["id"]]
    gone = await client.get("/v1/cases", params={"phone": "13700000000"}, headers=staff)
    assert case["id"] not in [c["id"] for c in gone.json()["items"]]

    # the same list again records nothing
    await _correct(client, staff, case, {"reason": "r", "petitioners": petitioners})
    assert len(await _events(client, staff, case, "corrected")) == 1
    # more petitioners than the headcount, too many representatives, none: refused
    three = [*petitioners, {"name": "孙八"}]
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"reason": "r", "petitioners": three}, "/headcount"),
        (
            {
                "reason": "r",
                "petitioners": [{"name": f"代表{n}", "is_representative": True} for n in range(6)],
                "headcount": 6,
            },
            "/petitioners",
        ),
        ({"reason": "r", "petitioners": []}, "/petitioners"),
        ({"reason": "r", "petitioners": None}, "/petitioners"),
    ]
    for body, pointer in refusals:
        refused = await _correct(client, staff, case, body, expect=422)
        assert refused["errors"][0]["pointer"] == pointer, refused
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert after["petitioners"] == fixed["petitioners"] and after["headcount"] == 2


async def test_an_origin_outside_the_territory_is_refused_as_at_registration(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, village3, _ = await _town2(client, admin, county)
    other = await make_county(client, admin)
    department = await client.post(
        "/v1/units",
        json={
            "name": f"人社局-{uuid.uuid4().hex[:6]}",
            "level": "department",
            "parent_id": county.county["id"],
        },
        headers=admin,
    )
    assert department.status_code == 201, department.text
    staff = await county.headers(client, "town_staff")
    case = await _register(client, staff, letter_body(county))
    for origin in [
        village3["id"],  # the county's, not this town's
        other.village["id"],  # another county
        department.json()["id"],  # not a territorial unit
        str(uuid.uuid4()),
    ]:
        refused = await _correct(
            client, staff, case, {"reason": "r", "origin_unit_id": origin}, expect=422
        )
        assert refused["errors"][0]["pointer"] == "/origin_unit_id", refused
    # the county's desk reaches the other town: its correction stands
    county_staff = await county.headers(client, "county_staff")
    moved = await _correct(
        client, county_staff, case, {"reason": "r", "origin_unit_id": village3["id"]}
    )
    assert moved["origin_unit_id"] == village3["id"]
    # a matter of the county itself skipped no town: no longer a skip-level petition (越级)
    await _correct(
        client, county_staff, case, {"reason": "县级事项", "origin_unit_id": county.county["id"]}
    )
    events = await _events(client, county_staff, case, "corrected")
    assert events[-1]["data"]["changes"]["skip_level"] == {"before": True, "after": False}
    # another county's desk does not see the case at all
    stranger = await other.headers(client, "county_staff")
    assert (
        await client.patch(
            f"/v1/cases/{case['id']}",
            json={"reason": "r", "origin_unit_id": other.village["id"]},
            headers=stranger,
        )
    ).status_code == 404


async def test_a_beijing_case_corrected_moves_its_owner_leader_and_report_to_the_new_origin(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A visit to Beijing: the owner-leader deadline counts working days from receipt and
    moves with it; the closing report is the origin's chief's and follows a corrected origin,
    as do the concerned town's summonses (seed 001 第二篇 (八))."""
    _, village3, others = await _town2(client, admin, county)
    staff = await county.headers(client, "county_staff")
    body = {
        **visit_body(county.village, county.town, 3),
        "lodged_unit_id": None,
        "lodged_level": "national",
    }
    case = await _register(client, staff, body)
    before = _by_kind(case)
    assert before["national_report"]["official_id"] == county.officials["village_chief"]["id"]
    assert _posts(case) == {
        (county.officials["town_staff"]["id"], "petition_staff"),
        (county.officials["area_chief"]["id"], "chief"),
    }
    earlier = _at(case["received_at"]) - timedelta(days=7)
    fixed = await _correct(
        client,
        staff,
        case,
        {"reason": "更正", "origin_unit_id": village3["id"], "received_at": earlier.isoformat()},
    )
    after = _by_kind(fixed)
    report = after["national_report"]
    assert report["id"] == before["national_report"]["id"]
    assert (report["official_id"], report["unit_id"]) == (
        others["village3_chief"]["id"],
        village3["id"],
    )
    assert _at(report["due_at"]) < _at(before["national_report"]["due_at"])
    assert _at(after["owner_leader"]["due_at"]) < _at(before["owner_leader"]["due_at"])
    assert _posts(fixed) == {(others["town2_staff"]["id"], "petition_staff")}
    [event] = await _events(client, staff, case, "corrected")
    moved = {m["kind"]: m for m in event["data"]["deadlines_moved"]}
    assert moved["national_report"]["official_id"] == {
        "before": county.officials["village_chief"]["id"],
        "after": others["village3_chief"]["id"],
    }
    assert moved["national_report"]["unit_id"]["after"] == village3["id"]
    assert set(moved) == {"disposition", "acceptance_notice", "owner_leader", "national_report"}
    # the on-site reception duty (赴现场接待) is the new town's, and so is its settlement
    assert after["onsite_settlement"]["official_id"] == others["town2_chief"]["id"]
    assert event["data"]["onsite_duty"]["unit_id"] == {
        "before": county.town["id"],
        "after": after["onsite_settlement"]["unit_id"],
    }
    [duty] = (
        await client.get(
            "/v1/reception/onsite-duties", params={"case_id": case["id"]}, headers=staff
        )
    ).json()["items"]
    assert duty["unit_id"] == after["onsite_settlement"]["unit_id"] != county.town["id"]
