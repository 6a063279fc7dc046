"""Territory (属地管理): an official sees and acts on the cases of their own unit's subtree only;
outside it a case answers 404, as if it did not exist, and nothing changes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import County, flag_due, login, service_token, visit_body


async def _other_town(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> tuple[dict[str, Any], dict[str, str]]:
    """A second town of the same county with its petition staff; returns the town and the
    staff's headers."""
    tag = uuid.uuid4().hex[:6]
    town = (
        await client.post(
            "/v1/units",
            json={"name": f"西河镇-{tag}", "level": "town", "parent_id": county.county["id"]},
            headers=admin,
        )
    ).json()
    staff = {
        "name": f"west-staff-{tag}",
        "phone": "13900000000",
        "unit_id": town["id"],
        "role": "petition_staff",
        "username": f"west-staff-{tag}",
        "password": "west-password",
    }
    assert (await client.post("/v1/officials", json=staff, headers=admin)).status_code == 201
    return town, await login(client, staff["username"], "west-password")


async def test_a_case_outside_the_territory_does_not_exist_for_the_caller(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    east = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=east
        )
    ).json()
    _, west = await _other_town(client, admin, county)

    for path in (f"/v1/cases/{case['id']}", f"/v1/cases/{case['id']}/timeline"):
        resp = await client.get(path, headers=west)
        assert resp.status_code == 404, path
        assert resp.json()["detail"] == f"Case {case['id']} does not exist."
    unknown = await client.get(f"/v1/cases/{uuid.uuid4()}", headers=west)
    assert unknown.status_code == 404  # the same answer: no existence leak
    accepted = await client.post(f"/v1/cases/{case['id']}/accept", json={}, headers=west)
    assert accepted.status_code == 404
    listed = (await client.get("/v1/cases", params={"limit": 200}, headers=west)).json()
    assert case["id"] not in {c["id"] for c in listed["items"]}

    # nothing changed, and the owners still see it
    mine = (await client.get(f"/v1/cases/{case['id']}", headers=east)).json()
    assert mine["status"] == "registered"
    county_staff = await county.headers(client, "county_staff")
    assert (await client.get(f"/v1/cases/{case['id']}", headers=county_staff)).status_code == 200
    assert (await client.get(f"/v1/cases/{case['id']}", headers=admin)).status_code == 200


async def test_registering_outside_the_territory_is_refused(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    _, west = await _other_town(client, admin, county)
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=west
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "/origin_unit_id"


async def test_a_village_chief_sees_the_village_not_the_neighbours(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    here = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    there = (
        await client.post(
            "/v1/cases", json=visit_body(county.village, county.town, 3), headers=staff
        )
    ).json()
    chief = await county.headers(client, "village2_chief")
    assert (await client.get(f"/v1/cases/{here['id']}", headers=chief)).status_code == 200
    # lodged at the town, from another village: not the village chief's matter
    assert (await client.get(f"/v1/cases/{there['id']}", headers=chief)).status_code == 404


async def test_a_service_token_sees_its_unit_subtree(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    west_town, _ = await _other_town(client, admin, county)
    east = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=east
        )
    ).json()
    token = await service_token(client, admin, "西河镇大屏", west_town)
    assert (await client.get(f"/v1/cases/{case['id']}", headers=token)).status_code == 404
    county_token = await service_token(client, admin, "县大屏", county.county)
    assert (await client.get(f"/v1/cases/{case['id']}", headers=county_token)).status_code == 200


@pytest.mark.usefixtures("policy_restore")
async def test_deadlines_alerts_and_escalations_follow_the_territory(
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    east = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=east
        )
    ).json()
    await asyncio.sleep(1.1)
    await flag_due(client, worker_headers)
    _, west = await _other_town(client, admin, county)
    by_case = {"case_id": case["id"]}

    for path in ("/v1/deadlines", "/v1/alerts", "/v1/escalations"):
        theirs = (await client.get(path, params=by_case, headers=west)).json()["items"]
        ours = (await client.get(path, params=by_case, headers=east)).json()["items"]
        assert theirs == [] and ours, path
    escalation = (await client.get("/v1/escalations", params=by_case, headers=east)).json()[
        "items"
    ][0]
    # someone from another town cannot acknowledge it (nor learn that it exists)
    ack = await client.post(f"/v1/escalations/{escalation['id']}/ack", headers=west)
    assert ack.status_code == 404
    # the town chief it was sent to can
    chief = await county.headers(client, "town_chief")
    assert escalation["recipients"] == [county.officials["town_chief"]["id"]]
    done = await client.post(f"/v1/escalations/{escalation['id']}/ack", headers=chief)
    assert done.status_code == 200, done.text


async def test_officials_are_looked_up_in_the_territory_and_above_it(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    _, west = await _other_town(client, admin, county)
    east_chief = county.officials["village2_chief"]
    assert (await client.get(f"/v1/officials/{east_chief['id']}", headers=west)).status_code == 404
    listed = (await client.get("/v1/officials", params={"limit": 200}, headers=west)).json()[
        "items"
    ]
    ids = {o["id"] for o in listed}
    assert east_chief["id"] not in ids
    # the county's leaders are above the west town: looked up to, so visible
    assert county.officials["county_chief"]["id"] in ids
    chief = await county.headers(client, "village2_chief")
    mine = await client.get(f"/v1/officials/{county.officials['town_chief']['id']}", headers=chief)
    assert mine.status_code == 200
    assert (await client.get(f"/v1/officials/{east_chief['id']}", headers=chief)).status_code == 200
