"""The policy document."""

from __future__ import annotations

import httpx
import pytest

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
    ]:
        resp = await client.put("/v1/policies", json=doc, headers=admin)
        assert resp.status_code == 422, doc
        assert resp.json()["errors"][0]["pointer"] == pointer
    after = (await client.get("/v1/policies", headers=admin)).json()
    assert after == before


async def test_only_admin_changes_policy(county: County, client: httpx.AsyncClient) -> None:
    chief = await county.headers(client, "county_chief")
    resp = await client.put("/v1/policies", json={}, headers=chief)
    assert resp.status_code == 403
