"""The committed contract: `openapi.yaml` must match what the app serves."""

from __future__ import annotations

from pathlib import Path

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
