"""The policy document."""

from __future__ import annotations

import httpx
import pytest

from api.policies.schemas import Templates
from tests.conftest import County


@pytest.mark.usefixtures("policy_restore")
async def test_defaults_are_the_regulations(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.put("/v1/policies", json={}, headers=admin)).status_code == 200
    resp = await client.get("/v1/policies", headers=admin)
    policy = resp.json()["policy"]
    assert policy["arrival"]["chief"] == "PT20M"
    assert policy["arrival"]["staff"] == "PT30M"
    assert policy["arrival"]["deputy_headcount"] == 21
    assert policy["arrival"]["leader_headcount"] == 50
    assert policy["collective_headcount"] == 5
    assert policy["max_representatives"] == 5


@pytest.mark.usefixtures("policy_restore")
async def test_put_accepts_short_durations(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    before = (await client.get("/v1/policies", headers=admin)).json()
    doc = before["policy"]
    doc["arrival"]["chief"] = "PT2S"
    resp = await client.put("/v1/policies", json=doc, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["policy"]["arrival"]["chief"] == "PT2S"
    assert resp.json()["version"] == before["version"] + 1
    again = (await client.get("/v1/policies", headers=admin)).json()
    assert again["policy"]["arrival"]["chief"] == "PT2S"


@pytest.mark.usefixtures("policy_restore")
async def test_bad_policy_is_rejected_and_nothing_changes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    before = (await client.get("/v1/policies", headers=admin)).json()
    for doc, pointer in [
        ({"arrival": {"chief": "twenty minutes"}}, "/arrival/chief"),
        ({"arrival": {"chief": "-PT5M"}}, "/arrival/chief"),
        ({"arival": {}}, "/arival"),
        ({"templates": {"summons": "{case_number} {password}"}}, "/templates"),
        ({"templates": {"by_channel": {"wecom": {"summons": "{id_number}"}}}}, "/templates"),
        ({"templates": {"by_channel": {"wecom": {"sumons": "x"}}}}, None),
        ({"templates": {"by_channel": {"fax": {"summons": "x"}}}}, None),
    ]:
        resp = await client.put("/v1/policies", json=doc, headers=admin)
        assert resp.status_code == 422, doc
        assert resp.headers["content-type"].startswith("application/problem+json")
        if pointer is not None:
            assert resp.json()["errors"][0]["pointer"] == pointer
        else:  # a name that is not a template or a channel: pointed at, within by_channel
            assert resp.json()["errors"][0]["pointer"].startswith("/templates/by_channel/")
    after = (await client.get("/v1/policies", headers=admin)).json()
    assert after == before


async def test_only_admin_changes_policy(county: County, client: httpx.AsyncClient) -> None:
    chief = await county.headers(client, "county_chief")
    resp = await client.put("/v1/policies", json={}, headers=chief)
    assert resp.status_code == 403


def test_each_channel_has_its_template_and_falls_back_to_the_plain_one() -> None:
    templates = Templates.model_validate(
        {"by_channel": {"sms": {"reminder": "提醒:{case_number}"}, "dingtalk": {}}}
    )
    assert templates.pick("sms", "reminder") == "提醒:{case_number}"
    assert templates.pick("dingtalk", "reminder") == templates.reminder
    assert templates.pick("webhook", "summons") == templates.summons
    defaults = Templates()
    assert "[点此签收]({ack_link})" in defaults.pick("wecom", "deadline_missed")
    assert "{ack_link}" in defaults.pick("sms", "deadline_missed")
    assert "[" not in defaults.pick("sms", "deadline_missed")
