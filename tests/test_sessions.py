"""Sessions that really end (issue 19): every access token belongs to a login, and revoking the
login (a refresh token used twice, a password reset or change, a deactivated account, a logout,
an admin's "sign out everywhere") refuses its access tokens from the next request on; the
password policy; unknown user names cost the same password work; a name locked by guessers
does not lock out its owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from api.auth import service as auth_service
from api.auth.security import verify_password
from shared.settings import Settings
from tests.conftest import County, service_token


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    resp = await client.post("/v1/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _bearer(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def _works(client: httpx.AsyncClient, pair: dict[str, str]) -> int:
    return (await client.get("/v1/auth/me", headers=_bearer(pair))).status_code


async def _refresh(client: httpx.AsyncClient, pair: dict[str, str]) -> int:
    resp = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    return resp.status_code


async def _person(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> tuple[dict[str, str], str, str]:
    """A fresh petition officer with a login of their own: (official, username, password)."""
    username = f"staff-{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    resp = await client.post(
        "/v1/officials",
        json={
            "name": username,
            "unit_id": county.town["id"],
            "role": "petition_staff",
            "username": username,
            "password": password,
        },
        headers=admin,
    )
    assert resp.status_code == 201, resp.text
    return resp.json(), username, password


async def test_a_reused_refresh_token_ends_the_access_token_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    _, username, password = await _person(client, admin, county)
    first = await _login(client, username, password)
    other = await _login(client, username, password)
    assert await _refresh(client, first) == 200
    assert await _refresh(client, first) == 401  # the same refresh token again: stolen
    assert await _works(client, first) == 401  # its access token ends with the login
    assert await _works(client, other) == 200  # another login of the same official stands


async def test_an_admin_reset_or_deactivation_ends_every_login(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    official, username, password = await _person(client, admin, county)
    pair = await _login(client, username, password)
    reset = await client.patch(
        f"/v1/officials/{official['id']}",
        json={"password": f"new-{uuid.uuid4().hex}"},
        headers=admin,
    )
    assert reset.status_code == 200, reset.text
    assert await _works(client, pair) == 401
    assert await _refresh(client, pair) == 401

    official, username, password = await _person(client, admin, county)
    pair = await _login(client, username, password)
    off = await client.patch(
        f"/v1/officials/{official['id']}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200
    assert await _works(client, pair) == 401


async def test_logout_ends_this_login_only(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    _, username, password = await _person(client, admin, county)
    phone = await _login(client, username, password)
    desk = await _login(client, username, password)
    out = await client.post("/v1/auth/logout", headers=_bearer(phone))
    assert out.status_code == 204
    assert await _works(client, phone) == 401
    assert await _refresh(client, phone) == 401
    assert await _works(client, desk) == 200


async def test_sign_out_everywhere(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    official, username, password = await _person(client, admin, county)
    pairs = [await _login(client, username, password) for _ in range(2)]
    staff = await county.headers(client, "town_staff")
    refused = await client.post(f"/v1/officials/{official['id']}/sign-out", headers=staff)
    assert refused.status_code == 403
    assert all([await _works(client, p) == 200 for p in pairs])
    done = await client.post(f"/v1/officials/{official['id']}/sign-out", headers=admin)
    assert done.status_code == 204
    assert [await _works(client, p) for p in pairs] == [401, 401]


async def test_a_revoked_token_gets_no_304(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """The rule: a 304 is answered only while nothing changed, and ending a login is a change
    (every ETag moves), so a revoked token's next poll goes through the token check: 401."""
    _, username, password = await _person(client, admin, county)
    pair = await _login(client, username, password)
    read = await client.get("/v1/units", headers=_bearer(pair))
    assert read.status_code == 200
    etag = read.headers["etag"]
    poll = await client.get("/v1/units", headers={**_bearer(pair), "If-None-Match": etag})
    assert poll.status_code == 304
    assert (await client.post("/v1/auth/logout", headers=_bearer(pair))).status_code == 204
    after = await client.get("/v1/units", headers={**_bearer(pair), "If-None-Match": etag})
    assert after.status_code == 401


