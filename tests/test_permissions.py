"""The role table (`api.auth.permissions.GRANTS`), tried exhaustively: every operation of the
app, from its own route table, called by an official of every role. A role without the
operation's permission gets 403 before anything else happens; a role with it never does."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from api.auth.permissions import GRANTS, Permission
from api.cases.actions import ACTIONS
from api.models.official import Role
from tests.conftest import County, higher_office, login

# Operations any caller may reach without an official's token: the credential is the login
# form, the one-click link's token, a provider's signature, the worker's token, or a case's
# number with the petitioner's lookup secret.
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("post", "/v1/auth/token"),
    ("post", "/v1/auth/refresh"),
    ("get", "/a/{token}"),
    ("post", "/a/{token}"),
    ("post", "/v1/inbound/sms/{provider}"),
    ("post", "/v1/public/case-lookup"),
    ("get", "/v1/material-links/{token}"),  # the signed link is the credential
}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the app's route table."""
    return [
        (method, path, op)
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _url(path: str) -> str:
    return path.replace("{day}", "2026-01-01").format_map(_AnyId())


class _AnyId(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return str(uuid.uuid4())


async def _callers(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> dict[Role, dict[str, str]]:
    """One official of every role, all in the same town."""
    callers = {
        Role.admin: admin,
        Role.chief: await county.headers(client, "town_chief"),
        Role.deputy: await county.headers(client, "town_deputy"),
        Role.petition_staff: await county.headers(client, "town_staff"),
    }
    for role in (Role.dept_head, Role.info_officer, Role.grid_worker, Role.viewer, Role.it_admin):
        name = f"{role.value}-{uuid.uuid4().hex[:6]}"
        body = {
            "name": name,
            "unit_id": county.town["id"],
            "role": role.value,
            "username": name,
            "password": f"pw-{name}",
        }
        assert (await client.post("/v1/officials", json=body, headers=admin)).status_code == 201
        callers[role] = await login(client, name, f"pw-{name}")
    # a higher office speaks only through a service token bound to it
    _, callers[Role.higher_office] = await higher_office(client, admin, county.town)
    assert set(callers) == set(Role)
    return callers


def test_every_role_has_a_row_and_every_operation_names_its_permission(app: FastAPI) -> None:
    assert set(GRANTS) == set(Role)
    # everything but speaking for a higher office, which only that office's token does
    assert GRANTS[Role.admin] == frozenset(Permission) - {Permission.hand_down_cases}
    unnamed = [
        (method, path)
        for method, path, op in operations(app)
        if (method, path) not in PUBLIC and not path.startswith("/v1/internal/")
        if "x-permission" not in op
    ]
    assert unnamed == [], "every official-facing operation must declare its permission"
    for _, _, op in operations(app):
        if "x-permission" in op:
            Permission(op["x-permission"])
    # a lifecycle action's route asks for the permission of its transition
    for action in ACTIONS:
        op = app.openapi()["paths"][f"/v1/cases/{{case_id}}/{action.name}"]["post"]
        assert op["x-permission"] == action.transition.permission.value


async def test_each_role_may_do_exactly_what_its_row_grants(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    callers = await _callers(client, admin, county)
    tried = 0
    for method, path, op in operations(app):
        # Logging out would end the callers' own logins, and with them every later request
        # here (its permission is the one of /v1/auth/me; tests/test_sessions.py covers it).
        if "x-permission" not in op or (method, path) == ("post", "/v1/auth/logout"):
            continue
        permission = Permission(op["x-permission"])
        refusal = None
        for role, headers in callers.items():
            body: dict[str, Any] | None = {} if method in {"post", "put", "patch"} else None
            resp = await client.request(method, _url(path), json=body, headers=headers)
            refused = resp.status_code == 403 and resp.json().get("detail", "").endswith(
                f"may not {permission.value}."
            )
            where = f"{method.upper()} {path} as {role.value}: {resp.status_code} {resp.text}"
            assert refused is (permission not in GRANTS[role]), where
            if refused:
                assert resp.headers["content-type"] == "application/problem+json"
                refusal = resp.json()
            tried += 1
        if refusal is not None:
            assert refusal["status"] == 403 and refusal["title"]
    assert tried >= 45 * len(Role)


async def test_internal_operations_refuse_officials_tokens(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    internal = [(m, p) for m, p, _ in operations(app) if p.startswith("/v1/internal/")]
    assert len(internal) >= 8
    for method, path in internal:
        resp = await client.request(method, _url(path), json={}, headers=admin)
        assert resp.status_code == 401, f"{method} {path}: {resp.status_code}"
        assert resp.headers["content-type"] == "application/problem+json"
