"""What schemathesis found (`make test-fuzz`), one regression test each: input the contract
does not allow is refused with problem+json and writes nothing; input it allows is accepted."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from api.kit.pagination import decode_cursor, encode_cursor
from tests.conftest import County


def _problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize("path", ["/v1/cases", "/v1/units", "/v1/audit", "/v1/officials"])
@pytest.mark.parametrize("value", ["0.5", "1700000000", "true"])
async def test_updated_since_is_only_read_as_rfc3339(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, value: str
) -> None:
    # Lax parsing read a number as a Unix time.
    resp = await client.get(path, params={"updated_since": value}, headers=admin)
    _problem(resp, 422)
    ok = await client.get(
        path, params={"updated_since": "2026-01-01T00:00:00+08:00"}, headers=admin
    )
    assert ok.status_code == 200, ok.text


async def test_a_cursor_is_exactly_what_the_contract_says(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    # Every string of the documented shape is a position; anything else is refused.
    for bad in ["¾­", "abc", "1." + "g" * 32, "1" * 17 + "." + "0" * 32]:
        resp = await client.get("/v1/units", params={"cursor": bad}, headers=admin)
        _problem(resp, 422)
    forged = "9" * 16 + "." + "f" * 32  # after everything: the whole list
    resp = await client.get("/v1/units", params={"cursor": forged, "limit": 1}, headers=admin)
    assert resp.status_code == 200 and len(resp.json()["items"]) == 1
    first = await client.get("/v1/units", params={"limit": 2}, headers=admin)
    cursor = first.json()["next_cursor"]
    second = await client.get("/v1/units", params={"limit": 2, "cursor": cursor}, headers=admin)
    assert second.status_code == 200
    seen = {u["id"] for u in first.json()["items"]}
    assert seen.isdisjoint(u["id"] for u in second.json()["items"])
    at, id_ = decode_cursor(cursor)
    assert encode_cursor(at, id_) == cursor


async def test_booleans_and_numbers_are_not_coerced(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    unit = f"/v1/units/{county.village['id']}"
    resp = await client.patch(unit, json={"location": {"lat": 30, "lon": False}}, headers=admin)
    assert _problem(resp, 422)["errors"][0]["pointer"] == "/location/lon"
    resp = await client.patch(unit, json={"location": {"lat": 30, "lon": 120.5}}, headers=admin)
    assert resp.status_code == 200 and resp.json()["location"] == {"lat": 30.0, "lon": 120.5}

    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    for path, value in [
        (("bulletin", "praise_excludes_vetoed"), 0),
        (("collective_headcount",), True),
        (("collective_headcount",), "5"),
    ]:
        changed = {**policy, path[0]: dict(policy[path[0]]) if len(path) > 1 else value}
        if len(path) > 1:
            changed[path[0]][path[1]] = value
        _problem(await client.put("/v1/policies", json=changed, headers=admin), 422)
    changed = {**policy, "escalation": {**policy["escalation"], "renotify_after": 600}}
    _problem(await client.put("/v1/policies", json=changed, headers=admin), 422)
    after = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    assert after == policy


async def test_attempt_reports_are_strict_and_bounded(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    unknown = str(uuid.uuid4())
    path = "/v1/internal/alerts/attempts"
    reports: list[dict[str, Any]] = [
        {"ok": True, "attempt": 1, "gone": 0},
        {"ok": 1, "attempt": 1},
        {"ok": True, "attempt": 126931979609860},  # was a 500: out of the column's range
        {"ok": True, "attempt": "2"},
    ]
    for report in reports:
        body = {"attempts": [{**report, "alert_id": unknown}]}
        _problem(await client.post(path, json=body, headers=worker_headers), 422)
    # JSON Schema's integer admits 2.0: that reaches the lookup (and the alert does not exist,
    # so the batch records nothing).
    whole = {"attempts": [{"ok": True, "attempt": 2.0, "alert_id": unknown}]}
    resp = await client.post(path, json=whole, headers=worker_headers)
    assert resp.status_code == 200 and resp.json()["recorded"] == 0


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("get", "/v1/cases", {"params": {"category": "land\x00"}}),
        ("post", "/v1/units", {"json": {"name": "村\x00", "level": "county"}}),
        ("get", "/v1/units/%00", {}),
        ("post", "/v1/auth/token", {"data": {"username": "admin\x00", "password": "x"}}),
    ],
)
async def test_nul_is_refused_everywhere(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, url: str, kwargs: Any
) -> None:
    # PostgreSQL's text cannot hold NUL: it was a 500 (a contact's address), and it kept the
    # audit trail from recording a refused request.
    before = (await client.get("/v1/units", params={"limit": 200}, headers=admin)).json()
    resp = await client.request(method, url, headers=admin, **kwargs)
    assert "NUL" in _problem(resp, 422)["detail"]
    after = (await client.get("/v1/units", params={"limit": 200}, headers=admin)).json()
    assert after == before


async def test_an_escaped_backslash_before_u0000_is_text(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    raw = '{"name": "C:\\\\u0000目录", "level": "county"}'.encode()
    resp = await client.post(
        "/v1/units", content=raw, headers={**admin, "content-type": "application/json"}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "C:\\u0000目录"


async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    # Starlette listed the first matching route's methods only (GET, not PATCH).
    resp = await client.request("OPTIONS", f"/v1/units/{county.town['id']}", headers=admin)
    _problem(resp, 405)
    assert {"GET", "PATCH"} <= {m.strip() for m in resp.headers["allow"].split(",")}
    resp = await client.put("/v1/officials", headers=admin)
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["allow"].split(",")}


async def test_login_form_fields(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/auth/token", data={"username": "", "password": ""})
    _problem(resp, 422)
    resp = await client.post(
        "/v1/auth/token", data={"username": "nobody", "password": "x", "grant_type": "code"}
    )
    _problem(resp, 422)
    resp = await client.post(
        "/v1/auth/token",
        data={"username": "nobody-here", "password": "x", "grant_type": "password"},
    )
    _problem(resp, 401)


async def test_a_report_that_says_nothing_is_refused_by_the_contract_too(
    client: httpx.AsyncClient, app: Any
) -> None:
    schema = app.openapi()["components"]["schemas"]["ReportCreate"]
    assert len(schema["anyOf"]) == 3
