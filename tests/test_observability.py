"""What operators see: request ids carried from a request to its jobs and onward, Prometheus
metrics by route and of the work done, JSON log lines, and readiness that a load balancer
can act on."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text

from api.health.service import code_revisions
from shared import logs, tracing
from shared.client import ApiClient
from shared.contracts import FlagDue, deliver_alert_job_id, deliver_alerts_job_id
from shared.jobs import FLAG_DUE
from tests.conftest import SCRAPER, County, arrivals, flag_due, miss_now, visit_body
from worker import alive
from worker.main import traced


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when never touched)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_request_id_is_the_callers_when_well_formed(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"})
    assert given.headers["x-request-id"] == "lb-7f3a.2"
    forged = await client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    made = await client.get("/healthz")
    for resp in (forged, made):
        assert len(resp.headers["x-request-id"]) == 32
        int(resp.headers["x-request-id"], 16)
    assert forged.headers["x-request-id"] != made.headers["x-request-id"]


async def test_a_registration_hands_its_request_id_to_the_jobs_it_records(
    app: FastAPI, client: httpx.AsyncClient, county: County
) -> None:
    """The summons a visit sends go to Redis as jobs carrying the registration's id; the
    clock tick its deadlines share does not (it is not that request's alone)."""
    rid = f"test-{uuid.uuid4().hex}"
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        "/v1/cases",
        json=visit_body(county.village2, county.town, 12),
        headers={**staff, "X-Request-ID": rid},
    )
    assert resp.status_code == 201, resp.text
    async with app.state.desk.sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT job, payload FROM outbox_messages WHERE payload->>'request_id' = :r"),
                {"r": rid},
            )
        ).all()
    kinds = {row.job for row in rows}
    assert "deliver_alert" in kinds
    assert "flag_due" not in kinds
    alert_ids = [r.payload["args"][0]["alert_id"] for r in rows if r.job == "deliver_alert"]
    arq = app.state.desk.arq
    queued = []
    for alert_id in alert_ids:
        for job_id in (deliver_alerts_job_id(alert_id), deliver_alert_job_id(alert_id)):
            raw = await arq.get(job_key_prefix + job_id)
            if raw is not None:
                queued.append(deserialize_job(raw))
    assert queued, "the summons reached Redis"
    assert all(job.kwargs == {"request_id": rid} for job in queued)


async def test_requests_are_timed_by_route_not_by_path(client: httpx.AsyncClient) -> None:
    name = "petitiondesk_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/v1/cases/{case_id}", "status": "401"}
    unmatched = {"method": "GET", "route": "-", "status": "404"}
    before = sample(name, **route), sample(name, **unmatched)
    await client.get(f"/v1/cases/{uuid.uuid4()}")
    await client.get(f"/v1/cases/{uuid.uuid4()}")
    await client.get(f"/no/such/{uuid.uuid4()}")
    assert (sample(name, **route), sample(name, **unmatched)) == (before[0] + 2, before[1] + 1)
    exposed = (await client.get("/metrics", headers=SCRAPER)).text
    assert 'route="/v1/cases/{case_id}"' in exposed
    assert "/no/such" not in exposed


async def test_a_miss_its_lag_escalation_and_delivery_are_counted(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 12), headers=staff
        )
    ).json()
    chief = next(
        d for d in arrivals(case) if d["official_id"] == county.officials["village2_chief"]["id"]
    )
    missed = {"kind": "arrival"}
    escalated = {"step": "0", "reason": "deadline_missed"}
    await flag_due(client, worker_headers)  # earlier tests' overdue deadlines: not this one's
    before = (
        sample("petitiondesk_deadlines_missed_total", **missed),
        sample("petitiondesk_deadline_flag_lag_seconds_count", **missed),
        sample("petitiondesk_deadline_flag_lag_seconds_sum", **missed),
        sample("petitiondesk_escalations_total", **escalated),
    )
    await miss_now(app, client, worker_headers, chief["id"])
    after = (
        sample("petitiondesk_deadlines_missed_total", **missed),
        sample("petitiondesk_deadline_flag_lag_seconds_count", **missed),
        sample("petitiondesk_deadline_flag_lag_seconds_sum", **missed),
        sample("petitiondesk_escalations_total", **escalated),
    )
    assert after[0] == before[0] + 1
    assert after[1] == before[1] + 1
    # Its due time was moved before its registration: the lag counts from the registration.
    assert 0.0 < after[2] - before[2] < 1.0
    assert after[3] == before[3] + 1

    listed = await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=staff)
    [alert] = [a for a in listed.json()["items"] if a["purpose"] == "escalation"]
    sent = {"channel": alert["channel"], "outcome": "ok"}
    failed = {"channel": alert["channel"], "outcome": "error"}
    before_sent, before_failed = (
        sample("petitiondesk_alert_attempts_total", **sent),
        sample("petitiondesk_alert_attempts_total", **failed),
    )
    reports = [
        {"alert_id": alert["id"], "ok": False, "attempt": 1, "error": "HTTP 500"},
        {"alert_id": alert["id"], "ok": True, "attempt": 2},
    ]
    resp = await client.post(
        "/v1/internal/alerts/attempts", json={"attempts": reports}, headers=worker_headers
    )
    assert resp.status_code == 200, resp.text
    assert sample("petitiondesk_alert_attempts_total", **sent) == before_sent + 1
    assert sample("petitiondesk_alert_attempts_total", **failed) == before_failed + 1


