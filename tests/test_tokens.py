"""Renewing a login (rotating refresh tokens), login lockout, and service tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.auth.throttle import LoginThrottle
from api.kit.errors import TooManyRequests
from api.models.token import RefreshToken, ServiceToken
from tests.conftest import County, service_token


async def _login(client: httpx.AsyncClient, county: County, key: str) -> dict[str, object]:
    official = county.officials[key]
    resp = await client.post(
        "/v1/auth/token",
        data={"username": official["username"], "password": county.passwords[key]},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_rotates_and_a_reused_token_revokes_the_login(
    client: httpx.AsyncClient, county: County, app: FastAPI
) -> None:
    first = await _login(client, county, "town_staff")
    assert first["refresh_expires_in"] == 30 * 24 * 3600
    second = (
        await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/v1/cases", headers=_bearer(second["access_token"]))
    ).status_code == 200

    # the first refresh token again: somebody copied it; the whole login ends
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.headers["content-type"].startswith("application/problem+json")
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401

    async with app.state.desk.sessionmaker() as session:
        rows = (
            await session.execute(
                select(RefreshToken).where(
                    RefreshToken.official_id == uuid.UUID(str(county.officials["town_staff"]["id"]))
                )
            )
        ).scalars()
        stored = list(rows)
    assert len(stored) == 2 and all(r.revoked_at is not None for r in stored)
    # only hashes are stored
    assert {r.token_hash for r in stored}.isdisjoint(
        {first["refresh_token"], second["refresh_token"]}
    )


async def test_refresh_refuses_garbage_and_deactivated_accounts(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": "nope"})
    ).status_code == 401
    assert (await client.post("/v1/auth/refresh", json={})).status_code == 422
    pair = await _login(client, county, "grid")
    grid = county.officials["grid"]
    off = await client.patch(f"/v1/officials/{grid['id']}", json={"active": False}, headers=admin)
    assert off.status_code == 200, off.text
    resp = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status_code == 401


async def test_repeated_wrong_passwords_lock_the_user_name(
    client: httpx.AsyncClient, county: County
) -> None:
    official = county.officials["village_chief"]
    wrong = {"username": official["username"], "password": "not-the-password"}
    for _ in range(5):
        assert (await client.post("/v1/auth/token", data=wrong)).status_code == 401
    locked = await client.post("/v1/auth/token", data=wrong)
    assert locked.status_code == 429
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(locked.headers["retry-after"]) <= 900
    # while locked, even the right password is refused
    right = {"username": official["username"], "password": county.passwords["village_chief"]}
    assert (await client.post("/v1/auth/token", data=right)).status_code == 429
    # another user from the same address is not affected
    await _login(client, county, "village2_chief")


async def test_a_right_password_clears_earlier_failures(
    client: httpx.AsyncClient, county: County
) -> None:
    official = county.officials["area_chief"]
    wrong = {"username": official["username"], "password": "not-the-password"}
    for _ in range(4):
        assert (await client.post("/v1/auth/token", data=wrong)).status_code == 401
    await _login(client, county, "area_chief")
    for _ in range(4):
        assert (await client.post("/v1/auth/token", data=wrong)).status_code == 401
    await _login(client, county, "area_chief")


async def test_one_address_trying_many_names_is_locked(app: FastAPI) -> None:
    throttle = LoginThrottle(
        redis=app.state.desk.arq,
        namespace=f"test-{uuid.uuid4().hex[:8]}",
        max_per_user=5,
        max_per_address=3,
        lockout_seconds=60,
    )
    for n in range(3):
        await throttle.check(f"user{n}", "203.0.113.7")
        await throttle.failed(f"user{n}", "203.0.113.7")
    with pytest.raises(TooManyRequests):
        await throttle.check("someone-else", "203.0.113.7")
    await throttle.check("someone-else", "203.0.113.8")


async def test_service_tokens_carry_a_role_and_can_be_revoked(
    client: httpx.AsyncClient, county: County, admin: dict[str, str], app: FastAPI
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    body = {
        "name": "县信访局大屏",
        "role": "viewer",
        "unit_id": county.county["id"],
        "expires_at": expires,
    }
    created = await client.post("/v1/service-tokens", json=body, headers=admin)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("pds_") and created.json()["prefix"] == token[:12]
    assert created.json()["role"] == "viewer"

    assert (await client.get("/v1/cases", headers=_bearer(token))).status_code == 200
    # a viewer may not register a case
    refused = await client.post("/v1/cases", json={}, headers=_bearer(token))
    assert refused.status_code in (403, 422)
    listed = (await client.get("/v1/service-tokens", headers=admin)).json()
    mine = next(t for t in listed if t["id"] == created.json()["id"])
    assert "token" not in mine
    async with app.state.desk.sessionmaker() as session:
        row = await session.get(ServiceToken, uuid.UUID(mine["id"]))
        assert row is not None and token not in row.token_hash

    revoked = await client.delete(f"/v1/service-tokens/{mine['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/cases", headers=_bearer(token))).status_code == 401
    assert (await client.get("/v1/cases", headers=_bearer("pds_made-up"))).status_code == 401


async def test_service_token_rules(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    base = {
        "name": "网格通",
        "role": "grid_worker",
        "unit_id": county.village2["id"],
        "expires_at": soon,
    }
    changes: list[tuple[dict[str, object], str]] = [
        ({"role": "admin"}, "/role"),
        ({"expires_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}, "/expires_at"),
        ({"expires_at": (datetime.now(UTC) + timedelta(days=400)).isoformat()}, "/expires_at"),
        ({"unit_id": str(uuid.uuid4())}, "/unit_id"),
        ({"extra": 1}, "/extra"),
    ]
    for change, pointer in changes:
        resp = await client.post("/v1/service-tokens", json={**base, **change}, headers=admin)
        assert resp.status_code == 422, change
        assert resp.json()["errors"][0]["pointer"] == pointer, resp.json()
    staff = await county.headers(client, "county_staff")
    assert (await client.post("/v1/service-tokens", json=base, headers=staff)).status_code == 403
    assert (await client.get("/v1/service-tokens", headers=staff)).status_code == 403


async def test_me_tells_the_caller_who_they_are(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    me = (await client.get("/v1/auth/me", headers=staff)).json()
    official = county.officials["town_staff"]
    assert me["id"] == official["id"] and me["name"] == official["name"]
    assert me["role"] == "petition_staff" and me["unit_id"] == county.town["id"]
    assert "desk_cases" in me["permissions"] and "manage_policy" not in me["permissions"]
    board = await service_token(client, admin, f"me-{uuid.uuid4().hex[:6]}", county.village2)
    mine = (await client.get("/v1/auth/me", headers=board)).json()
    assert mine["role"] == "viewer" and mine["unit_id"] == county.village2["id"]
    assert mine["permissions"] == ["read_cases", "read_directory", "read_reports"]
    assert (await client.get("/v1/auth/me")).status_code == 401
