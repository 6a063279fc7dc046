"""The committed contract: `openapi.yaml` must match what the app serves."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from fastapi import FastAPI

from api.openapi_dump import render

ROOT = Path(__file__).resolve().parent.parent


def test_app_matches_committed_openapi(app: FastAPI) -> None:
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    current = yaml.safe_load(render(app))
    assert current == committed, "openapi.yaml drifted from the app: run `make openapi`"


def test_contract_has_the_required_surface() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    paths = spec["paths"]
    for path, method in [
        ("/v1/auth/token", "post"),
        ("/v1/units", "post"),
        ("/v1/units/{unit_id}", "patch"),
        ("/v1/officials", "get"),
        ("/v1/cases", "post"),
        ("/v1/cases/{case_id}", "get"),
        ("/v1/cases/{case_id}/timeline", "get"),
        ("/v1/cases/{case_id}/arrivals", "post"),
        ("/v1/deadlines", "get"),
        ("/v1/escalations", "get"),
        ("/v1/escalations/{escalation_id}/ack", "post"),
        ("/v1/alerts", "get"),
        ("/v1/policies", "put"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths[path], (method, path)


def test_every_error_answer_is_documented_as_a_problem(app: FastAPI) -> None:
    schema = app.openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            if "x-permission" in op:
                for status in ("401", "403", "429"):
                    assert status in responses, (method, path, status)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4") and status != "406":
                    content = response["content"]["application/problem+json"]
                    assert content["schema"] == problem, (method, path, status)


def test_every_bound_is_a_json_schema_keyword(app: FastAPI) -> None:
    """An optional integer's bounds (`headcount` 1…100000) reach clients and the fuzzer as
    `minimum`/`maximum`, not pydantic's own `ge`/`le`, which JSON Schema ignores."""
    found: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("integer", "number"):
                found.extend(f"{where}.{k}" for k in ("ge", "le", "gt", "lt") if k in node)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}[{n}]")

    schema = app.openapi()
    walk(schema, "")
    assert found == []
    headcount = schema["components"]["schemas"]["CaseCreate"]["properties"]["headcount"]
    assert {"type": "integer", "minimum": 1, "maximum": 100000} in headcount["anyOf"]


async def test_dates_are_only_read_as_yyyy_mm_dd(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # found by schemathesis: "0" was read as a Unix time, 1970-01-01
    for day in ("0", "20260101", "1700000000"):
        resp = await client.put(f"/v1/calendar/{day}", json={"is_workday": True}, headers=admin)
        assert resp.status_code == 422, (day, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
    listed = await client.get(
        "/v1/calendar", params={"from": "0", "to": "2026-01-02"}, headers=admin
    )
    assert listed.status_code == 422
    ok = await client.get(
        "/v1/calendar", params={"from": "2026-01-01", "to": "2026-01-02"}, headers=admin
    )
    assert ok.status_code == 200
