"""Confidentiality the law asks for (issue 19 §3; 信访工作条例 art. 45; seed 003 五.三).

A petition that complains about officials (被反映人) is never passed to them: they (and every
official of a unit complained about) do not see it in any read — the case, its timeline, lists,
search, deadlines, escalations, alerts, the bulletin — are never its handler, owner or leader,
never summoned or alerted for it (the next person up is). A confidential case (保密) is read in
full by petition staff and the leaders named on it; the rest of the territory sees that it
exists and its deadlines.

The subjects added to the object-level matrix: an official complained about, an official of a
unit complained about, and a non-reader of a confidential case, against every route that reads
a case by its id (checked against the app's route table).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import County, act, letter_body, miss_now, visit_body
from tests.test_permissions import operations

pytestmark = pytest.mark.usefixtures("policy_restore")

CASE_ID = "{case_id}"


def _id(county: County, key: str) -> str:
    return str(county.officials[key]["id"])


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _ids(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: str
) -> list[str]:
    resp = await client.get(path, params={"limit": "200", **params}, headers=headers)
    assert resp.status_code == 200, resp.text
    return [str(item["id"]) for item in resp.json()["items"]]


def _case_reads(app: FastAPI) -> list[str]:
    """Every GET route by which an official reads one case by its id (from the app's route
    table); `/v1/transfers/{case_id}` is the handing office's own (403 to every official)."""
    return sorted(
        path
        for method, path, _ in operations(app)
        if method == "get" and CASE_ID in path and not path.startswith("/v1/transfers/")
    )


async def _hidden_from(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], case: dict[str, Any]
) -> None:
    """The case is nowhere for this caller: every read by id is 404, no list shows it or
    anything of it."""
    reads = _case_reads(app)
    assert len(reads) >= 3
    for path in reads:
        resp = await client.get(path.replace(CASE_ID, case["id"]), headers=headers)
        assert resp.status_code == 404, f"{path}: {resp.status_code} {resp.text}"
    assert case["id"] not in await _ids(client, headers, "/v1/cases")
    assert await _ids(client, headers, "/v1/deadlines", case_id=case["id"]) == []
    assert await _ids(client, headers, "/v1/escalations", case_id=case["id"]) == []
    assert await _ids(client, headers, "/v1/alerts", case_id=case["id"]) == []
    phone = case["petitioners"][0].get("phone")
    if phone and "*" not in phone:
        assert case["id"] not in await _ids(client, headers, "/v1/cases", phone=phone)
    acted = await client.post(f"/v1/cases/{case['id']}/accept", json={}, headers=headers)
    assert acted.status_code in (403, 404), acted.text


