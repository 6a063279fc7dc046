"""Transactional outbox: jobs reach Redis only after commit, and nothing is lost when Redis
is down at that moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.jobs import Job
from fastapi import FastAPI
from sqlalchemy import select

from api.app import create_app
from api.models.outbox import OutboxMessage
from api.outbox.service import DispatchAfterCommit, relay_undispatched
from api.sweeps.service import SWEPT_MARK, purge_outbox, sweep
from shared.contracts import flag_due_job_id, flag_due_tick
from shared.jobs import DELIVER_ALERT, FLAG_DUE
from shared.settings import Settings
from tests.conftest import ADMIN_PASSWORD, County, letter_body, visit_body
from tests.statements import counting

ARQ_JOB_PREFIX = "arq:job:"


def _dispatch(app: FastAPI) -> DispatchAfterCommit:
    return next(h for h in app.state.desk.hooks.after_commit if isinstance(h, DispatchAfterCommit))


async def _rows_for(app: FastAPI, job_ids: set[str]) -> list[OutboxMessage]:
    """Outbox rows of the case's deadlines and alerts (a deadline's row names it in its args;
    deadlines due in the same tick share one job id), once the rows enqueued are marked."""
    await _dispatch(app).flush()
    async with app.state.desk.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    found = []
    for row in rows:
        arg = row.payload["args"][0] if row.payload["args"] else None
        key = arg["alert_id"] if isinstance(arg, dict) else arg
        if row.job in ("flag_due", "deliver_alert") and key in job_ids:
            found.append(row)
    return found


def _job_ids(case: dict[str, Any], alerts: list[dict[str, Any]]) -> set[str]:
    """The ids the case's deadlines' and alerts' jobs carry."""
    return {d["id"] for d in case["deadlines"]} | {a["id"] for a in alerts}


async def _in_redis(arq: ArqRedis, row: OutboxMessage) -> bool:
    """Whether the row's job is queued: under its own id, or (an alert handed over with
    others) inside a batch delivery job."""
    if await arq.exists(ARQ_JOB_PREFIX + row.job_id):
        return True
    if row.job != DELIVER_ALERT:
        return False
    alert_id = row.payload["args"][0]["alert_id"]
    for key in await arq.keys(ARQ_JOB_PREFIX + "deliver-alerts:*"):
        info = await Job(key.decode().removeprefix(ARQ_JOB_PREFIX), arq).info()
        if info is not None and any(m["alert_id"] == alert_id for m in info.args[0]):
            return True
    return False


async def test_jobs_reach_redis_after_commit(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 25), headers=staff
        )
    ).json()
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    job_ids = _job_ids(case, alerts)
    assert len(job_ids) == 6  # two arrivals + two intake deadlines, two summons
    rows = await _rows_for(app, job_ids)
    assert len(rows) == 6
    assert all(r.dispatched_at is not None for r in rows)
    arq = app.state.desk.arq
    for row in rows:
        assert await _in_redis(arq, row), row.job_id