async def test_changing_ones_password(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    _, username, password = await _person(client, admin, county)
    here = await _login(client, username, password)
    elsewhere = await _login(client, username, password)

    async def change(current: str, new: str) -> httpx.Response:
        body = {"current_password": current, "new_password": new}
        return await client.post("/v1/auth/password", json=body, headers=_bearer(here))

    wrong = await change("not-my-password", f"fresh-{uuid.uuid4().hex}")
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/current_password"
    for bad in ("short1", username.upper(), "password123", "PASSWORD123"):
        resp = await change(password, bad)
        assert resp.status_code == 422, bad
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["pointer"] == "/new_password"
    new = f"fresh-{uuid.uuid4().hex}"
    assert (await change(password, new)).status_code == 204
    assert await _works(client, here) == 200  # the login that changed it goes on
    assert await _works(client, elsewhere) == 401  # every other one ends
    refused = await client.post("/v1/auth/token", data={"username": username, "password": password})
    assert refused.status_code == 401
    await _login(client, username, new)


async def test_an_admin_may_not_set_a_weak_password(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    body = {
        "name": "弱口令",
        "unit_id": county.town["id"],
        "role": "petition_staff",
        "username": f"weak-{uuid.uuid4().hex[:6]}",
        "password": "qwerty123",
    }
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "/password"
    missing = await client.get("/v1/officials", params={"limit": 200}, headers=admin)
    assert body["username"] not in {o.get("username") for o in missing.json()["items"]}


async def test_service_tokens_have_no_login_to_end(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    headers = await service_token(client, admin, "大屏", county.town)
    out = await client.post("/v1/auth/logout", headers=headers)
    assert out.status_code == 409
    assert (await client.get("/v1/auth/me", headers=headers)).status_code == 200


async def test_an_access_token_without_a_login_is_refused(
    client: httpx.AsyncClient, county: County, settings: Settings
) -> None:
    """A token made before logins were recorded (no `sid`) is refused: refresh or log in."""
    now = datetime.now(UTC)
    old = jwt.encode(
        {
            "sub": county.officials["town_staff"]["id"],
            "role": "petition_staff",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
            "typ": "access",
        },
        settings.jwt_secret,
        algorithm="HS256",
    )
    resp = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert resp.status_code == 401


async def test_an_unknown_user_name_costs_the_same_password_work(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not timed: counted. Every login attempt checks one password against one argon2 hash,
    whether the user name exists, is inactive, or is unknown."""
    checked: list[str] = []

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return verify_password(password_hash, password)

    monkeypatch.setattr(auth_service, "verify_password", counting)
    official, username, password = await _person(client, admin, county)
    for name in (f"nobody-{uuid.uuid4().hex}", username):
        wrong = {"username": name, "password": "not-the-password"}
        assert (await client.post("/v1/auth/token", data=wrong)).status_code == 401
    await client.patch(f"/v1/officials/{official['id']}", json={"active": False}, headers=admin)
    right = {"username": username, "password": password}
    assert (await client.post("/v1/auth/token", data=right)).status_code == 401
    assert len(checked) == 3
    assert all(h.startswith("$argon2") for h in checked)


def _at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client calling from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_guessing_does_not_lock_the_owner_out(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    _, username, password = await _person(client, admin, county)
    wrong = {"username": username, "password": "not-the-password"}
    right = {"username": username, "password": password}
    async with _at(app, "198.51.100.23") as guesser, _at(app, "198.51.100.24") as another:
        for _ in range(5):
            assert (await guesser.post("/v1/auth/token", data=wrong)).status_code == 401
        # the name is locked for the address that guessed, even with the right password
        assert (await guesser.post("/v1/auth/token", data=right)).status_code == 429
        # another address may try it once: wrong, and that address is locked out of it too
        assert (await another.post("/v1/auth/token", data=wrong)).status_code == 401
        assert (await another.post("/v1/auth/token", data=right)).status_code == 429
    # the owner, at an address that has not failed on the name, logs in
    async with _at(app, "198.51.100.25") as owner:
        await _login(owner, username, password)
