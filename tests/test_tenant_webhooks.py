"""Counties as tenants of one deployment (issue 24): webhook subscriptions and service tokens
scoped to a unit subtree.

Two counties under one city, each with its own administrator. Four subscriptions: county A's
(made by A's admin), county B's (by B's admin), the city's (by the city's admin) and the
deployment's (by its admin). Cases registered in A and B, and a deadline missed in A; what the
transactions recorded is driven to local Standard Webhooks receivers the way the worker sends it
(the outbox's delivery jobs, the addresses read from the API, `WebhookSender`), and every
delivery is verified with the Standard Webhooks reference library (`standardwebhooks`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from shared.contracts import AlertMessage
from tests.conftest import arrivals, login, miss_now, report_attempt, visit_body
from tests.fakes.webhook_receivers import FakeWebhookReceiver
from worker.channels.base import Outgoing
from worker.channels.webhook import WebhookSender

EVENTS = ["case.created", "deadline.missed"]
SCOPES = ("a", "b", "city", "deployment")


@dataclass
class Tenants:
    """A city with two counties (town, village, petition staff each) and their admins."""

    city: dict[str, Any]
    counties: dict[str, dict[str, Any]]  # "a", "b"
    towns: dict[str, dict[str, Any]]
    villages: dict[str, dict[str, Any]]
    staff: dict[str, dict[str, str]]  # headers of each county's petition staff
    admins: dict[str, dict[str, str]]  # headers of "a", "b" and "city" admins


async def _unit(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, level: str, parent: Any
) -> dict[str, Any]:
    body = {"name": name, "level": level, "parent_id": parent and parent["id"]}
    resp = await client.post("/v1/units", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _official(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    unit: dict[str, Any],
    role: str,
    tag: str,
    *,
    logs_in: bool = True,
) -> dict[str, str]:
    """A new official of `role` in `unit` (a phone number too: summoned by SMS), and the
    headers of their login (none without `logs_in`: hashing passwords takes time)."""
    name = f"{role}-{unit['name']}-{tag}"
    body = {"name": name, "phone": f"139{uuid.uuid4().int % 10**8:08d}", "unit_id": unit["id"]}
    body |= {"role": role} | ({"username": name, "password": f"pw-{name}"} if logs_in else {})
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return await login(client, name, f"pw-{name}") if logs_in else {}


def _letter(village: dict[str, Any]) -> dict[str, Any]:
    """A letter from a village to its county."""
    return {
        "channel": "letter",
        "origin_unit_id": village["id"],
        "lodged_level": "county",
        "petitioners": [{"name": "赵六", "phone": "13700000000"}],
        "category": "labour.wages",
        "title": "拖欠工资",
        "content": "工程款拖欠。",
    }


@pytest.fixture(scope="module")
async def tenants(client: httpx.AsyncClient, admin: dict[str, str]) -> Tenants:
    """As the deployment's admin: a city, two counties under it with a town and a village
    each, a petition officer in each county and an admin of each county and of the city."""
    tag = uuid.uuid4().hex[:6]
    city = await _unit(client, admin, f"江城市-{tag}", "city", None)
    counties, towns, villages, staff, admins = {}, {}, {}, {}, {}
    for key, name in (("a", "东县"), ("b", "西县")):
        counties[key] = await _unit(client, admin, f"{name}-{tag}", "county", city)
        towns[key] = await _unit(client, admin, f"{name}镇-{tag}", "town", counties[key])
        villages[key] = await _unit(client, admin, f"{name}村-{tag}", "village", towns[key])
        staff[key] = await _official(client, admin, counties[key], "petition_staff", tag)
        for unit in (counties[key], towns[key], villages[key]):  # summoned to a visit
            await _official(client, admin, unit, "chief", tag, logs_in=False)
        admins[key] = await _official(client, admin, counties[key], "admin", tag)
    admins["city"] = await _official(client, admin, city, "admin", tag)
    return Tenants(city, counties, towns, villages, staff, admins)


@pytest.fixture
async def receivers() -> AsyncIterator[dict[str, FakeWebhookReceiver]]:
    """A verifying Standard Webhooks endpoint for each scope (secrets set once subscribed)."""
    started = {scope: FakeWebhookReceiver(secret="").start() for scope in SCOPES}
    try:
        yield started
    finally:
        for receiver in started.values():
            receiver.stop()


async def _subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    receiver: FakeWebhookReceiver,
    unit: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": receiver.url, "event_types": EVENTS}
    if unit is not None:
        body["unit_id"] = unit["id"]
    resp = await client.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    created = dict(resp.json())
    assert created["unit_id"] == (unit["id"] if unit else None)
    receiver.secret = created["secret"]
    return created


async def _deliver(
    app: FastAPI,
    client: httpx.AsyncClient,
    worker: dict[str, str],
    since: datetime,
    receivers: dict[str, FakeWebhookReceiver],
) -> int:
    """Send the webhook deliveries recorded since `since` to the receivers they are for, as the
    worker does: the messages from the outbox's delivery jobs, each receiver's address and
    secret from `POST /v1/internal/alerts/addresses`; the outcomes reported back. Deliveries
    to other tests' endpoints are left alone. Returns how many were sent."""
    async with app.state.desk.sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT job, payload FROM outbox_messages WHERE created_at >= :since "
                "AND job IN ('deliver_alert', 'deliver_alerts')"
            ),
            {"since": since},
        )
        messages = []
        for row in rows:
            first = row.payload["args"][0]
            for raw in first if isinstance(first, list) else [first]:
                message = AlertMessage.model_validate(raw)
                if message.channel == "webhook" and message.payload is not None:
                    messages.append(message)
    found = await client.post(
        "/v1/internal/alerts/addresses",
        json={"alert_ids": [str(m.alert_id) for m in messages]},
        headers=worker,
    )
    assert found.status_code == 200, found.text
    addresses = {a["alert_id"]: a for a in found.json()["addresses"]}
    ours = tuple(r.url for r in receivers.values())
    sender = WebhookSender(allow_private=True)
    sent = 0
    try:
        for message in messages:
            address = addresses.get(str(message.alert_id))
            if address is None or address["to"] not in ours:
                continue
            outgoing = Outgoing(
                **{**message.model_dump(), "to": address["to"], "secret": address["secret"]}
            )
            await sender.send(outgoing)
            await report_attempt(client, worker, str(message.alert_id), {"ok": True, "attempt": 1})
            sent += 1
    finally:
        await sender.aclose()
    return sent


