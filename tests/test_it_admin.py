"""The IT administrator (系统管理员, `it_admin`): keeps the units, officials and service
tokens of their territory, reads no case and no petitioner, and cannot raise anyone, a token
or themselves above what they hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import County, login, make_county, service_token


async def _official(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any], role: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new official with a login, made by `headers`; the official and their headers."""
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    body = {
        "name": name,
        "unit_id": unit["id"],
        "role": role,
        "username": name,
        "password": f"pw-{name}",
    }
    made = await client.post("/v1/officials", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return made.json(), await login(client, name, f"pw-{name}")


async def _it_admin(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any]
) -> dict[str, str]:
    return (await _official(client, admin, unit, "it_admin"))[1]


def _token_body(role: str, unit: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    name = name or f"{role}-{uuid.uuid4().hex[:6]}"
    return {"name": name, "role": role, "unit_id": unit["id"], "expires_at": expires}


async def _names(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **q: str
) -> set[str]:
    resp = await client.get(path, params=q, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return {item["name"] for item in (body["items"] if isinstance(body, dict) else body)}


async def test_it_admin_keeps_the_directory_and_tokens_of_their_county(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    it = await _it_admin(client, admin, county.county)
    me = (await client.get("/v1/auth/me", headers=it)).json()
    assert me["role"] == "it_admin"
    assert set(me["permissions"]) == {"read_directory", "manage_directory", "manage_service_tokens"}

    town = await client.post(
        "/v1/units",
        json={
            "name": f"新镇-{uuid.uuid4().hex[:6]}",
            "level": "town",
            "parent_id": county.county["id"],
        },
        headers=it,
    )
    assert town.status_code == 201, town.text
    # an account for petition staff, without a password: one set by the IT administrator
    # would let them sign in as the officer and read cases
    body = {"name": "新镇信访干部", "unit_id": town.json()["id"], "role": "petition_staff"}
    made_staff = await client.post("/v1/officials", json=body, headers=it)
    assert made_staff.status_code == 201, made_staff.text
    staff = made_staff.json()
    with_password = {
        **body,
        "name": "新镇信访干部(有密码)",
        "username": f"staff-{uuid.uuid4().hex[:6]}",
        "password": "pw-x-2026-ab",
    }
    refused = await client.post("/v1/officials", json=with_password, headers=it)
    assert refused.status_code == 403, refused.text
    assert with_password["name"] not in await _names(
        client, "/v1/officials", admin, unit_id=town.json()["id"]
    )
    assert body["name"] in await _names(client, "/v1/officials", admin, unit_id=town.json()["id"])
    renamed = await client.patch(
        f"/v1/units/{town.json()['id']}", json={"name": "新镇(更名)"}, headers=it
    )
    assert renamed.status_code == 200, renamed.text

    # a chief of the county: moved and signed out, but not given a password the IT
    # administrator would know
    chief = county.officials["town_chief"]
    reset = await client.patch(
        f"/v1/officials/{chief['id']}", json={"password": "a-new-pass-2026"}, headers=it
    )
    assert reset.status_code == 403, reset.text
    await login(client, chief["username"], county.passwords["town_chief"])
    changed = await client.patch(
        f"/v1/officials/{chief['id']}", json={"unit_id": county.village2["id"]}, headers=it
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["unit_id"] == county.village2["id"]
    assert (
        await client.post(f"/v1/officials/{chief['id']}/sign-out", headers=it)
    ).status_code == 204
    assert (
        await client.patch(f"/v1/officials/{staff['id']}", json={"active": False}, headers=it)
    ).status_code == 200

    # a token no stronger than its maker, in the county: made, listed, revoked
    made = await client.post(
        "/v1/service-tokens", json=_token_body("it_admin", county.town), headers=it
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] in await _names(client, "/v1/service-tokens", it)
    revoked = await client.delete(f"/v1/service-tokens/{made.json()['id']}", headers=it)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"], revoked.text


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("get", "/v1/cases", "read_cases"),
        ("get", "/v1/deadlines", "read_cases"),
        ("get", "/v1/escalations", "read_cases"),
        ("get", "/v1/alerts", "read_cases"),
        ("get", "/v1/audit", "read_audit"),
        ("put", "/v1/policies", "manage_policy"),
        ("post", "/v1/webhook-subscriptions", "manage_webhooks"),
        ("get", "/v1/stats/summary", "read_cases"),
    ],
)
async def test_it_admin_reads_no_case_no_petitioner_and_no_audit(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    method: str,
    path: str,
    permission: str,
) -> None:
    it = await _it_admin(client, admin, county.county)
    body: dict[str, Any] | None = {} if method in {"post", "put"} else None
    resp = await client.request(method, path, json=body, headers=it)
    assert resp.status_code == 403, resp.text
    assert resp.json()["detail"] == f"Role it_admin may not {permission}."


async def test_only_an_admin_appoints_or_manages_admins(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    it = await _it_admin(client, admin, county.county)
    me = (await client.get("/v1/auth/me", headers=it)).json()
    local_admin, _ = await _official(client, admin, county.county, "admin")
    peer, _ = await _official(client, admin, county.town, "it_admin")
    chief = county.officials["town_chief"]

    refused: list[tuple[str, str, dict[str, Any] | None]] = [
        # appointing
        ("post", "/v1/officials", {"name": "x", "unit_id": county.town["id"], "role": "admin"}),
        ("post", "/v1/officials", {"name": "x", "unit_id": county.town["id"], "role": "it_admin"}),
        ("patch", f"/v1/officials/{chief['id']}", {"role": "admin"}),
        ("patch", f"/v1/officials/{chief['id']}", {"role": "it_admin"}),
        ("patch", f"/v1/officials/{me['id']}", {"role": "admin"}),
        # changing, resetting, deactivating, signing out an admin or a peer
        ("patch", f"/v1/officials/{local_admin['id']}", {"password": "taken-over-2026"}),
        ("patch", f"/v1/officials/{local_admin['id']}", {"active": False}),
        ("patch", f"/v1/officials/{local_admin['id']}", {"role": "viewer"}),
        ("post", f"/v1/officials/{local_admin['id']}/sign-out", None),
        ("patch", f"/v1/officials/{peer['id']}", {"password": "taken-over-2026"}),
        ("post", f"/v1/officials/{peer['id']}/sign-out", None),
    ]
    for method, path, body in refused:
        resp = await client.request(method, path, json=body, headers=it)
        assert resp.status_code == 403, f"{method} {path} {body}: {resp.text}"
        assert "Only an admin" in resp.json()["detail"]
    # the bootstrap admin has no unit: outside every territory
    bootstrap = (await client.get("/v1/auth/me", headers=admin)).json()
    resp = await client.patch(
        f"/v1/officials/{bootstrap['id']}", json={"password": "taken-over-2026"}, headers=it
    )
    assert resp.status_code == 404, resp.text

    # nothing was written: roles, flags and the admin's login stand
    for official_id, role in (
        (local_admin["id"], "admin"),
        (peer["id"], "it_admin"),
        (chief["id"], "chief"),
        (me["id"], "it_admin"),
    ):
        now = (await client.get(f"/v1/officials/{official_id}", headers=admin)).json()
        assert (now["role"], now["active"]) == (role, True)
    assert "x" not in await _names(client, "/v1/officials", admin, unit_id=county.town["id"])
    await login(client, local_admin["username"], f"pw-{local_admin['username']}")
    assert (await client.get("/v1/auth/me", headers=it)).status_code == 200

    # an admin may do all of it
    promoted = await client.patch(
        f"/v1/officials/{chief['id']}", json={"role": "it_admin"}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text
    reset = await client.patch(
        f"/v1/officials/{peer['id']}", json={"password": "reset-by-admin-2026"}, headers=admin
    )
    assert reset.status_code == 200, reset.text


async def test_a_token_holds_no_permission_its_maker_lacks(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    it = await _it_admin(client, admin, county.county)
    names = []
    for role in ("viewer", "chief", "grid_worker", "petition_staff"):
        body = _token_body(role, county.town)
        names.append(body["name"])
        resp = await client.post("/v1/service-tokens", json=body, headers=it)
        assert resp.status_code == 403, resp.text
        assert "read_cases" in resp.json()["detail"]
    # an admin token is nobody's to mint
    resp = await client.post(
        "/v1/service-tokens", json=_token_body("admin", county.town), headers=it
    )
    assert resp.status_code == 422, resp.text
    listed = await _names(client, "/v1/service-tokens", admin)
    assert listed.isdisjoint(names)

    # the admin may mint any of them
    board = await service_token(client, admin, f"board-{uuid.uuid4().hex[:6]}", county.town)
    assert (await client.get("/v1/cases", headers=board)).status_code == 200


async def test_it_admin_stays_inside_their_territory(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    other = await make_county(client, admin)
    it = await _it_admin(client, admin, county.town)
    foreign_chief = other.officials["town_chief"]
    own_chief = county.officials["village2_chief"]
    token_body = _token_body("viewer", other.town)
    foreign_token = await client.post("/v1/service-tokens", json=token_body, headers=admin)
    assert foreign_token.status_code == 201

    # objects outside it are not there (even the county above, which they may look up)
    assert (await client.get(f"/v1/units/{county.county['id']}", headers=it)).status_code == 200
    for method, path, body in (
        ("patch", f"/v1/units/{county.county['id']}", {"name": "taken"}),
        ("patch", f"/v1/units/{other.town['id']}", {"name": "taken"}),
        ("patch", f"/v1/officials/{foreign_chief['id']}", {"password": "taken-over-2026"}),
        ("patch", f"/v1/officials/{county.officials['county_chief']['id']}", {"name": "taken"}),
        ("post", f"/v1/officials/{foreign_chief['id']}/sign-out", None),
        ("delete", f"/v1/service-tokens/{foreign_token.json()['id']}", None),
    ):
        resp = await client.request(method, path, json=body, headers=it)
        assert resp.status_code == 404, f"{method} {path}: {resp.text}"

    # ids outside it in a body are as unknown
    for path, body, pointer in (
        (
            "/v1/units",
            {"name": "taken", "level": "village", "parent_id": other.town["id"]},
            "/parent_id",
        ),
        (
            "/v1/units",
            {"name": "taken", "level": "town", "parent_id": county.county["id"]},
            "/parent_id",
        ),
        (
            "/v1/officials",
            {"name": "taken", "unit_id": other.town["id"], "role": "chief"},
            "/unit_id",
        ),
        ("/v1/service-tokens", _token_body("it_admin", other.town, "taken"), "/unit_id"),
    ):
        resp = await client.post(path, json=body, headers=it)
        assert resp.status_code == 422, f"{path}: {resp.text}"
        assert resp.json()["errors"][0]["pointer"] == pointer
    moved = await client.patch(
        f"/v1/officials/{own_chief['id']}", json={"unit_id": other.town["id"]}, headers=it
    )
    assert moved.status_code == 422 and moved.json()["errors"][0]["pointer"] == "/unit_id"
    # a new territory is an admin's to add
    top = await client.post("/v1/units", json={"name": "taken", "level": "county"}, headers=it)
    assert top.status_code == 403, top.text

    # the tokens of elsewhere are not listed, and nothing was written
    assert token_body["name"] not in await _names(client, "/v1/service-tokens", it)
    assert token_body["name"] in await _names(client, "/v1/service-tokens", admin)
    for parent in (other.town, county.county):
        assert "taken" not in await _names(client, "/v1/units", admin, parent_id=parent["id"])
    assert "taken" not in await _names(client, "/v1/officials", admin, unit_id=other.town["id"])
    for official, unit in ((foreign_chief, other.town), (own_chief, county.village2)):
        now = (await client.get(f"/v1/officials/{official['id']}", headers=admin)).json()
        assert now["unit_id"] == unit["id"] and now["updated_at"] == official["updated_at"]
    unit_now = (await client.get(f"/v1/units/{county.county['id']}", headers=admin)).json()
    assert unit_now["name"] == county.county["name"]
    await login(client, foreign_chief["username"], other.passwords["town_chief"])
    tokens = (await client.get("/v1/service-tokens", headers=admin)).json()
    assert next(t for t in tokens if t["id"] == foreign_token.json()["id"])["revoked_at"] is None
