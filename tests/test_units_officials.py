"""The territory tree and officials."""

from __future__ import annotations

import httpx

from tests.conftest import County


async def test_tree_levels_are_enforced(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    resp = await client.post("/v1/units", json={"name": "县", "level": "county"}, headers=admin)
    assert resp.status_code == 201
    county = resp.json()
    bad = await client.post(
        "/v1/units",
        json={"name": "村", "level": "village", "parent_id": county["id"]},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["pointer"] == "/parent_id"


async def test_unit_read_list_patch(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    town_id = county.town["id"]
    resp = await client.get(f"/v1/units/{town_id}", headers=admin)
    assert resp.json()["level"] == "town"
    children = await client.get("/v1/units", params={"parent_id": town_id}, headers=admin)
    assert {u["id"] for u in children.json()["items"]} == {
        county.area["id"],
        county.village2["id"],
    }
    patched = await client.patch(
        f"/v1/units/{town_id}", json={"location": {"lat": 34.7, "lon": 113.6}}, headers=admin
    )
    assert patched.json()["location"] == {"lat": 34.7, "lon": 113.6}


async def test_unknown_unit_is_404_problem(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    resp = await client.get("/v1/units/00000000-0000-0000-0000-000000000000", headers=admin)
    assert resp.status_code == 404
    assert resp.json()["type"].endswith("/not-found")


async def test_official_read_hides_secrets(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "name": "王书记",
        "phone": "13912345678",
        "unit_id": county.village["id"],
        "role": "deputy",
        "contacts": [
            {"channel": "sms", "address": "13912345678"},
            {
                "channel": "dingtalk",
                "address": "https://oapi.dingtalk.com/robot/send?x=1",
                "secret": "SEC123",
            },
        ],
    }
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 201
    read = (await client.get(f"/v1/officials/{resp.json()['id']}", headers=admin)).json()
    assert "password_hash" not in read
    assert read["contacts"][1] == {
        "channel": "dingtalk",
        "address": "https://oapi.dingtalk.com/robot/send?x=1",
        "has_secret": True,
    }
    assert "SEC123" not in resp.text


async def test_official_validation(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = await client.post(
        "/v1/officials",
        json={"name": "x", "unit_id": "00000000-0000-0000-0000-000000000000", "role": "chief"},
        headers=admin,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/unit_id"
    taken = await client.post(
        "/v1/officials",
        json={
            "name": "x",
            "unit_id": county.town["id"],
            "role": "viewer",
            "username": county.officials["town_chief"]["username"],
            "password": "long-enough-password",
        },
        headers=admin,
    )
    assert taken.status_code == 409
    bad_role = await client.post(
        "/v1/officials",
        json={"name": "x", "unit_id": county.town["id"], "role": "emperor"},
        headers=admin,
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["errors"][0]["pointer"] == "/role"


async def test_only_admin_changes_the_tree(county: County, client: httpx.AsyncClient) -> None:
    chief = await county.headers(client, "town_chief")
    resp = await client.post("/v1/units", json={"name": "x", "level": "county"}, headers=chief)
    assert resp.status_code == 403
    listed = await client.get("/v1/units", headers=chief)
    assert listed.status_code == 200