def _verified(receiver: FakeWebhookReceiver) -> list[Any]:
    """Every request the receiver got, verified with the Standard Webhooks library (which
    raises on a bad signature), as parsed JSON."""
    hook = Webhook(receiver.secret)
    return [hook.verify(r.body, r.headers) for r in receiver.requests]


def _seen(events: list[Any], cases: set[str]) -> set[tuple[str, str]]:
    """(event type, case id) of the events about these cases."""
    seen = set()
    for event in events:
        data = event["data"]
        case_id = data["case"]["id"] if "case" in data else data["deadline"]["case_id"]
        if case_id in cases:
            seen.add((event["type"], case_id))
    return seen


async def test_scoped_subscriptions_hear_only_their_subtree(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    tenants: Tenants,
    receivers: dict[str, FakeWebhookReceiver],
) -> None:
    t = tenants
    since = datetime.now(UTC) - timedelta(seconds=1)
    subs = {
        "a": await _subscribe(client, t.admins["a"], receivers["a"], t.counties["a"]),
        "b": await _subscribe(client, t.admins["b"], receivers["b"], t.counties["b"]),
        "city": await _subscribe(client, t.admins["city"], receivers["city"], t.city),
        "deployment": await _subscribe(client, admin, receivers["deployment"], None),
    }
    try:
        visit_a = await client.post(
            "/v1/cases", json=visit_body(t.villages["a"], t.towns["a"], 3), headers=t.staff["a"]
        )
        assert visit_a.status_code == 201, visit_a.text
        letter_b = await client.post(
            "/v1/cases", json=_letter(t.villages["b"]), headers=t.staff["b"]
        )
        assert letter_b.status_code == 201, letter_b.text
        a_case, b_case = visit_a.json()["id"], letter_b.json()["id"]
        await miss_now(app, client, worker_headers, arrivals(visit_a.json())[0]["id"])

        assert await _deliver(app, client, worker_headers, since, receivers) >= 6
        heard = {scope: _verified(receivers[scope]) for scope in SCOPES}
        for scope in SCOPES:  # every request was accepted, once per delivery
            assert all(r.answer == {"verified": True} for r in receivers[scope].requests)
        mine = {a_case, b_case}
        of_a = {("case.created", a_case), ("deadline.missed", a_case)}
        of_b = {("case.created", b_case)}
        # the scoped ones heard nothing else at all, not even other tests' events
        assert _seen(heard["a"], mine) == of_a and len(heard["a"]) == len(of_a)
        assert _seen(heard["b"], mine) == of_b and len(heard["b"]) == len(of_b)
        assert _seen(heard["city"], mine) == of_a | of_b and len(heard["city"]) == 3
        assert _seen(heard["deployment"], mine) == of_a | of_b

        # nothing of A was signed for B: B's secret does not verify A's deliveries
        request = receivers["a"].requests[0]
        with pytest.raises(WebhookVerificationError):
            Webhook(receivers["b"].secret).verify(request.body, request.headers)
    finally:
        for sub in subs.values():
            gone = await client.delete(f"/v1/webhook-subscriptions/{sub['id']}", headers=admin)
            assert gone.status_code == 204, gone.text