async def test_readyz_refuses_traffic_until_the_schema_is_migrated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A pod of new code whose migration has not run yet stays out of the load balancer; one
    of old code after the migration ran stays in (migrations only add)."""
    head, known = code_revisions()
    older = next(iter(known - {head}))
    try:
        for revision, ready in ((older, False), ("f0f0f0f0f0f0", True), (head, True)):
            async with app.state.desk.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
            resp = await client.get("/readyz")
            assert (resp.status_code == 200) is ready, (revision, resp.text)
            schema = resp.json()["checks"]["schema"]
            assert (schema == "ok") is ready, schema
            if not ready:
                assert head in schema and older in schema
    finally:
        async with app.state.desk.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_json_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("test.observability")
    logger.addHandler(handler)
    logger.propagate = False
    token = tracing.request_id.set("abc123")
    try:
        logger.warning("alert %s: 送达失败", "x1")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        tracing.request_id.reset(token)
        logger.removeHandler(handler)
    logger.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "alert x1: 送达失败"
    assert first["request_id"] == "abc123"
    assert first["level"] == "WARNING" and first["logger"] == "test.observability"
    assert "ValueError: boom" in second["exception"]


def test_configure_puts_uvicorn_and_arq_lines_through_one_handler() -> None:
    arq_log = logging.getLogger("arq")
    saved = {name: logging.getLogger(name).handlers[:] for name in ("", *logs.FOREIGN_LOGGERS)}
    arq_log.handlers = [logging.StreamHandler(sys.stdout)]
    try:
        logs.configure("INFO", "json")
        [handler] = logging.getLogger().handlers
        assert arq_log.handlers == [handler]
        assert isinstance(handler.formatter, logs.JsonFormatter)
    finally:
        for name, handlers in saved.items():
            logging.getLogger(name).handlers = handlers


async def test_a_job_calls_the_api_under_the_id_it_was_enqueued_with() -> None:
    """The worker's jobs run under their `request_id` argument and send it to the API."""
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(200, json={"flagged": 0, "more": False})

    api = ApiClient("http://api", "token", transport=httpx.MockTransport(answer))

    async def job(ctx: dict[str, Any]) -> str | None:
        await ctx["api"].call(FLAG_DUE, FlagDue())
        return tracing.current()

    run = traced(job)
    try:
        assert await run({"api": api}, request_id="from-the-request") == "from-the-request"
        fresh = await run({"api": api})
    finally:
        await api.aclose()
    assert seen[0] == "from-the-request"
    assert seen[1] == fresh and fresh is not None and fresh != "from-the-request"
    assert tracing.current() is None


async def test_the_worker_heartbeat_says_alive_only_while_it_beats(tmp_path: Path) -> None:
    beat = tmp_path / "alive"
    assert alive.main(["--file", str(beat)]) == 1  # never started
    task = asyncio.create_task(alive.keep_beating(beat, every=0.05))
    try:
        await asyncio.sleep(0.2)
        assert alive.main(["--file", str(beat), "--max-age", "1"]) == 0
    finally:
        task.cancel()
    old = time.time() - 120
    os.utime(beat, (old, old))  # a loop that stopped beating two minutes ago
    assert alive.main(["--file", str(beat)]) == 1
    assert alive.main(["--file", str(beat), "--max-age", "300"]) == 0
    alive.stop_beating(beat)
    assert not beat.exists()


def test_the_clocks_and_probes_requests_log_at_debug_failures_as_they_were() -> None:
    """Issue 23: the sweep every 2 s (and the probes) buried the SMS lines at INFO."""
    saved = {name: logging.getLogger(name).handlers[:] for name in ("", *logs.FOREIGN_LOGGERS)}
    saved_level = logging.getLogger().level
    access = logging.getLogger("uvicorn.access")
    saved_filters = access.filters[:]
    stream = io.StringIO()
    try:
        logs.configure("INFO", "text")
        logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
        line = '%s - "%s %s HTTP/%s" %d'
        access.info(line, "127.0.0.1:1", "POST", "/v1/internal/sweep", "1.1", 200)
        access.info(line, "127.0.0.1:1", "GET", "/readyz?x=1", "1.1", 200)
        access.info(line, "127.0.0.1:1", "POST", "/v1/internal/sweep", "1.1", 503)
        access.info(line, "127.0.0.1:1", "POST", "/v1/cases", "1.1", 201)
        shown = stream.getvalue()
        assert '"POST /v1/internal/sweep HTTP/1.1" 200' not in shown
        assert "/readyz" not in shown
        assert '"POST /v1/internal/sweep HTTP/1.1" 503' in shown
        assert '"POST /v1/cases HTTP/1.1" 201' in shown
        logging.getLogger().setLevel(logging.DEBUG)
        access.info(line, "127.0.0.1:1", "POST", "/v1/internal/sweep", "1.1", 200)
        assert 'DEBUG uvicorn.access [-] 127.0.0.1:1 - "POST /v1/internal/sweep' in (
            stream.getvalue()
        )
    finally:
        for name, handlers in saved.items():
            logging.getLogger(name).handlers = handlers
        logging.getLogger().setLevel(saved_level)
        access.filters = saved_filters
