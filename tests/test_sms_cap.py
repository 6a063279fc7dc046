"""The hard SMS cap per number (OWASP API4): a stolen token that registers case after case
cannot run up the SMS bill, and the official is still reached on another contact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import County, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")


async def _cap_at_two(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["alerts"] |= {"sms_cap": 2, "sms_cap_window": "PT1H", "max_per_window": 1000}
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200


async def _summon_three_times(client: httpx.AsyncClient, county: County) -> list[dict[str, Any]]:
    """Three visits that each summon the chief of village2; that chief's alerts, oldest first."""
    staff = await county.headers(client, "town_staff")
    for _ in range(3):
        resp = await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
        assert resp.status_code == 201, resp.text
    chief = county.officials["village2_chief"]["id"]
    items = (
        await client.get("/v1/alerts", params={"official_id": chief, "limit": 50}, headers=staff)
    ).json()["items"]
    return sorted(items, key=lambda a: (a["created_at"], a["contact_index"]))


async def test_past_the_cap_a_number_gets_no_more_sms(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    await _cap_at_two(client, admin)
    alerts = await _summon_three_times(client, county)
    assert [(a["channel"], a["status"]) for a in alerts] == [
        ("sms", "pending"),
        ("sms", "pending"),
        ("sms", "failed"),
    ]
    assert "SMS cap reached" in alerts[2]["last_error"]


async def test_a_capped_official_is_reached_on_the_next_contact(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    chief = county.officials["village2_chief"]
    contacts = [
        {"channel": "sms", "address": chief["phone"]},
        {"channel": "wecom", "address": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
    ]
    patched = await client.patch(
        f"/v1/officials/{chief['id']}", json={"contacts": contacts}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    await _cap_at_two(client, admin)
    alerts = await _summon_three_times(client, county)
    assert [(a["channel"], a["status"]) for a in alerts] == [
        ("sms", "pending"),
        ("sms", "pending"),
        ("sms", "failed"),
        ("wecom", "pending"),
    ]
    assert alerts[3]["case_id"] == alerts[2]["case_id"]
    assert alerts[3]["purpose"] == "summons"
