"""Escalation chains: steps after delays until acknowledged, stopped by ack and by arrival,
manual escalation, re-notification, contact fallback, failure escalating, and webhook events."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select

from api.models.outbox import OutboxMessage
from shared.contracts import advance_escalation_job_id, renotify_escalation_job_id
from tests.conftest import (
    PUBLIC_BASE_URL,
    County,
    arrivals,
    deadline_status,
    flag_due,
    report_attempt,
    visit_body,
)

pytestmark = pytest.mark.usefixtures("policy_restore")


async def _chain_policy(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    doc["escalation"]["arrival"] = [
        {"notify": ["next_unit_chief"]},
        {"notify": ["county_petition_office"], "after": "PT30S"},
        {"notify": ["next_unit_chief", "county_petition_office"], "after": "PT30S"},
    ]
    doc["escalation"]["renotify_after"] = "PT1H"
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200


async def _missed_visit(
    county: County, client: httpx.AsyncClient, worker: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    deadline = arrivals(case)[0]
    await asyncio.sleep(1.1)
    await flag_due(client, worker)
    assert await deadline_status(client, staff, deadline) == "missed"
    return case, deadline


async def _escalations(
    client: httpx.AsyncClient, admin: dict[str, str], case: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"]
    return sorted(rows, key=lambda e: e["step"])


async def _advance(
    client: httpx.AsyncClient, worker: dict[str, str], deadline: dict[str, Any], step: int
) -> str:
    resp = await client.post(
        "/v1/internal/escalations/advance",
        json={"deadline_id": deadline["id"], "step": step},
        headers=worker,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["status"])


async def test_chain_walks_up_step_by_step_until_acknowledged(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    await _chain_policy(client, admin)
    case, deadline = await _missed_visit(county, client, worker_headers)
    async with app.state.desk.sessionmaker() as session:
        job = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.job_id == advance_escalation_job_id(deadline["id"], 1)
                )
            )
        ).scalar_one()
    assert job.defer_until is not None  # step 1 is due 30 s after step 0
    assert await _advance(client, worker_headers, deadline, 1) == "created"
    assert await _advance(client, worker_headers, deadline, 1) == "exists"
    steps = await _escalations(client, admin, case)
    assert [e["step"] for e in steps] == [0, 1]
    assert steps[0]["recipients"] == [county.officials["town_chief"]["id"]]
    assert steps[1]["recipients"] == [county.officials["county_staff"]["id"]]
    assert steps[1]["reason"] == "no_acknowledgement"

    county_staff = await county.headers(client, "county_staff")
    ack = await client.post(f"/v1/escalations/{steps[1]['id']}/ack", headers=county_staff)
    assert ack.status_code == 200
    assert await _advance(client, worker_headers, deadline, 2) == "stopped"
    assert len(await _escalations(client, admin, case)) == 2


async def test_arrival_stops_the_arrival_chain(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    case, deadline = await _missed_visit(county, client, worker_headers)
    chief = await county.headers(client, "village2_chief")
    await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=chief)
    assert await _advance(client, worker_headers, deadline, 1) == "stopped"


async def test_manual_escalation_jumps_to_a_later_step(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    case, deadline = await _missed_visit(county, client, worker_headers)
    first = (await _escalations(client, admin, case))[0]
    staff = await county.headers(client, "town_staff")
    jumped = await client.post(
        f"/v1/escalations/{first['id']}/escalate", json={"step": 2}, headers=staff
    )
    assert jumped.status_code == 201, jumped.text
    assert jumped.json()["reason"] == "manual"
    assert set(jumped.json()["recipients"]) == {
        county.officials["town_chief"]["id"],
        county.officials["county_staff"]["id"],
    }
    again = await client.post(
        f"/v1/escalations/{first['id']}/escalate", json={"step": 2}, headers=staff
    )
    assert again.status_code == 422
    assert await _advance(client, worker_headers, deadline, 1) == "exists"
    grid = await county.headers(client, "grid")
    refused = await client.post(
        f"/v1/escalations/{first['id']}/escalate", json={"step": 1}, headers=grid
    )
    assert refused.status_code == 403


async def test_acknowledged_but_unresolved_is_renotified(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    await _chain_policy(client, admin)
    case, _ = await _missed_visit(county, client, worker_headers)
    first = (await _escalations(client, admin, case))[0]
    town_chief = await county.headers(client, "town_chief")
    await client.post(f"/v1/escalations/{first['id']}/ack", headers=town_chief)
    async with app.state.desk.sessionmaker() as session:
        job = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.job_id == renotify_escalation_job_id(first["id"], 1)
                )
            )
        ).scalar_one()
    assert job.defer_until is not None
    path = "/v1/internal/escalations/renotify"
    body = {"escalation_id": first["id"]}
    resp = await client.post(path, json={**body, "round": 1}, headers=worker_headers)
    assert resp.json()["status"] == "created"
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    renotified = [a for a in alerts if a["purpose"] == "renotify"]
    assert [a["official_id"] for a in renotified] == [county.officials["town_chief"]["id"]]
    chief = await county.headers(client, "village2_chief")
    await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=chief)
    resp = await client.post(path, json={**body, "round": 2}, headers=worker_headers)
    assert resp.json()["status"] == "end"


async def test_failed_delivery_tries_the_next_contact_then_escalates(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    town_chief = county.officials["town_chief"]
    await client.patch(
        f"/v1/officials/{town_chief['id']}",
        json={
            "contacts": [
                {
                    "channel": "dingtalk",
                    "address": "http://127.0.0.1:9/robot/send?access_token=x",
                    "secret": "SECtest",
                },
                {"channel": "sms", "address": town_chief["phone"]},
            ]
        },
        headers=admin,
    )
    case, _ = await _missed_visit(county, client, worker_headers)

    async def alerts_to_chief() -> list[dict[str, Any]]:
        rows = (
            await client.get(
                "/v1/alerts",
                params={"case_id": case["id"], "official_id": town_chief["id"]},
                headers=admin,
            )
        ).json()["items"]
        return sorted(rows, key=lambda a: a["created_at"])

    first = (await alerts_to_chief())[0]
    assert first["channel"] == "dingtalk"
    failure = {"ok": False, "attempt": 8, "error": "errcode 310000", "final": True}
    await report_attempt(client, worker_headers, first["id"], failure)
    fallback = (await alerts_to_chief())[1]
    assert (fallback["channel"], fallback["recipient"]) == ("sms", town_chief["phone"])
    # each channel its own template: markdown for the robot, plain text for the SMS, the same
    # acknowledgement link in both
    assert "[点此签收](" in first["text"] and "**" in first["text"]
    assert fallback["text"].startswith("【到位超时督办】") and "**" not in fallback["text"]
    link = re.search(r"/a/[\w-]+", first["text"])
    assert link is not None and link.group(0) in fallback["text"]
    await report_attempt(client, worker_headers, fallback["id"], failure)
    steps = await _escalations(client, admin, case)
    assert [e["step"] for e in steps] == [0, 1]  # nobody could be told: the chain moves up now


async def test_webhook_subscribers_get_events_without_petitioner_details(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    resp = await client.post(
        "/v1/webhook-subscriptions",
        json={
            "url": f"http://127.0.0.1:9/hook/{uuid.uuid4().hex}",
            "event_types": ["case.created", "deadline.missed", "alert.failed"],
        },
        headers=admin,
    )
    assert resp.status_code == 201, resp.text
    subscription = resp.json()
    assert subscription["secret"].startswith("whsec_")
    read = await client.get(f"/v1/webhook-subscriptions/{subscription['id']}", headers=admin)
    assert "secret" not in read.json()
    try:
        staff = await county.headers(client, "town_staff")
        case = (
            await client.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
        ).json()
        alerts = (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        events = [a for a in alerts if a["channel"] == "webhook"]
        assert [a["text"] for a in events] == ["case.created"]
        assert events[0]["recipient"] == subscription["url"]
        assert "张三" not in str(events[0]) and "13800000001" not in str(events[0])
        gone = {"ok": False, "attempt": 1, "error": "410", "final": True, "gone": True}
        await report_attempt(client, worker_headers, events[0]["id"], gone)
        after = await client.get(f"/v1/webhook-subscriptions/{subscription['id']}", headers=admin)
        assert after.json()["active"] is False
    finally:
        await client.delete(f"/v1/webhook-subscriptions/{subscription['id']}", headers=admin)


async def test_webhook_urls_on_private_networks_are_refused_by_default(
    settings: Any, admin: dict[str, str]
) -> None:
    from api.app import create_app

    strict = create_app(settings.model_copy(update={"webhooks_allow_private": False}))
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for url in ("http://127.0.0.1/hook", "http://10.0.0.8/hook", "http://[fd00::1]/x"):
                resp = await http.post(
                    "/v1/webhook-subscriptions",
                    json={"url": url, "event_types": ["case.created"]},
                    headers=admin,
                )
                assert resp.status_code == 422, url
                assert resp.json()["errors"][0]["pointer"] == "/url"


def _link_token(text: str) -> str:
    match = re.search(re.escape(PUBLIC_BASE_URL) + r"/a/([A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)


async def test_one_click_link_acknowledges_once(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    case, _ = await _missed_visit(county, client, worker_headers)
    alert = next(
        a
        for a in (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        if a["purpose"] == "escalation"
    )
    token = _link_token(alert["text"])
    page = await client.get(f"/a/{token}")
    assert page.status_code == 200 and "<form method=post" in page.text
    assert (await _escalations(client, admin, case))[0]["status"] == "open"  # GET: no effect
    done = await client.post(f"/a/{token}")
    assert done.status_code == 200 and "已签收" in done.text
    escalation = (await _escalations(client, admin, case))[0]
    assert escalation["status"] == "acknowledged"
    assert escalation["acknowledged_by"] == county.officials["town_chief"]["id"]
    again = await client.post(f"/a/{token}")
    assert again.status_code == 409
    assert (await client.post("/a/not-a-real-token")).status_code == 404


async def test_expired_link_is_refused(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["escalation"]["ack_link_ttl"] = "PT1S"
    await client.put("/v1/policies", json=doc, headers=admin)
    case, _ = await _missed_visit(county, client, worker_headers)
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    token = _link_token(next(a for a in alerts if a["purpose"] == "escalation")["text"])
    await asyncio.sleep(1.1)
    expired = await client.post(f"/a/{token}")
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]


async def test_sms_reply_acknowledges_the_newest_escalation(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    await _chain_policy(client, admin)
    case, _ = await _missed_visit(county, client, worker_headers)
    phone = county.officials["town_chief"]["phone"]
    base = "/v1/inbound/sms"
    wrong = await client.post(
        f"{base}/generic", params={"token": "nope"}, json={"from": phone, "text": "1"}
    )
    assert wrong.status_code == 401
    chatter = await client.post(
        f"{base}/generic",
        params={"token": "inbound-token-for-tests"},
        json={"from": phone, "text": "在开会"},
    )
    assert chatter.json() == {"received": 1, "acknowledged": 0}
    reply = await client.post(
        f"{base}/tencent",
        params={"token": "inbound-token-for-tests"},
        json={"mobile": phone, "nationcode": "86", "text": "收到", "time": 1795400000},
    )
    assert reply.status_code == 200
    assert reply.json()["result"] == 0 and reply.json()["acknowledged"] == 1
    escalation = (await _escalations(client, admin, case))[0]
    assert escalation["status"] == "acknowledged"
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=admin)).json()
    ack = next(e for e in events if e["action"] == "escalation_acknowledged")
    assert ack["client"] == "sms-reply"


async def test_aliyun_batch_push_is_understood(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post(
        "/v1/inbound/sms/aliyun",
        params={"token": "inbound-token-for-tests"},
        json=[{"phone_number": "13000000000", "content": "1", "send_time": "2026-11-23 10:00:00"}],
    )
    assert resp.status_code == 200
    assert resp.json()["code"] == 0 and resp.json()["received"] == 1
    bad = await client.post(
        "/v1/inbound/sms/aliyun", params={"token": "inbound-token-for-tests"}, json={"x": 1}
    )
    assert bad.status_code == 422


async def test_a_storm_of_misses_becomes_one_bundled_message(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    doc["alerts"] = {"max_per_window": 2, "window": "PT10M"}
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    staff = await county.headers(client, "town_staff")
    cases = [
        (
            await client.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
        ).json()
        for _ in range(6)
    ]
    await asyncio.sleep(1.1)
    swept = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert swept.json()["deadlines_missed"] >= 6
    town_chief = county.officials["town_chief"]
    alerts = (
        await client.get(
            "/v1/alerts", params={"official_id": town_chief["id"], "limit": 200}, headers=admin
        )
    ).json()["items"]
    assert sorted(a["status"] for a in alerts) == ["bundled"] * 4 + ["pending"] * 2
    async with app.state.desk.sessionmaker() as session:
        flushes = (
            (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.job_id.like(f"flush-bundle:sms:{town_chief['phone']}:%")
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len({f.job_id for f in flushes}) == 1  # one flush per recipient and window
    flushed = await client.post(
        "/v1/internal/alerts/bundles/flush",
        json={"channel": "sms", "recipient": town_chief["phone"]},
        headers=worker_headers,
    )
    bundle_id = flushed.json()["bundle_alert_id"]
    assert bundle_id is not None
    alerts = (
        await client.get(
            "/v1/alerts", params={"official_id": town_chief["id"], "limit": 200}, headers=admin
        )
    ).json()["items"]
    bundle = next(a for a in alerts if a["id"] == bundle_id)
    assert bundle["purpose"] == "bundle" and bundle["status"] == "pending"
    assert "4条" in bundle["text"]
    numbers = {c["number"] for c in cases}
    assert sum(n in bundle["text"] for n in numbers) == 4
    again = await client.post(
        "/v1/internal/alerts/bundles/flush",
        json={"channel": "sms", "recipient": town_chief["phone"]},
        headers=worker_headers,
    )
    assert again.json()["bundle_alert_id"] is None


def _unanswered(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("petitiondesk_escalations_unanswered_total", {"reason": reason})
        or 0.0
    )


async def test_a_chain_nobody_answers_ends_at_the_county_petition_office(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    app: FastAPI,
) -> None:
    """Issue 19: a chain that runs out unacknowledged does not end in silence: after its last
    step (and the policy's `unanswered_after`) the county petition office is told, counted, and
    subscribers hear `escalation.unanswered`."""
    await _chain_policy(client, admin)
    created = await client.post(
        "/v1/webhook-subscriptions",
        json={
            "url": f"http://127.0.0.1:9/hook/{uuid.uuid4().hex}",
            "event_types": ["escalation.unanswered"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    try:
        before = _unanswered("chain_exhausted")
        case, deadline = await _missed_visit(county, client, worker_headers)
        assert await _advance(client, worker_headers, deadline, 1) == "created"
        assert await _advance(client, worker_headers, deadline, 2) == "created"
        async with app.state.desk.sessionmaker() as session:  # the last step schedules the end
            job = (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.job_id == advance_escalation_job_id(deadline["id"], 3)
                    )
                )
            ).scalar_one()
        assert job.defer_until is not None
        assert await _advance(client, worker_headers, deadline, 3) == "created"
        assert await _advance(client, worker_headers, deadline, 3) == "exists"
        assert await _advance(client, worker_headers, deadline, 4) == "end"
        steps = await _escalations(client, admin, case)
        assert [e["step"] for e in steps] == [0, 1, 2, 3]
        assert steps[3]["reason"] == "unanswered"
        assert steps[3]["recipients"] == [county.officials["county_staff"]["id"]]
        assert _unanswered("chain_exhausted") == before + 1
        # the dashboard's list of misses nobody answered holds that step, and only it
        shown = await client.get(
            "/v1/escalations",
            params={"case_id": case["id"], "unanswered": "true", "status": "open"},
            headers=admin,
        )
        assert [e["id"] for e in shown.json()["items"]] == [steps[3]["id"]]
        others = await client.get(
            "/v1/escalations", params={"case_id": case["id"], "unanswered": "false"}, headers=admin
        )
        assert sorted(e["step"] for e in others.json()["items"]) == [0, 1, 2]
        alerts = (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        assert [a["text"] for a in alerts if a["channel"] == "webhook"] == ["escalation.unanswered"]
    finally:
        await client.delete(f"/v1/webhook-subscriptions/{created.json()['id']}", headers=admin)


async def test_a_step_with_nobody_to_notify_goes_to_the_county_petition_office(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    # the discipline office is not configured: nobody holds that post
    doc["escalation"]["arrival"] = [{"notify": ["discipline_office"]}]
    doc["escalation"]["discipline_unit_id"] = None
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    before = _unanswered("nobody_to_notify")
    case, _ = await _missed_visit(county, client, worker_headers)
    [step] = await _escalations(client, admin, case)
    assert step["recipients"] == [county.officials["county_staff"]["id"]]
    assert step["reason"] == "nobody_to_notify"
    assert _unanswered("nobody_to_notify") == before + 1
    shown = await client.get(
        "/v1/escalations", params={"case_id": case["id"], "unanswered": "true"}, headers=admin
    )
    assert [e["id"] for e in shown.json()["items"]] == [step["id"]]
