"""Logging in and bearer tokens on every /v1 endpoint."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_PASSWORD


async def test_admin_logs_in_with_bootstrap_password(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["access_token"].count(".") == 2


async def test_wrong_password_is_a_problem(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["status"] == 401


async def test_every_v1_endpoint_needs_a_token(client: httpx.AsyncClient) -> None:
    for path in (
        "/v1/cases",
        "/v1/units",
        "/v1/officials",
        "/v1/deadlines",
        "/v1/alerts",
        "/v1/escalations",
        "/v1/policies",
    ):
        resp = await client.get(path)
        assert resp.status_code == 401, path
        assert resp.headers["www-authenticate"] == "Bearer"
        resp = await client.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert resp.status_code == 401, path


async def test_internal_endpoints_refuse_official_tokens(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    resp = await client.post("/v1/internal/sweep", headers=admin)
    assert resp.status_code == 401


async def test_missing_form_fields_list_each_field(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/auth/token", data={"username": "admin"})
    assert resp.status_code == 422
    problem = resp.json()
    assert [e["pointer"] for e in problem["errors"]] == ["/password"]
