"""Cases handed down over HTTP by a higher office's system (issue 20 §2; seed 001 第二篇 (三),
(四); seed 002: most of a town's cases come this way): one case per reference number, the
result told back only to that office, never a confidential case, and leaders' cases owing an
owner leader (包案)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import County, act, answer_and_close, letter_body

pytestmark = pytest.mark.usefixtures("policy_restore")


async def _office(client: httpx.AsyncClient, admin: dict[str, str], level: str) -> dict[str, Any]:
    body = {"name": f"{level}信访局", "level": level, "code": f"T-{uuid.uuid4().hex[:10]}"}
    resp = await client.post("/v1/higher-offices", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _office_token(
    client: httpx.AsyncClient, admin: dict[str, str], office: dict[str, Any], unit: dict[str, Any]
) -> dict[str, str]:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {
        "name": f"{office['name']}系统",
        "role": "higher_office",
        "unit_id": unit["id"],
        "higher_office_id": office["id"],
        "expires_at": expires,
    }
    resp = await client.post("/v1/service-tokens", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    assert resp.json()["higher_office_id"] == office["id"]
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _transfer(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "assigned",
        "reference": f"市信交〔2026〕{uuid.uuid4().hex[:6]}号",
        "petitioners": [{"name": "钱七", "phone": "13700000011"}],
        "title": "宅基地纠纷",
        "content": "邻里宅基地界址争议。",
        **fields,
    }


async def _subscribe(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    events: list[str],
    office: dict[str, Any] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}", "event_types": events}
    if office is not None:
        body["higher_office_id"] = office["id"]
    return await client.post("/v1/webhook-subscriptions", json=body, headers=admin)


async def _deliveries(app: FastAPI, case_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(event, subscription id, payload) of every webhook delivery recorded for the case."""
    async with app.state.desk.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT event, subscription_id, payload FROM alerts "
                "WHERE case_id = :id AND channel = 'webhook' ORDER BY created_at"
            ),
            {"id": case_id},
        )
        return [(r.event, str(r.subscription_id), r.payload) for r in rows]


