"""Liveness, readiness, and the delivery pipeline's health on /readyz and /metrics."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api.kit.errors import PROBLEM_JSON, install_handlers
from shared.settings import Settings
from tests.conftest import SCRAPER
from tests.processes import free_port


async def test_readyz_shows_the_worker_and_the_backlog(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    await client.post("/v1/internal/sweep", headers=worker_headers)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"database": "ok", "schema": "ok", "redis": "ok"}
    pipeline = body["pipeline"]
    assert pipeline["worker"] == "ok"
    assert 0 <= pipeline["last_sweep_seconds_ago"] < 5
    assert pipeline["queue_depth"] >= 0


async def test_metrics_expose_pipeline_gauges(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    await client.post("/v1/internal/sweep", headers=worker_headers)
    text = (await client.get("/metrics", headers=SCRAPER)).text
    for name in (
        "petitiondesk_queue_depth",
        "petitiondesk_worker_last_sweep_seconds",
        "petitiondesk_outbox_oldest_undispatched_seconds",
        "petitiondesk_alert_oldest_pending_seconds",
        "petitiondesk_cases_registered_total",
    ):
        assert name in text, name


async def test_an_unreachable_database_is_a_503_to_retry_not_a_500(settings: Settings) -> None:
    """Real failures of a real driver: a refused connection and a connection the server
    closed answer 503 problem+json with Retry-After; a wrong query stays a 500."""
    app = FastAPI()
    install_handlers(app)
    closed = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    live = create_async_engine(settings.database_url)

    @app.get("/refused")
    async def refused() -> None:
        async with closed.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @app.get("/terminated")
    async def terminated() -> None:
        async with live.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    @app.get("/wrong")
    async def wrong() -> None:
        async with live.connect() as conn:
            await conn.execute(text("SELECT 1 / 0"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/refused", "/terminated"):
            resp = await client.get(path)
            assert resp.status_code == 503, (path, resp.text)
            assert resp.headers["content-type"] == PROBLEM_JSON
            assert resp.headers["retry-after"] == "5"
            assert resp.json()["type"].endswith("/unavailable")
        assert (await client.get("/wrong")).status_code == 500
    await closed.dispose()
    await live.dispose()


async def test_metrics_are_only_for_the_scraper(client: httpx.AsyncClient) -> None:
    """/metrics answers only the bearer of METRICS_TOKEN (issue 19)."""
    for headers in (None, {"Authorization": "Bearer not-the-metrics-token"}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert "petitiondesk_" not in refused.text
    assert (await client.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_metrics_without_a_token_set_are_off(app: FastAPI, client: httpx.AsyncClient) -> None:
    """No METRICS_TOKEN configured: a scraper with some token gets 404, one without 401."""
    settings = app.state.desk.settings
    saved, settings.metrics_token = settings.metrics_token, ""
    try:
        assert (await client.get("/metrics", headers=SCRAPER)).status_code == 404
        assert (await client.get("/metrics")).status_code == 401
    finally:
        settings.metrics_token = saved