async def test_many_requests_rows_are_marked_dispatched_in_one_statement(
    county: County, client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Enqueued at once, marked together later: no request pays a transaction of its own for
    the mark (issue 22), and nothing enqueued is left unmarked."""
    dispatch = _dispatch(app)
    await dispatch.flush()
    delay, dispatch.delay = dispatch.delay, 3600.0
    try:
        staff = await county.headers(client, "town_staff")
        cases = [
            (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
            for _ in range(3)
        ]
        job_ids = {d["id"] for c in cases for d in c["deadlines"]}
        async with app.state.desk.sessionmaker() as session:
            rows = (await session.execute(select(OutboxMessage))).scalars().all()
        mine = [r for r in rows if r.payload["args"] and str(r.payload["args"][0]) in job_ids]
        assert {str(r.payload["args"][0]) for r in mine} == job_ids and len(job_ids) == 6
        assert all(r.dispatched_at is None for r in mine)  # in Redis, not yet marked
        arq = app.state.desk.arq
        for row in mine:
            assert await _in_redis(arq, row), row.job_id
        async with counting(app.state.desk.engine) as tally:
            await dispatch.flush()
        assert len(tally.statements) == 1 and tally.transactions == 1, tally
    finally:
        dispatch.delay = delay
    async with app.state.desk.sessionmaker() as session:
        marked = [await session.get(OutboxMessage, r.id) for r in mine]
    assert all(r is not None and r.dispatched_at is not None for r in marked)


async def test_redis_down_loses_nothing(
    county: County,
    settings: Settings,
    app: FastAPI,
    admin: dict[str, str],
    client: httpx.AsyncClient,
) -> None:
    broken = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))
    async with broken.router.lifespan_context(broken):
        transport = httpx.ASGITransport(app=broken)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            staff = await county.headers(other, "town_staff")
            resp = await other.post(
                "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
            )
            assert resp.status_code == 201, resp.text
            case = resp.json()
            # Still ready for traffic (it registers), but says what is wrong.
            ready = await other.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["redis"].startswith("error")
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)).json()[
        "items"
    ]
    job_ids = _job_ids(case, alerts)
    rows = await _rows_for(app, job_ids)
    assert len(rows) == len(job_ids) == 4  # arrival + two intake deadlines, one summons
    assert all(r.dispatched_at is None for r in rows)

    arq = app.state.desk.arq
    async with app.state.desk.sessionmaker() as session:
        relayed = await relay_undispatched(session, arq, grace=timedelta(0))
        await session.commit()
    assert relayed >= 4
    for row in rows:
        assert await _in_redis(arq, row), row.job_id
    rows = await _rows_for(app, job_ids)
    assert all(r.dispatched_at is not None for r in rows)
    assert ADMIN_PASSWORD  # the broken app found the existing admin and created none


async def test_failed_request_records_no_job(
    county: County, client: httpx.AsyncClient, app: FastAPI
) -> None:
    async with app.state.desk.sessionmaker() as session:
        before = len((await session.execute(select(OutboxMessage.id))).all())
    staff = await county.headers(client, "town_staff")
    body = visit_body(county.village2, county.town, 25)
    body["petitioners"] = [{"name": f"代表{i}", "is_representative": True} for i in range(9)]
    resp = await client.post("/v1/cases", json=body, headers=staff)
    assert resp.status_code == 422
    async with app.state.desk.sessionmaker() as session:
        after = len((await session.execute(select(OutboxMessage.id))).all())
    assert after == before


async def test_backdated_deadline_checks_still_reach_redis(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    """A due time already past must not make arq refuse the job (it runs at once)."""
    staff = await county.headers(client, "county_staff")
    body = {
        "channel": "letter",
        "origin_unit_id": county.village2["id"],
        "lodged_level": "county",
        "petitioners": [{"name": "孙七"}],
        "category": "labour.wages",
        "title": "旧信",
        "content": "二十天前收到的来信。",
        "received_at": (datetime.now(UTC) - timedelta(days=20)).isoformat(),
    }
    case = (await client.post("/v1/cases", json=body, headers=staff)).json()
    job_ids = {d["id"] for d in case["deadlines"]}
    rows = await _rows_for(app, job_ids)
    assert len(rows) == 2
    assert all(r.dispatched_at is not None for r in rows)


async def test_redis_that_lost_its_jobs_is_refilled_by_a_sweep_that_commits(
    app: FastAPI, client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    """A deferred job was handed to Redis, then Redis came back empty (no sweep mark). A sweep
    whose transaction rolls back hands out nothing and leaves the mark unset; the next sweep
    hands the job out again and sets it."""
    arq = app.state.desk.arq
    mark = SWEPT_MARK.format(queue=arq.default_queue_name)
    now = datetime.now(UTC)
    due = now + timedelta(hours=1)
    job_id = flag_due_job_id(due)
    async with app.state.desk.sessionmaker() as session:
        row = OutboxMessage(
            job=FLAG_DUE.name,
            job_id=job_id,
            payload={"args": ["lost-with-redis"]},
            defer_until=flag_due_tick(due),
            # the oldest row there is: the relay hands rows out oldest first, 500 a sweep, and
            # the tests before this one leave many
            created_at=datetime(2001, 1, 1, tzinfo=UTC),
            dispatched_at=now - timedelta(minutes=1),
        )
        session.add(row)
        await session.commit()
    await arq.delete(mark, ARQ_JOB_PREFIX + job_id)

    async with app.state.desk.sessionmaker() as session:
        await sweep(session, arq, timedelta(0), timedelta(days=7), timedelta(days=7))
        await session.rollback()
    assert not await arq.exists(mark)

    resp = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert resp.status_code == 200, resp.text
    assert await arq.exists(mark)
    assert await arq.exists(ARQ_JOB_PREFIX + job_id)
    async with app.state.desk.sessionmaker() as session:
        again = await session.get(OutboxMessage, row.id)
        assert again is not None and again.dispatched_at is not None
        assert again.dispatched_at > now


async def test_the_sweep_purges_outbox_rows_handed_out_and_past_their_time(
    app: FastAPI, client: httpx.AsyncClient, worker_headers: dict[str, str]
) -> None:
    """Rows handed to Redis and recorded, and due if deferred, longer ago than the retention
    go; a row still deferred or due lately, one never handed out, and a recent one (the
    recovery's rerun window) stay, whatever the retention asked for."""
    now = datetime.now(UTC)
    old = now - timedelta(days=10)

    def row(tag: str, **fields: Any) -> OutboxMessage:
        return OutboxMessage(
            job=FLAG_DUE.name,
            job_id=f"purge-{tag}-{now.timestamp()}",
            payload={"args": []},
            **fields,
        )

    rows = {
        "handed out long ago": row("gone", created_at=old, dispatched_at=old),
        "its time passed": row(
            "passed", created_at=old, dispatched_at=old, defer_until=now - timedelta(days=5)
        ),
        "still deferred": row(
            "deferred", created_at=old, dispatched_at=old, defer_until=now + timedelta(days=1)
        ),
        # kept the retention after its time too: the recovery may run it again that long
        "its time passed lately": row(
            "lately", created_at=old, dispatched_at=old, defer_until=now - timedelta(hours=1)
        ),
        "never handed out": row("waiting", created_at=old, dispatched_at=None),
        "recent": row(
            "recent", created_at=now - timedelta(hours=30), dispatched_at=now - timedelta(hours=30)
        ),
    }
    async with app.state.desk.sessionmaker() as session:
        session.add_all(rows.values())
        await session.commit()
    ids = {name: r.id for name, r in rows.items()}
    async with app.state.desk.sessionmaker() as session:
        purged = await purge_outbox(session, timedelta(0))
        await session.commit()
    assert purged >= 2
    async with app.state.desk.sessionmaker() as session:
        left = {
            name
            for name, row_id in ids.items()
            if await session.get(OutboxMessage, row_id) is not None
        }
    assert left == {"still deferred", "its time passed lately", "never handed out", "recent"}
    resp = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert resp.status_code == 200, resp.text
    assert "outbox_rows_purged" in resp.json()


async def test_a_failover_that_lost_the_last_jobs_is_caught_by_the_next_sweep(
    app: FastAPI, client: httpx.AsyncClient, county: County, worker_headers: dict[str, str]
) -> None:
    """A failover keeps `…:swept` but loses the jobs written last: the sweep looks for the
    jobs handed out since its last check, hands out again those Redis no longer holds, and
    leaves the others alone."""
    arq = app.state.desk.arq
    first = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert first.status_code == 200, first.text  # the marks are set
    staff = await county.headers(client, "town_staff")
    made = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
    )
    assert made.status_code == 201, made.text
    await _dispatch(app).flush()
    async with app.state.desk.sessionmaker() as session:
        rows = [
            r
            for r in (await session.execute(select(OutboxMessage))).scalars()
            if r.job == FLAG_DUE.name
            and r.dispatched_at is not None
            and r.payload["args"]
            and r.payload["args"][0] in {d["id"] for d in made.json()["deadlines"]}
        ]
    assert rows
    lost = rows[0]
    kept = [r for r in rows[1:] if r.job_id != lost.job_id]
    # the write the failover lost: the job's key and its queue entry
    await arq.delete(ARQ_JOB_PREFIX + lost.job_id)
    await arq.zrem(arq.default_queue_name, lost.job_id)
    assert await arq.exists(SWEPT_MARK.format(queue=arq.default_queue_name))

    swept = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert swept.status_code == 200, swept.text
    assert swept.json()["jobs_handed_out_again"] >= 1, swept.json()
    assert await arq.exists(ARQ_JOB_PREFIX + lost.job_id)
    assert await arq.zscore(arq.default_queue_name, lost.job_id) is not None
    async with app.state.desk.sessionmaker() as session:
        again = await session.get(OutboxMessage, lost.id)
        assert again is not None and again.dispatched_at is not None
        assert again.dispatched_at > lost.dispatched_at
        for row in kept:
            same = await session.get(OutboxMessage, row.id)
            assert same is not None and same.dispatched_at == row.dispatched_at
    # checked once: the next sweep starts from the mark and finds nothing lost
    again_swept = await client.post("/v1/internal/sweep", headers=worker_headers)
    assert again_swept.json()["jobs_handed_out_again"] == 0