async def test_the_same_transfer_twice_is_one_case_that_owes_an_owner_leader(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    city = await _office(client, admin, "city")
    system = await _office_token(client, admin, city, county.county)
    due = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
    body = _transfer(due_at=due.isoformat(), wants_result=True)
    first = await client.post("/v1/transfers", json=body, headers=system)
    assert first.status_code == 201, first.text
    made = first.json()
    assert first.headers["location"] == f"/v1/transfers/{made['case_id']}"
    assert (made["reference"], made["kind"], made["status"]) == (
        body["reference"],
        "assigned",
        "registered",
    )
    # the same reference again, even with another body, is the same case
    again = await client.post("/v1/transfers", json={**body, "title": "重发"}, headers=system)
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == made["case_id"]

    staff = await county.headers(client, "county_staff")
    case = (await client.get(f"/v1/cases/{made['case_id']}", headers=staff)).json()
    assert (case["source"], case["higher_office_id"], case["lodged_level"]) == (
        "assigned",
        city["id"],
        "city",
    )
    # lodged with the office, the origin the token's county until the desk corrects it
    assert case["origin_unit_id"] == county.county["id"] and case["category"] == "unclassified"
    assert case["category_text"] is None
    kinds = {d["kind"]: d for d in case["deadlines"]}
    assert "owner_leader" in kinds  # 要结果: 逐件落实领导包案 (第二篇 (四).3)
    assert datetime.fromisoformat(kinds["national_report"]["due_at"]) == due
    listed = await client.get("/v1/cases", params={"higher_office_id": city["id"]}, headers=staff)
    assert [c["id"] for c in listed.json()["items"]] == [made["case_id"]]
    read = await client.get(f"/v1/transfers/{made['case_id']}", headers=system)
    assert read.status_code == 200 and read.json() == made


async def test_transfers_racing_with_one_reference_make_one_case(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    province = await _office(client, admin, "province")
    system = await _office_token(client, admin, province, county.county)
    body = _transfer(kind="transferred")
    answers = await asyncio.gather(
        *(client.post("/v1/transfers", json=body, headers=system) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["case_id"] for a in answers}) == 1
    async with app.state.desk.sessionmaker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM cases WHERE higher_reference = :r"),
            {"r": body["reference"]},
        )
    assert count == 1


async def test_only_an_office_token_hands_down_and_reads_only_its_own(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    city = await _office(client, admin, "city")
    other = await _office(client, admin, "province")
    system = await _office_token(client, admin, city, county.county)
    other_system = await _office_token(client, admin, other, county.county)
    staff = await county.headers(client, "county_staff")
    for headers in (admin, staff):
        refused = await client.post("/v1/transfers", json=_transfer(), headers=headers)
        assert refused.status_code == 403, refused.text
    made = (await client.post("/v1/transfers", json=_transfer(), headers=system)).json()
    assert (
        await client.get(f"/v1/transfers/{made['case_id']}", headers=other_system)
    ).status_code == 404
    # the office's token reads nothing else of the county
    assert (await client.get(f"/v1/cases/{made['case_id']}", headers=system)).status_code == 403
    assert (await client.get("/v1/cases", headers=system)).status_code == 403
    # the origin it names must lie in its unit's subtree
    elsewhere = await client.post(
        "/v1/transfers", json=_transfer(origin_unit_id=str(uuid.uuid4())), headers=system
    )
    assert elsewhere.status_code == 422, elsewhere.text
    named = await client.post(
        "/v1/transfers", json=_transfer(origin_unit_id=county.village2["id"]), headers=system
    )
    assert named.status_code == 201, named.text
    case = (await client.get(f"/v1/cases/{named.json()['case_id']}", headers=staff)).json()
    assert case["origin_unit_id"] == county.village2["id"]


async def test_a_token_and_an_official_of_role_higher_office_are_checked(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    city = await _office(client, admin, "city")
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    base = {"name": "x", "unit_id": county.county["id"], "expires_at": expires}
    for body in (
        {**base, "role": "higher_office"},  # no office
        {**base, "role": "viewer", "higher_office_id": city["id"]},  # an office for a viewer
        {**base, "role": "higher_office", "higher_office_id": str(uuid.uuid4())},  # unknown
    ):
        resp = await client.post("/v1/service-tokens", json=body, headers=admin)
        assert resp.status_code == 422, resp.text
    official = {
        "name": "某",
        "unit_id": county.county["id"],
        "role": "higher_office",
    }
    resp = await client.post("/v1/officials", json=official, headers=admin)
    assert resp.status_code == 422 and resp.json()["errors"][0]["pointer"] == "/role"


async def test_the_office_hears_of_its_cases_only_and_never_a_confidential_one(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    city = await _office(client, admin, "city")
    other = await _office(client, admin, "city")
    system = await _office_token(client, admin, city, county.county)
    events = [
        "transfer.accepted",
        "transfer.rejected",
        "transfer.replied",
        "transfer.closed",
        "transfer.reported",
    ]
    # transfer.* events go to no install-wide endpoint, and an office's endpoint gets only them
    assert (await _subscribe(client, admin, events)).status_code == 422
    assert (await _subscribe(client, admin, ["case.created"], city)).status_code == 422
    mine = await _subscribe(client, admin, events, city)
    theirs = await _subscribe(client, admin, events, other)
    everyone = await _subscribe(client, admin, ["case.created", "case.updated"])
    subscriptions = [s.json()["id"] for s in (mine, theirs, everyone)]
    assert mine.status_code == 201 and mine.json()["higher_office_id"] == city["id"]
    try:
        staff = await county.headers(client, "county_staff")
        made = (
            await client.post("/v1/transfers", json=_transfer(wants_result=True), headers=system)
        ).json()
        case = (await client.get(f"/v1/cases/{made['case_id']}", headers=staff)).json()
        await act(client, staff, case, "accept", {})
        await answer_and_close(client, county, staff, case)
        delivered = await _deliveries(app, case["id"])
        to_office = [(e, p) for e, s, p in delivered if s == subscriptions[0]]
        assert [e for e, _ in to_office] == [
            "transfer.accepted",
            "transfer.replied",
            "transfer.closed",
            "transfer.reported",
        ]
        assert all(p["data"]["reference"] == made["reference"] for _, p in to_office)
        report = to_office[-1][1]["data"]
        assert (report["outcome"], report["reply_text"], report["satisfied"]) == (
            "resolved",
            "已答复",
            True,
        )
        assert not any(s == subscriptions[1] for _, s, _ in delivered)  # another office: nothing
        install_wide = {e for e, s, _ in delivered if s == subscriptions[2]}
        assert install_wide == {"case.created", "case.updated"}  # never transfer.*

        # a confidential case tells its office nothing
        hidden = (await client.post("/v1/transfers", json=_transfer(), headers=system)).json()
        secret = {
            "complained_official_ids": [],
            "complained_unit_ids": [],
            "confidential": True,
            "confidential_readers": [],
        }
        put = await client.put(
            f"/v1/cases/{hidden['case_id']}/confidentiality", json=secret, headers=staff
        )
        assert put.status_code == 200, put.text
        await act(client, staff, {"id": hidden["case_id"]}, "accept", {})
        assert not [
            s for _, s, _ in await _deliveries(app, hidden["case_id"]) if s == subscriptions[0]
        ]
    finally:
        for sid in subscriptions:
            await client.delete(f"/v1/webhook-subscriptions/{sid}", headers=admin)


async def test_a_leaders_instruction_is_a_source_and_owes_an_owner_leader(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """领导批示 as the source of a case (seed 001 第一篇 (三).3 领导接访批示案件台帐), and a
    leader's case owing an owner leader (第二篇 (四).3)."""
    staff = await county.headers(client, "county_staff")
    chief = county.officials["county_chief"]
    body = letter_body(
        county, source="leader_instruction", instructed_by=chief["id"], instruction="请速办"
    )
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["source"] == "leader_instruction"
    assert [d["kind"] for d in case["deadlines"]].count("owner_leader") == 1
    for change, pointer in [
        ({"source": "leader_instruction", "instruction": "x"}, "/instructed_by"),
        ({"source": "leader_instruction", "instructed_by": chief["id"]}, "/instruction"),
        (
            {
                "source": "leader_instruction",
                "instructed_by": county.officials["grid"]["id"],
                "instruction": "x",
            },
            "/instructed_by",
        ),
        ({"instructed_by": chief["id"]}, "/instructed_by"),
    ]:
        refused = await client.post("/v1/cases", json=letter_body(county, **change), headers=staff)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == pointer

    # a leader's instruction on a case received at their reception: it owes an owner leader,
    # once, and naming one meets it
    plain = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    assert "owner_leader" not in {d["kind"] for d in plain["deadlines"]}
    leader = await county.headers(client, "county_chief")
    await act(client, leader, plain, "instruct", {"text": "请镇里包案"})
    await act(client, leader, plain, "instruct", {"text": "再催"})
    after = (await client.get(f"/v1/cases/{plain['id']}", headers=staff)).json()
    owed = [d for d in after["deadlines"] if d["kind"] == "owner_leader"]
    assert [d["status"] for d in owed] == ["open"]
    await act(
        client,
        staff,
        plain,
        "set_owner_leader",
        {"official_id": county.officials["town_chief"]["id"]},
    )
    done = (await client.get(f"/v1/cases/{plain['id']}", headers=staff)).json()
    assert [d["status"] for d in done["deadlines"] if d["kind"] == "owner_leader"] == ["met"]


async def test_the_office_sends_back_and_supervises_only_the_cases_it_handed_down(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """退回重办 and 督办 by the office's own system (seed 001 第二篇 (四).2, (四).5)."""
    city = await _office(client, admin, "city")
    other = await _office(client, admin, "city")
    system = await _office_token(client, admin, city, county.county)
    other_system = await _office_token(client, admin, other, county.county)
    staff = await county.headers(client, "county_staff")
    made = (await client.post("/v1/transfers", json=_transfer(), headers=system)).json()
    case = {"id": made["case_id"]}
    due = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    notice = {"reason": "市信访局督办", "due_at": due, "reference": "DB-1"}
    supervised = await client.post(
        f"/v1/transfers/{case['id']}/supervise", json=notice, headers=system
    )
    assert supervised.status_code == 200, supervised.text
    full = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert [d["kind"] for d in full["deadlines"]].count("supervision") == 1

    # not yet answered: nothing to send back (409); another office: as if it did not exist
    back = {"reason": "事实不清", "days": 15}
    early = await client.post(f"/v1/transfers/{case['id']}/return", json=back, headers=system)
    assert early.status_code == 409, early.text
    for path, body in (
        (f"/v1/transfers/{case['id']}/return", back),
        (f"/v1/transfers/{case['id']}/supervise", notice),
    ):
        assert (await client.post(path, json=body, headers=other_system)).status_code == 404

    await act(client, staff, case, "accept", {})
    await answer_and_close(client, county, staff, case)
    returned = await client.post(f"/v1/transfers/{case['id']}/return", json=back, headers=system)
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "assigned" and returned.json()["outcome"] is None
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    [sent] = [e for e in events if e["action"] == "return_for_rehandling"]
    assert sent["data"]["reason"] == "事实不清" and sent["actor_id"] not in {
        o["id"] for o in county.officials.values()
    }  # the office's account, not an official of the county

    # a case of the county's own intake is not the office's to send back
    own = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    refused = await client.post(f"/v1/transfers/{own['id']}/return", json=back, headers=system)
    assert refused.status_code == 404
