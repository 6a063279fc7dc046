"""Follow-up calls after the answer (回访), the leader's instruction (批示) and sign-off, and
the petitioner's own lookup with the case number and secret (条例 art. 21), over HTTP."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from api.kit.timeutil import local
from tests.conftest import County, act, letter_body, make_county, miss_now


def _assignment(county: County) -> dict[str, Any]:
    return {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "入户核实",
        "time_limit_days": 30,
    }


async def _replied(
    client: httpx.AsyncClient, county: County, staff: dict[str, str]
) -> dict[str, Any]:
    """A letter to the county, accepted, assigned to the town and answered."""
    resp = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    await act(client, staff, case, "accept", {})
    await act(client, staff, case, "assign", _assignment(county))
    return await act(client, staff, case, "reply", {"text": "经核实，工资已于本月发放。"})


def _open(case: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [d for d in case["deadlines"] if d["kind"] == kind and d["status"] == "open"]


async def test_the_answer_owes_a_call_back_recorded_try_by_try(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    before = datetime.now(UTC)
    case = await _replied(client, county, staff)
    [due] = _open(case, "follow_up")
    assert due["official_id"] == county.officials["county_staff"]["id"]
    assert due["unit_id"] == county.county["id"]
    # the default policy: within 7 days of the answer
    assert timedelta(days=6) < datetime.fromisoformat(due["due_at"]) - before < timedelta(days=8)

    # not reached: the try is kept, the deadline stays open
    case = await act(client, staff, case, "follow_up", {"method": "phone", "reached": False})
    assert case["satisfied"] is None and _open(case, "follow_up")

    # a reached petitioner without an opinion, or an opinion of someone not reached: 422
    for body, pointer in (
        ({"method": "phone", "reached": True}, ""),
        ({"method": "visit", "reached": False, "satisfied": True}, ""),
        ({"method": "fax", "reached": False}, "/method"),
    ):
        resp = await client.post(f"/v1/cases/{case['id']}/follow_up", json=body, headers=staff)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        if pointer:
            assert any(e["pointer"] == pointer for e in resp.json()["errors"])
    calls = (await client.get(f"/v1/cases/{case['id']}/follow_ups", headers=staff)).json()
    assert [c["reached"] for c in calls] == [False]  # the refused ones wrote nothing

    # reached and not satisfied: the opinion is the case's, the deadline met
    case = await act(
        client,
        staff,
        case,
        "follow_up",
        {"method": "visit", "reached": True, "satisfied": False, "comment": "嫌补发太晚"},
    )
    assert case["satisfied"] is False and case["feedback_comment"] == "嫌补发太晚"
    assert not _open(case, "follow_up")
    [met] = [d for d in case["deadlines"] if d["kind"] == "follow_up"]
    assert met["status"] == "met"
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    tries = [e for e in timeline if e["action"] == "follow_up"]
    assert [e["data"]["reached"] for e in tries] == [False, True]
    assert tries[1]["data"]["method"] == "visit"

    # the case closes on that opinion, and may be called back again after closing
    case = await act(client, staff, case, "close", {"outcome": "stabilized"})
    case = await act(
        client, staff, case, "follow_up", {"method": "sms", "reached": True, "satisfied": True}
    )
    assert case["status"] == "closed" and case["satisfied"] is True
    calls = (await client.get(f"/v1/cases/{case['id']}/follow_ups", headers=staff)).json()
    assert [c["method"] for c in calls] == ["phone", "visit", "sms"]


async def test_follow_up_is_the_desks_and_in_its_territory(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    case = await _replied(client, county, staff)
    body = {"method": "phone", "reached": True, "satisfied": True}
    grid = await county.headers(client, "grid")
    resp = await client.post(f"/v1/cases/{case['id']}/follow_up", json=body, headers=grid)
    assert resp.status_code == 403, resp.text
    other = await make_county(client, admin)
    outsider = await other.headers(client, "county_staff")
    for method, path in (("post", "follow_up"), ("get", "follow_ups")):
        resp = await client.request(
            method,
            f"/v1/cases/{case['id']}/{path}",
            json=body if method == "post" else None,
            headers=outsider,
        )
        assert resp.status_code == 404, resp.text
    # before the answer there is nobody to call back
    fresh = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    resp = await client.post(f"/v1/cases/{fresh['id']}/follow_up", json=body, headers=staff)
    assert resp.status_code == 409 and "follow_up" not in resp.json()["allowed_actions"]


async def test_a_missed_call_back_escalates(
    app: FastAPI, client: httpx.AsyncClient, county: County, worker_headers: dict[str, str]
) -> None:
    staff = await county.headers(client, "county_staff")
    case = await _replied(client, county, staff)
    [due] = _open(case, "follow_up")
    await miss_now(app, client, worker_headers, due["id"])
    escalations = (
        await client.get("/v1/escalations", params={"deadline_id": due["id"]}, headers=staff)
    ).json()["items"]
    assert len(escalations) == 1 and escalations[0]["step"] == 0
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=staff)).json()[
        "items"
    ]
    missed = [a for a in alerts if a["purpose"] == "escalation"]
    assert missed and all("回访时限" in a["text"] for a in missed)


async def test_a_leaders_instruction_and_the_sign_off_it_calls_for(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    chief = await county.headers(client, "town_chief")
    deputy = await county.headers(client, "town_deputy")
    created = await client.post(
        "/v1/cases", json=letter_body(county, lodged_level="town"), headers=staff
    )
    assert created.status_code == 201, created.text
    case = created.json()
    # petition staff and grid workers do not instruct; an empty instruction is no instruction
    for who in (staff, await county.headers(client, "grid")):
        await act(client, who, case, "instruct", {"text": "尽快办理"}, expect=403)
    resp = await client.post(f"/v1/cases/{case['id']}/instruct", json={"text": ""}, headers=chief)
    assert resp.status_code == 422 and resp.json()["errors"][0]["pointer"] == "/text"

    case = await act(client, chief, case, "instruct", {"text": "请司法所三日内入户调解"})
    assert case["instructed_by"] == county.officials["town_chief"]["id"]
    assert case["instruction"] == "请司法所三日内入户调解"
    ledger = (
        await client.get(
            "/v1/cases",
            params={"instructed_by": county.officials["town_chief"]["id"]},
            headers=deputy,
        )
    ).json()["items"]
    assert [c["id"] for c in ledger] == [case["id"]]

    await act(client, staff, case, "accept", {})
    await act(client, staff, case, "assign", _assignment(county))
    await act(client, staff, case, "reply", {"text": "已调解"})
    await act(client, staff, case, "feedback", {"satisfied": True})
    case = await act(client, staff, case, "close", {"outcome": "resolved"})
    # 谁批示谁签字: another leader may not sign it off, the instructing one does
    refused = await client.post(f"/v1/cases/{case['id']}/sign_off", json={}, headers=deputy)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    case = await act(client, chief, case, "sign_off", {"note": "同意归档"})
    assert case["status"] == "archived"
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=chief)).json()
    [instructed] = [e for e in timeline if e["action"] == "instruct"]
    assert instructed["data"]["text"] == "请司法所三日内入户调解"


async def test_the_petitioner_looks_up_progress_with_number_and_secret(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    created = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    case = created.json()
    secret = case["lookup_secret"]
    assert len(secret) == 8 and set(secret) <= set(string.ascii_uppercase + string.digits)
    assert not set(secret) & set("01IOL")
    again = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert "lookup_secret" not in again  # shown once, at registration

    lookup = {"number": case["number"], "secret": secret.lower()}  # read out, written by hand
    resp = await client.post("/v1/public/case-lookup", json=lookup)
    assert resp.status_code == 200, resp.text
    progress = resp.json()
    assert progress["status"] == "registered" and progress["status_name"] == "已登记"
    assert (progress["category"], progress["category_name"]) == ("labour.wages", "拖欠工资")
    assert [s["step"] for s in progress["steps"]] == ["registered"]
    assert progress["due_name"] == "受理告知"

    await act(client, staff, case, "accept", {})
    await act(client, staff, case, "assign", _assignment(county))
    await act(client, staff, case, "reply", {"text": "经核实，工资已于本月发放。"})
    progress = (await client.post("/v1/public/case-lookup", json=lookup)).json()
    assert progress["status_name"] == "已答复"
    assert progress["handling_unit"] == county.town["name"]
    assert [s["step"] for s in progress["steps"]] == ["registered", "accept", "assign", "reply"]
    assert progress["steps"][-1]["text"] == "经核实，工资已于本月发放。"
    # only what is meant for the petitioner: no officials, plans or internal deadlines
    text = resp.text + str(progress)
    for hidden in ("official", "入户核实", county.officials["town_staff"]["name"], "13700000000"):
        assert hidden not in text

    # a wrong secret and a wrong number answer alike
    for body in (
        {"number": case["number"], "secret": "WRONG234"},
        {"number": "XF-1999-000001", "secret": secret},
    ):
        miss = await client.post("/v1/public/case-lookup", json=body)
        assert (
            miss.status_code == 404 and miss.headers["content-type"] == "application/problem+json"
        )
    bad = await client.post("/v1/public/case-lookup", json={"number": case["number"]})
    assert bad.status_code == 422

    # the desk issues a new secret; the old one stops working
    grid = await county.headers(client, "grid")
    resp = await client.post(f"/v1/cases/{case['id']}/lookup_secret", headers=grid)
    assert resp.status_code == 403
    resp = await client.post(f"/v1/cases/{case['id']}/lookup_secret", headers=staff)
    assert resp.status_code == 201, resp.text
    fresh = resp.json()["lookup_secret"]
    assert fresh != secret and resp.json()["number"] == case["number"]
    assert (await client.post("/v1/public/case-lookup", json=lookup)).status_code == 404
    lookup["secret"] = fresh
    assert (await client.post("/v1/public/case-lookup", json=lookup)).status_code == 200


async def test_guessing_secrets_locks_the_number(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    case = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    other = await make_county(client, admin)
    outsider = await other.headers(client, "county_staff")
    resp = await client.post(f"/v1/cases/{case['id']}/lookup_secret", headers=outsider)
    assert resp.status_code == 404
    # Numbers restart in every county, so this number may already carry misses of earlier
    # tests from this address: at most login_max_failures (5) misses before the lock.
    answers = []
    for n in range(6):
        miss = await client.post(
            "/v1/public/case-lookup", json={"number": case["number"], "secret": f"GUESS{n}23"}
        )
        answers.append(miss.status_code)
    assert set(answers) <= {404, 429} and answers[-1] == 429, answers
    locked = await client.post(
        "/v1/public/case-lookup",
        json={"number": case["number"], "secret": case["lookup_secret"]},
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


async def test_call_backs_and_instructions_on_the_dashboard(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    chief = await county.headers(client, "county_chief")
    first = await _replied(client, county, staff)
    second = await _replied(client, county, staff)
    await act(client, staff, first, "follow_up", {"method": "phone", "reached": False})
    await act(
        client, staff, first, "follow_up", {"method": "phone", "reached": True, "satisfied": True}
    )
    await act(
        client, staff, second, "follow_up", {"method": "visit", "reached": True, "satisfied": False}
    )
    third = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    await act(client, chief, third, "instruct", {"text": "专人跟进"})

    today = local(datetime.now(UTC)).date()  # the dashboard's days are local days
    params = {
        "unit_id": county.county["id"],
        "from": today.isoformat(),
        "to": (today + timedelta(days=10)).isoformat(),
    }
    resp = await client.get("/v1/stats/prevention", params=params, headers=chief)
    assert resp.status_code == 200, resp.text
    figures = resp.json()["follow_up"]
    assert figures["owed"] == 2 and figures["on_time"] == 2 and figures["missed"] == 0
    assert figures["calls"] == 3
    assert figures["reach_rate"] == {"numerator": 2, "denominator": 3, "rate": 0.6667}
    assert figures["satisfaction"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["instructed_cases"] == 1
    # the town's dashboard sees only its own subtree: these cases were taken in at the county
    town = await client.get(
        "/v1/stats/prevention", params={**params, "unit_id": county.town["id"]}, headers=chief
    )
    assert town.json()["follow_up"]["calls"] == 0
