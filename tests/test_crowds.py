"""Deadlines falling due in a crowd: flagged in one statement, chains started in chunks by the
worker (each exactly once), delivery outcomes reported in batches, jobs enqueued in bulk."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.jobs import Job
from fastapi import FastAPI
from sqlalchemy import select

from api.escalations.service import INLINE_ESCALATIONS, START_BATCH
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.outbox import OutboxMessage
from api.outbox.service import QueuedJob, enqueue_many
from shared.client import ApiClient
from shared.contracts import AlertAttempt
from shared.jobs import START_ESCALATIONS
from tests.conftest import WORKER_TOKEN, County, visit_body
from worker.reporting import AttemptReporter

CROWD = START_BATCH + INLINE_ESCALATIONS + 5  # more than one chunk, more than inline


async def _overdue_crowd(
    app: FastAPI, client: httpx.AsyncClient, county: County, size: int
) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """A case and `size` handling deadlines of the village chief, all past due."""
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    chief = county.officials["village2_chief"]
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(size)]
    async with app.state.desk.sessionmaker() as session:
        session.add_all(
            Deadline(
                id=deadline_id,
                case_id=uuid.UUID(case["id"]),
                kind=DeadlineKind.handling,
                role="chief",
                official_id=uuid.UUID(chief["id"]),
                unit_id=uuid.UUID(county.village2["id"]),
                starts_at=now - timedelta(days=1),
                due_at=now - timedelta(seconds=1),
                status=DeadlineStatus.open,
                flags=[],
            )
            for deadline_id in ids
        )
        await session.commit()
    return case, ids


async def _flag_all(client: httpx.AsyncClient, worker: dict[str, str]) -> None:
    while True:
        resp = await client.post("/v1/internal/deadlines/flag-due", headers=worker)
        assert resp.status_code == 200, resp.text
        if not resp.json()["more"]:
            return


async def _start_jobs(app: FastAPI, ids: list[uuid.UUID]) -> list[list[str]]:
    """The chunks of `ids` the flagging recorded as start-escalation jobs."""
    wanted = {str(i) for i in ids}
    async with app.state.desk.sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.job == START_ESCALATIONS.name)
            )
        ).scalars()
        # other tests' overdue deadlines may share a chunk with the crowd: leave them out
        chunks = [[x for x in r.payload["args"][0] if x in wanted] for r in rows]
        return [chunk for chunk in chunks if chunk]


async def test_crowd_is_flagged_at_once_and_its_chains_start_once_each(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    case, ids = await _overdue_crowd(app, client, county, CROWD)
    await _flag_all(client, worker_headers)

    async with app.state.desk.sessionmaker() as session:
        rows = (await session.execute(select(Deadline).where(Deadline.id.in_(ids)))).scalars()
        assert {d.status for d in rows} == {DeadlineStatus.missed}
    chunks = await _start_jobs(app, ids)
    assert sorted(x for chunk in chunks for x in chunk) == sorted(str(i) for i in ids)
    assert all(len(chunk) <= START_BATCH for chunk in chunks)
    # the flags committed without waiting for the chains: none started yet
    before = await client.get("/v1/escalations", params={"deadline_id": str(ids[0])}, headers=admin)
    assert before.json()["items"] == []

    # every chunk delivered twice, at the same time (a retried job, a second worker)
    calls = [
        client.post(
            "/v1/internal/escalations/start", json={"deadline_ids": chunk}, headers=worker_headers
        )
        for chunk in chunks
        for _ in range(2)
    ]
    answers = await asyncio.gather(*calls)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sum(a.json()["started"] for a in answers) == CROWD

    chief = county.officials["village2_chief"]["id"]
    for deadline_id in (ids[0], ids[-1]):
        steps = (
            await client.get(
                "/v1/escalations", params={"deadline_id": str(deadline_id)}, headers=admin
            )
        ).json()["items"]
        assert len(steps) == 1 and steps[0]["step"] == 0
        assert steps[0]["recipients"] == [chief]  # responsible and unit chief: one person
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=admin)).json()
    actions = [e["action"] for e in timeline]
    assert actions.count("deadline_missed") >= CROWD
    assert actions.count("escalated") == CROWD


async def test_start_ignores_deadlines_not_missed_and_needs_the_worker(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    open_ids = [d["id"] for d in case["deadlines"]]
    resp = await client.post(
        "/v1/internal/escalations/start", json={"deadline_ids": open_ids}, headers=worker_headers
    )
    assert resp.status_code == 200 and resp.json()["started"] == 0
    refused = await client.post(
        "/v1/internal/escalations/start", json={"deadline_ids": open_ids}, headers=admin
    )
    assert refused.status_code in (401, 403)
    empty = await client.post(
        "/v1/internal/escalations/start", json={"deadline_ids": []}, headers=worker_headers
    )
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")


async def _summons_alerts(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> list[dict[str, Any]]:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 25), headers=staff
        )
    ).json()
    resp = await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
    alerts = resp.json()["items"]
    assert len(alerts) == 2
    return list(alerts)


async def test_batched_reports_apply_each_outcome(
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    sent, failed = await _summons_alerts(client, county, admin)
    body = {
        "attempts": [
            {"alert_id": sent["id"], "ok": True, "attempt": 1},
            {"alert_id": failed["id"], "ok": False, "attempt": 1, "error": "500"},
            {"alert_id": failed["id"], "ok": False, "attempt": 2, "error": "bad", "final": True},
            {"alert_id": str(uuid.uuid4()), "ok": True, "attempt": 1},
        ]
    }
    resp = await client.post("/v1/internal/alerts/attempts", json=body, headers=worker_headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"recorded": 3}
    # repeated: harmless, nothing changes
    again = await client.post("/v1/internal/alerts/attempts", json=body, headers=worker_headers)
    assert again.json() == {"recorded": 3}

    by_id = {
        a["id"]: a
        for a in (
            await client.get("/v1/alerts", params={"case_id": sent["case_id"]}, headers=admin)
        ).json()["items"]
    }
    assert by_id[sent["id"]]["status"] == "sent"
    assert by_id[failed["id"]]["status"] == "failed"
    assert by_id[failed["id"]]["attempts"] == 2
    assert by_id[failed["id"]]["last_error"] == "bad"


async def test_reporter_sends_many_outcomes_in_few_requests(
    app: FastAPI, client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    requests: list[str] = []
    asgi = httpx.ASGITransport(app=app)

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            requests.append(request.url.path)
            return await asgi.handle_async_request(request)

    alerts = [a for _ in range(5) for a in await _summons_alerts(client, county, admin)]
    api = ApiClient("http://test", WORKER_TOKEN, transport=Counting())
    reporter = AttemptReporter(api, linger=0.02)
    reporter.start()
    try:
        await asyncio.gather(
            *(reporter.report(uuid.UUID(a["id"]), AlertAttempt(ok=True, attempt=1)) for a in alerts)
        )
    finally:
        await reporter.aclose()
        await api.aclose()
    assert requests and len(requests) < len(alerts) / 2
    assert set(requests) == {"/v1/internal/alerts/attempts"}
    statuses = [
        (await client.get("/v1/alerts", params={"case_id": a["case_id"]}, headers=admin)).json()
        for a in alerts[::2]
    ]
    assert {a["status"] for page in statuses for a in page["items"]} == {"sent"}


async def test_reporter_fails_every_waiting_report_when_the_api_is_away() -> None:
    api = ApiClient("http://127.0.0.1:9", WORKER_TOKEN, timeout=2)
    reporter = AttemptReporter(api)
    reporter.start()
    try:
        results = await asyncio.gather(
            *(reporter.report(uuid.uuid4(), AlertAttempt(ok=True, attempt=1)) for _ in range(3)),
            return_exceptions=True,
        )
    finally:
        await reporter.aclose()
        await api.aclose()
    assert all(isinstance(r, httpx.ConnectError) for r in results), results


async def test_bulk_enqueue_is_what_arq_would_have_enqueued(app: FastAPI) -> None:
    arq = app.state.desk.arq
    tag = uuid.uuid4().hex[:8]
    later = datetime.now(UTC) + timedelta(minutes=5)
    jobs = [
        QueuedJob(
            id=uuid.uuid4(), job="flag_due", job_id=f"t-now-{tag}", args=[], defer_until=None
        ),
        QueuedJob(
            id=uuid.uuid4(),
            job="remind_deadline",
            job_id=f"t-later-{tag}",
            args=["x", 0.5],
            defer_until=later,
        ),
        QueuedJob(
            id=uuid.uuid4(),
            job="flag_due",
            job_id=f"t-past-{tag}",
            args=[],
            defer_until=datetime.now(UTC) - timedelta(hours=1),
        ),
    ]
    assert await enqueue_many(arq, jobs) == 3
    assert await enqueue_many(arq, jobs) == 0  # same ids: left alone, as arq does
    info = await Job(f"t-later-{tag}", arq, _queue_name=arq.default_queue_name).info()
    assert info is not None
    assert info.function == "remind_deadline" and info.args == ("x", 0.5)
    assert info.score == int(later.timestamp() * 1000)
    past = await arq.zscore(arq.default_queue_name, f"t-past-{tag}")
    assert past is not None and past > (datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 1000
    ttl = await arq.pttl(f"arq:job:t-later-{tag}")
    assert ttl > timedelta(hours=24).total_seconds() * 1000  # arq's expiry: due time + a day
    await arq.zrem(arq.default_queue_name, *(j.job_id for j in jobs))
    await arq.delete(*(f"arq:job:{j.job_id}" for j in jobs))