async def test_officials_complained_about_never_see_the_case_and_the_next_one_up_is_summoned(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "county_staff")
    body = {
        **visit_body(county.village2, county.town, 2),
        "complained_official_ids": [_id(county, "village2_chief")],
    }
    case = await _register(client, staff, body)
    assert case["complained_official_ids"] == [_id(county, "village2_chief")]
    # the village's chief would be summoned to the town's gate: the town's chief comes instead
    [arrival] = [d for d in case["deadlines"] if d["kind"] == "arrival"]
    assert arrival["official_id"] == _id(county, "town_chief")
    assert arrival["unit_id"] == county.village2["id"]

    chief = await county.headers(client, "village2_chief")
    await _hidden_from(app, client, chief, case)
    # others of the territory see it as before
    town_staff = await county.headers(client, "town_staff")
    assert (await client.get(f"/v1/cases/{case['id']}", headers=town_staff)).status_code == 200

    # a missed step whose chain names the unit's chief passes over them to the chief above
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["escalation"]["arrival"] = [{"notify": ["unit_chief", "responsible"]}]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    await miss_now(app, client, worker_headers, arrival["id"])
    [step] = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    assert step["recipients"] == [_id(county, "town_chief")]
    alerted = (
        await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    assert alerted and _id(county, "village2_chief") not in {a["official_id"] for a in alerted}
    await _hidden_from(app, client, chief, case)  # the escalation and its alerts too
    # nor may they acknowledge it by its id
    acked = await client.post(f"/v1/escalations/{step['id']}/ack", headers=chief)
    assert acked.status_code == 404, acked.text


async def test_a_unit_complained_about_is_kept_away_and_may_not_handle_it(
    app: FastAPI, county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    case = await _register(
        client, staff, letter_body(county, complained_unit_ids=[county.village2["id"]])
    )
    # the letter arose in village2: its chief and its grid worker reach it, yet never see it
    for key in ("village2_chief", "grid"):
        await _hidden_from(app, client, await county.headers(client, key), case)
    await act(client, staff, case, "accept", {})
    assign = {
        "unit_id": county.village2["id"],
        "leader_id": _id(county, "town_chief"),
        "handler_id": _id(county, "village2_chief"),
        "plan": "核实",
        "time_limit_days": 30,
    }
    refused = await client.post(f"/v1/cases/{case['id']}/assign", json=assign, headers=staff)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["pointer"] == "/unit_id"
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert after["assigned_unit_id"] is None and after["handler_id"] is None


async def test_an_official_complained_about_may_not_handle_or_own_it(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    case = await _register(
        client, staff, letter_body(county, complained_official_ids=[_id(county, "town_deputy")])
    )
    await act(client, staff, case, "accept", {})
    assign = {
        "unit_id": county.town["id"],
        "leader_id": _id(county, "town_deputy"),
        "handler_id": _id(county, "town_staff"),
        "plan": "核实",
        "time_limit_days": 30,
    }
    refused = await client.post(f"/v1/cases/{case['id']}/assign", json=assign, headers=staff)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["pointer"] == "/leader_id"
    owner = await client.post(
        f"/v1/cases/{case['id']}/set_owner_leader",
        json={"official_id": _id(county, "town_deputy")},
        headers=staff,
    )
    assert owner.status_code == 422, owner.text
    assert owner.json()["errors"][0]["pointer"] == "/official_id"
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert after["leader_id"] is None and after["owner_leader_id"] is None


async def test_a_confidential_case_is_read_in_full_only_by_staff_and_named_leaders(
    app: FastAPI, county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    registrar = await county.headers(client, "town_staff")
    body = {
        **visit_body(county.village2, county.town, 2),
        "title": "举报村干部侵占补偿款",
        "confidential": True,
        "confidential_readers": [_id(county, "town_deputy")],
    }
    case = await _register(client, registrar, body)
    assert case["confidential"] is True and case["restricted"] is False

    for key in ("town_deputy", "county_staff"):  # a named leader; petition staff
        full = await client.get(
            f"/v1/cases/{case['id']}", headers=await county.headers(client, key)
        )
        assert full.json()["title"] == "举报村干部侵占补偿款", key
        assert full.json()["restricted"] is False

    chief = await county.headers(client, "town_chief")  # in reach, not named
    seen = (await client.get(f"/v1/cases/{case['id']}", headers=chief)).json()
    assert seen["restricted"] is True
    assert seen["title"] == "（保密）" and seen["content"] == "" and seen["petitioners"] == []
    assert seen["demands"] is None and seen["location"] is None
    assert seen["confidential_readers"] == []
    assert {d["id"] for d in seen["deadlines"]} == {d["id"] for d in case["deadlines"]}
    listed = (await client.get("/v1/cases", params={"limit": 200}, headers=chief)).json()
    [row] = [c for c in listed["items"] if c["id"] == case["id"]]
    assert row["restricted"] is True and row["title"] == "（保密）"
    timeline = await client.get(f"/v1/cases/{case['id']}/timeline", headers=chief)
    assert timeline.status_code == 403, timeline.text
    # the summons quotes no title of a confidential case
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    assert alerts and all("侵占" not in (a["text"] or "") for a in alerts)


async def test_the_desk_names_whom_a_case_complains_about_later(
    app: FastAPI, county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    case = await _register(client, staff, letter_body(county))
    chief = await county.headers(client, "village2_chief")
    assert (await client.get(f"/v1/cases/{case['id']}", headers=chief)).status_code == 200

    url = f"/v1/cases/{case['id']}/confidentiality"
    good = {
        "complained_official_ids": [_id(county, "village2_chief")],
        "complained_unit_ids": [],
        "confidential": True,
        "confidential_readers": [],
    }
    # bad input writes nothing
    for change, pointer in [
        (
            {"complained_official_ids": ["00000000-0000-4000-8000-000000000000"]},
            "/complained_official_ids/0",
        ),
        ({"confidential_readers": [_id(county, "village2_chief")]}, "/confidential_readers/0"),
    ]:
        resp = await client.put(url, json={**good, **change}, headers=staff)
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["pointer"] == pointer
    assert (await client.get(f"/v1/cases/{case['id']}", headers=chief)).status_code == 200
    grid = await county.headers(client, "grid")
    assert (await client.put(url, json=good, headers=grid)).status_code == 403

    done = await client.put(url, json=good, headers=staff)
    assert done.status_code == 200, done.text
    assert done.json()["confidential"] is True
    await _hidden_from(app, client, chief, case)
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    [marked] = [e for e in events if e["action"] == "confidentiality_set"]
    # who is complained about is itself kept out of the timeline
    assert marked["data"] == {
        "confidential": True,
        "complained_officials": 1,
        "complained_units": 0,
        "readers": 0,
    }


async def test_a_case_complaining_about_the_reader_is_not_named_to_them_in_the_bulletin(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "county_staff")
    body = {
        **visit_body(county.village2, county.town, 2),
        "complained_official_ids": [_id(county, "town_chief")],
    }
    case = await _register(client, staff, body)
    [arrival] = [d for d in case["deadlines"] if d["kind"] == "arrival"]
    await miss_now(app, client, worker_headers, arrival["id"])
    month = arrival["due_at"][:7]
    params = {"month": month, "unit_id": county.town["id"]}
    as_admin = (await client.get("/v1/reports/monthly", params=params, headers=admin)).json()
    assert case["number"] in {a["case_number"] for a in as_admin["criticism"]["missed_arrivals"]}
    town_chief = await county.headers(client, "town_chief")
    theirs = await client.get("/v1/reports/monthly", params=params, headers=town_chief)
    assert theirs.status_code == 200, theirs.text
    missed = theirs.json()["criticism"]["missed_arrivals"]
    assert arrival["id"] in {a["deadline_id"] for a in missed}  # the miss is still criticised
    assert case["number"] not in {a["case_number"] for a in missed}
    assert case["id"] not in {a["case_id"] for a in missed}


async def test_figures_count_a_case_about_the_reader_without_naming_it(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The veto's drill-down lists the collective visits that count: the reader complained
    about sees the same count, without the case's id."""
    staff = await county.headers(client, "county_staff")
    body = {
        **visit_body(county.village2, county.town, 6),
        "complained_official_ids": [_id(county, "town_chief")],
    }
    case = await _register(client, staff, body)
    year = case["received_at"][:4]

    async def village2(headers: dict[str, str]) -> dict[str, Any]:
        resp = await client.get(
            "/v1/stats/veto", params={"year": year, "unit_id": county.town["id"]}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        [unit] = [u for u in resp.json()["units"] if u["unit_id"] == county.village2["id"]]
        return dict(unit)

    seen_by_admin = await village2(admin)
    seen_by_chief = await village2(await county.headers(client, "town_chief"))
    assert [c["count"] for c in seen_by_admin["counts"]] == [
        c["count"] for c in seen_by_chief["counts"]
    ]
    assert case["id"] in {i for c in seen_by_admin["counts"] for i in c["case_ids"]}
    assert case["id"] not in {i for c in seen_by_chief["counts"] for i in c["case_ids"]}
    assert case["id"] not in {i for r in seen_by_chief["rules"] for i in r["case_ids"]}


async def test_naming_someone_later_takes_their_open_deadlines_of_the_case_from_them(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    case = await _register(client, staff, visit_body(county.village2, county.town, 2))
    [arrival] = [d for d in case["deadlines"] if d["kind"] == "arrival"]
    assert arrival["official_id"] == _id(county, "village2_chief")
    body = {
        "complained_official_ids": [_id(county, "village2_chief")],
        "complained_unit_ids": [],
        "confidential": False,
        "confidential_readers": [],
    }
    done = await client.put(f"/v1/cases/{case['id']}/confidentiality", json=body, headers=staff)
    assert done.status_code == 200, done.text
    [after] = [d for d in done.json()["deadlines"] if d["id"] == arrival["id"]]
    assert after["official_id"] is None and "complained_about" in after["flags"]
    assert after["status"] == "open"
