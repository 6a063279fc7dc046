"""No secret travels with a job or rests with an alert (issue 18): after a whole escalation to
officials reached on DingTalk and WeCom robots and on their own systems' webhooks, and events
to a subscriber, no signing secret, robot token or key is in an outbox row, an alert row or
anywhere in Redis. The worker reads them from the API when it sends
(`POST /v1/internal/alerts/addresses`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import text

from shared.settings import Settings
from shared.webhooks import generate_secret, shown_address
from tests.conftest import County, arrivals, miss_now, report_attempt, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")


async def _redis_bytes(url: str) -> bytes:
    """Every key of the test Redis and every value under it, as one blob."""
    client = aioredis.Redis.from_url(url)
    seen: list[bytes] = []
    try:
        async for key in client.scan_iter(count=1000):
            seen.append(key)
            kind = (await client.type(key)).decode()
            if kind == "string":
                seen.append(await client.get(key) or b"")
            elif kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    seen += [field, value]
            elif kind == "zset":
                seen += await client.zrange(key, 0, -1)
            elif kind == "list":
                seen += await client.lrange(key, 0, -1)
            elif kind == "set":
                seen += list(await client.smembers(key))
    finally:
        await client.aclose()
    return b"\n".join(seen)


async def _rows_text(app: FastAPI, table: str) -> str:
    """Every row of a table, every column, as text."""
    async with app.state.desk.sessionmaker() as session:
        rows = await session.execute(text(f"SELECT t::text FROM {table} t"))
        return "\n".join(r for (r,) in rows)


async def test_no_secret_in_outbox_alerts_or_redis(
    app: FastAPI,
    settings: Settings,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    tag = uuid.uuid4().hex
    robot_token, robot_secret = f"TOKEN{tag}", f"SEC{tag}"
    wecom_key, own_secret = f"KEY{tag}", generate_secret()
    robot = f"http://127.0.0.1:9/robot/send?access_token={robot_token}"
    wecom = f"http://127.0.0.1:9/cgi-bin/webhook/send?key={wecom_key}"
    own = f"http://127.0.0.1:9/own/{tag}"
    secrets = [robot_token, robot_secret, wecom_key, own_secret]
    contacts: dict[str, list[dict[str, Any]]] = {
        "village2_chief": [
            {"channel": "dingtalk", "address": robot, "secret": robot_secret},
            {"channel": "wecom", "address": wecom},
        ],
        "town_chief": [
            {"channel": "webhook", "address": own, "secret": own_secret},
            {"channel": "dingtalk", "address": robot, "secret": robot_secret},
        ],
    }
    for who, theirs in contacts.items():
        official = county.officials[who]
        patched = await client.patch(
            f"/v1/officials/{official['id']}", json={"contacts": theirs}, headers=admin
        )
        assert patched.status_code == 200, patched.text
    created = await client.post(
        "/v1/webhook-subscriptions",
        json={
            "url": f"http://127.0.0.1:9/hook/{tag}?token={tag}",
            "event_types": ["case.created", "deadline.missed", "escalation.created"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    secrets.append(subscription["secret"])
    try:
        staff = await county.headers(client, "town_staff")
        case = (
            await client.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
        ).json()
        chief_arrival = next(
            d
            for d in arrivals(case)
            if d["official_id"] == county.officials["village2_chief"]["id"]
        )
        await miss_now(app, client, worker_headers, chief_arrival["id"])
        alerts = (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        channels = {a["channel"] for a in alerts}
        assert {"dingtalk", "webhook"} <= channels, channels
        assert any(a["purpose"] == "escalation" for a in alerts)
        # a robot that fails for good hands over to the official's next contact (WeCom)
        robot_alert = next(a for a in alerts if a["channel"] == "dingtalk")
        failure = {"ok": False, "attempt": 1, "error": "errcode 310000", "final": True}
        await report_attempt(client, worker_headers, robot_alert["id"], failure)
        alerts = (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        assert "wecom" in {a["channel"] for a in alerts}

        # the worker is told each receiver's full address and secret when it sends
        addresses = await client.post(
            "/v1/internal/alerts/addresses",
            json={"alert_ids": [a["id"] for a in alerts]},
            headers=worker_headers,
        )
        assert addresses.status_code == 200, addresses.text
        by_id = {a["alert_id"]: a for a in addresses.json()["addresses"]}
        for alert in alerts:
            if alert["channel"] == "dingtalk":
                assert by_id[alert["id"]]["to"] == robot
                assert by_id[alert["id"]]["secret"] == robot_secret
                assert alert["recipient"] == shown_address(robot) != robot
            elif alert["channel"] == "wecom":
                assert by_id[alert["id"]]["to"] == wecom
            elif alert["purpose"] == "event":
                assert by_id[alert["id"]]["secret"] == subscription["secret"]
            elif alert["channel"] == "webhook":
                assert by_id[alert["id"]]["secret"] == own_secret

        stored = {
            "outbox_messages": await _rows_text(app, "outbox_messages"),
            "alerts": await _rows_text(app, "alerts"),
            "redis": (await _redis_bytes(settings.redis_url)).decode("utf-8", "replace"),
        }
        # what is scanned holds this escalation's rows and jobs
        assert robot_alert["id"] in stored["alerts"]
        assert "deliver_alert" in stored["outbox_messages"]
        assert "arq:job:" in stored["redis"]
        for where, blob in stored.items():
            for secret in secrets:
                assert secret not in blob, f"a secret is in {where}"
    finally:
        await client.delete(f"/v1/webhook-subscriptions/{subscription['id']}", headers=admin)