async def test_a_county_admin_keeps_to_their_county_subscriptions(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenants: Tenants,
    receivers: dict[str, FakeWebhookReceiver],
) -> None:
    t = tenants
    subs = {
        "a": await _subscribe(client, t.admins["a"], receivers["a"], t.counties["a"]),
        "b": await _subscribe(client, t.admins["b"], receivers["b"], t.counties["b"]),
        "city": await _subscribe(client, admin, receivers["city"], t.city),
        "deployment": await _subscribe(client, admin, receivers["deployment"], None),
    }
    path = "/v1/webhook-subscriptions"
    active = {"active": "true"}  # the counties' earlier subscriptions stay, disabled
    try:
        a_admin = t.admins["a"]
        body = {"url": "https://example.org/hook", "event_types": ["case.created"]}
        # no deployment scope for a county admin, nor a unit outside their county
        refused = await client.post(path, json=body, headers={**a_admin, "Accept-Language": "zh"})
        assert refused.status_code == 403, refused.text
        assert "unit_id" in refused.json()["detail"]
        for unit in (t.counties["b"], t.city, t.villages["b"]):
            outside = await client.post(path, json={**body, "unit_id": unit["id"]}, headers=a_admin)
            assert outside.status_code == 422, outside.text
            assert outside.json()["errors"][0]["pointer"] == "/unit_id", outside.text
        inside = await client.post(
            path, json={**body, "unit_id": t.towns["a"]["id"]}, headers=a_admin
        )
        assert inside.status_code == 201, inside.text
        subs["a_town"] = inside.json()

        # they see and change only their county's
        listed = (await client.get(path, params=active, headers=a_admin)).json()["items"]
        assert {s["id"] for s in listed} == {subs["a"]["id"], subs["a_town"]["id"]}
        for other in ("b", "city", "deployment"):
            url = f"{path}/{subs[other]['id']}"
            assert (await client.get(url, headers=a_admin)).status_code == 404
            assert (await client.delete(url, headers=a_admin)).status_code == 404
            assert (await client.get(url, headers=admin)).json()["active"] is True
        own = await client.get(f"{path}/{subs['a']['id']}", headers=a_admin)
        assert own.status_code == 200 and own.json()["unit_id"] == t.counties["a"]["id"]
        assert (await client.get(path, params=active, headers=t.admins["b"])).json()["items"] == [
            (await client.get(f"{path}/{subs['b']['id']}", headers=admin)).json()
        ]
        # the city's admin sees its counties' and its own; the deployment's admin all of them
        city_view = {
            s["id"]
            for s in (await client.get(path, params=active, headers=t.admins["city"])).json()[
                "items"
            ]
        }
        assert city_view == {subs[k]["id"] for k in ("a", "b", "city", "a_town")}
        everything = await client.get(path, params={"limit": 200}, headers=admin)
        assert {s["id"] for s in subs.values()} <= {s["id"] for s in everything.json()["items"]}
        gone = await client.delete(f"{path}/{subs['a_town']['id']}", headers=a_admin)
        assert gone.status_code == 204
    finally:
        for sub in subs.values():
            await client.delete(f"{path}/{sub['id']}", headers=admin)


async def test_a_county_admin_keeps_to_their_county_service_tokens(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    t = tenants
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    def token(unit: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": f"大屏-{unit['name']}",
            "role": "viewer",
            "unit_id": unit["id"],
            "expires_at": expires,
        }

    a_admin, b_admin = t.admins["a"], t.admins["b"]
    for unit in (t.counties["b"], t.towns["b"], t.city):
        outside = await client.post("/v1/service-tokens", json=token(unit), headers=a_admin)
        assert outside.status_code == 422, outside.text
        assert outside.json()["errors"][0]["pointer"] == "/unit_id"
    made_a = await client.post("/v1/service-tokens", json=token(t.towns["a"]), headers=a_admin)
    made_b = await client.post("/v1/service-tokens", json=token(t.towns["b"]), headers=b_admin)
    assert made_a.status_code == 201 and made_b.status_code == 201, (made_a.text, made_b.text)
    a_id, b_id = made_a.json()["id"], made_b.json()["id"]

    listed_a = {x["id"] for x in (await client.get("/v1/service-tokens", headers=a_admin)).json()}
    listed_b = {x["id"] for x in (await client.get("/v1/service-tokens", headers=b_admin)).json()}
    assert a_id in listed_a and b_id not in listed_a
    assert b_id in listed_b and a_id not in listed_b
    city = {
        x["id"] for x in (await client.get("/v1/service-tokens", headers=t.admins["city"])).json()
    }
    assert {a_id, b_id} <= city

    assert (await client.delete(f"/v1/service-tokens/{b_id}", headers=a_admin)).status_code == 404
    board = {"Authorization": f"Bearer {made_b.json()['token']}"}
    assert (await client.get("/v1/auth/me", headers=board)).status_code == 200  # still works
    assert (await client.delete(f"/v1/service-tokens/{a_id}", headers=a_admin)).status_code == 200
    assert (await client.delete(f"/v1/service-tokens/{b_id}", headers=b_admin)).status_code == 200
    assert (await client.get("/v1/auth/me", headers=board)).status_code == 401
