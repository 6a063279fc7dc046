"""Liveness, readiness, and the delivery pipeline's health on /readyz and /metrics."""

from __future__ import annotations

import httpx


async def test_readyz_shows_the_worker_and_the_backlog(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    await client.post("/v1/internal/sweep", headers=worker_headers)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"database": "ok", "redis": "ok"}
    pipeline = body["pipeline"]
    assert pipeline["worker"] == "ok"
    assert 0 <= pipeline["last_sweep_seconds_ago"] < 5
    assert pipeline["queue_depth"] >= 0


async def test_metrics_expose_pipeline_gauges(
    client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    await client.post("/v1/internal/sweep", headers=worker_headers)
    text = (await client.get("/metrics")).text
    for name in (
        "petitiondesk_queue_depth",
        "petitiondesk_worker_last_sweep_seconds",
        "petitiondesk_outbox_oldest_undispatched_seconds",
        "petitiondesk_alert_oldest_pending_seconds",
        "petitiondesk_cases_registered_total",
    ):
        assert name in text, name
