"""Guards on every request: body size limit (413), security headers, CORS off by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from api.app import create_app
from shared.settings import Settings
from tests.conftest import County, service_token, visit_body


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for resp in (await client.get("/healthz"), await client.get("/v1/cases")):
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["referrer-policy"] == "no-referrer"
    page = await client.get("/a/not-a-token")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, county: County, settings: Settings, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    body = visit_body(county.village2, county.town, 3)
    body["content"] = "很长" * settings.max_body_bytes
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["status"] == 413
    assert resp.headers["x-content-type-options"] == "nosniff"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024

    streamed = await client.post(
        "/v1/cases", content=chunks(), headers=staff | {"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    listed = (await client.get("/v1/cases", params={"limit": 200}, headers=admin)).json()["items"]
    assert not any(len(c.get("content", "")) > 1000 for c in listed)


async def test_cors_is_off_unless_origins_are_configured(settings: Settings) -> None:
    preflight = {
        "Origin": "https://dashboard.example.gov.cn",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }
    closed = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=closed), base_url="http://test"
    ) as http:
        resp = await http.options("/v1/cases", headers=preflight)
        assert "access-control-allow-origin" not in resp.headers
    opened = create_app(settings.model_copy(update={"cors_origins": [preflight["Origin"]]}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=opened), base_url="http://test"
    ) as http:
        resp = await http.options("/v1/cases", headers=preflight)
        assert resp.headers["access-control-allow-origin"] == preflight["Origin"]
        other = await http.options(
            "/v1/cases", headers=preflight | {"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_a_token_past_its_rate_is_told_to_slow_down(
    client: httpx.AsyncClient, county: County, admin: dict[str, str], app: FastAPI
) -> None:
    token = await service_token(client, admin, "脚本", county.town)
    settings = app.state.desk.settings
    before = settings.requests_per_minute
    settings.requests_per_minute = 3
    try:
        answers = [(await client.get("/v1/cases", headers=token)) for _ in range(7)]
    finally:
        settings.requests_per_minute = before
    codes = [a.status_code for a in answers]
    # 7 requests against 3 a minute: even if a minute boundary splits the burst, one of the
    # two windows gets at least 4
    assert codes.count(429) >= 1 and codes.count(200) >= 3, codes
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
