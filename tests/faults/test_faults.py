"""Each scenario: a county of its own, a few hundred deadlines (and visits registered through
the API, each summoning a chief) falling due together, a fault injected while they fall due,
recovery, then the invariants of `load.check`: every deadline flagged exactly once and each
step of its chain escalated exactly once, every alert delivered (duplicates only under its own
message id), no case lost or doubled."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.settings import Settings
from tests.conftest import SCRAPER
from tests.faults.load import (
    Outcome,
    Scenario,
    check,
    register_visits,
    seed_deadlines,
    seed_territory,
    wait_until_settled,
)
from tests.faults.receiver import FaultyReceiver, Mode
from tests.faults.servers import PostgresProcess, RedisProcess
from tests.faults.stack import Stack
from tests.processes import free_port, poll

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BULK = 240  # deadlines written straight into the database
VISITS = 30  # visits registered through the API (one arrival deadline and summons each)
LEAD = 8.0  # seconds from seeding to the first bulk due time
SPREAD = 4.0  # seconds the bulk due times span
TAKEOVER_SLACK = 20.0  # seconds past the in-progress lock a killed worker's jobs may take
SETTLE = 100.0  # below the sweep's 2-minute net for alerts whose job was lost: a lost job fails


@dataclass
class Run:
    """What every scenario works with: the suite's servers, processes and receiver, and a
    client of the first API signed in as admin."""

    engine: AsyncEngine
    stack: Stack
    redis_server: RedisProcess
    receiver: FaultyReceiver
    http: httpx.AsyncClient
    admin: dict[str, str]

    async def prepare(self) -> tuple[Scenario, datetime]:
        """Seed a scenario; returns it and its first due time."""
        scenario = await seed_territory(self.engine)
        first_due = datetime.now(UTC) + timedelta(seconds=LEAD)
        queue = self.stack.env["ARQ_QUEUE"]
        await seed_deadlines(
            self.engine, self.redis_server.url, queue, scenario, BULK, first_due, SPREAD
        )
        await register_visits(self.http, self.admin, scenario, VISITS)
        return scenario, first_due

    async def settle_and_check(self, scenario: Scenario, *, visits: int = VISITS) -> Outcome:
        """Wait for recovery, then assert the invariants; the outcome for further checks."""
        outcome = await wait_until_settled(
            self.engine, self.receiver, scenario, SETTLE, self.stack.logs_tail
        )
        check(outcome, scenario, bulk=BULK, visits=visits)
        twice = sum(1 for a in outcome.alerts if outcome.accepted[str(a)] > 1)
        print(f"\n{len(outcome.alerts)} alerts delivered, {twice} of them more than once")
        async with self.engine.connect() as conn:
            slowest = await conn.execute(
                text(
                    "SELECT id, purpose, attempts, created_at, sent_at - created_at AS took"
                    " FROM alerts WHERE case_id = ANY(:cases) ORDER BY took DESC LIMIT 3"
                ),
                {"cases": list(scenario.cases)},
            )
            for row in slowest:
                print(f"slowest: {row.id} {row.purpose} attempts={row.attempts} took {row.took}")
        return outcome

    async def alerts_where(self, scenario: Scenario, condition: str) -> int:
        """How many of the scenario's alerts meet the SQL `condition` (a literal of the test)."""
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text(f"SELECT count(*) FROM alerts WHERE case_id = ANY(:cases) AND {condition}"),
                {"cases": list(scenario.cases)},
            )
            return int(found.scalar_one())


@pytest.fixture
def run(
    engine: AsyncEngine,
    stack: Stack,
    redis_server: RedisProcess,
    receiver: FaultyReceiver,
    http: httpx.AsyncClient,
    admin: dict[str, str],
) -> Run:
    """The scenario's working set."""
    return Run(engine, stack, redis_server, receiver, http, admin)


async def until(moment: datetime) -> None:
    """Sleep until `moment`."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def test_receiver_answering_500(run: Run) -> None:
    """The gateway fails every message for a while: each is retried until it goes through."""
    scenario, first_due = await run.prepare()
    await until(first_due)
    run.receiver.switch(Mode.error)
    await asyncio.sleep(SPREAD + 2)
    run.receiver.switch(Mode.ok)
    await run.settle_and_check(scenario)
    assert run.receiver.requests()[Mode.error] > 0
    assert await run.alerts_where(scenario, "attempts > 1") > 0  # the fault really hit deliveries


async def test_receiver_timing_out(run: Run) -> None:
    """The gateway swallows requests without answering for longer than the sender waits:
    every message times out, is retried, and goes through once the gateway answers again."""
    scenario, first_due = await run.prepare()
    await until(first_due)
    run.receiver.switch(Mode.hang)
    await asyncio.sleep(SPREAD + 4)  # longer than SMS_TIMEOUT_SECONDS
    run.receiver.switch(Mode.ok)
    await run.settle_and_check(scenario)
    assert run.receiver.requests()[Mode.hang] > 0
    assert await run.alerts_where(scenario, "attempts > 1") > 0


async def test_receiver_answering_slowly(run: Run) -> None:
    """Every answer takes 2 s (within the sender's timeout) while the storm is delivered."""
    scenario, first_due = await run.prepare()
    await until(first_due - timedelta(seconds=1))
    run.receiver.switch(Mode.slow)
    before = run.receiver.requests()[Mode.slow]
    await run.settle_and_check(scenario)
    assert run.receiver.requests()[Mode.slow] - before >= BULK  # the storm met the slow gateway


async def test_worker_killed_while_sending(run: Run) -> None:
    """SIGKILL the worker with messages in flight (a slow gateway keeps them there), restart
    it: what it had taken is delivered by the next incarnation, nothing is flagged twice."""
    scenario, first_due = await run.prepare()
    run.receiver.switch(Mode.slow)
    await until(first_due + timedelta(seconds=SPREAD / 2))
    slow_before = run.receiver.requests()[Mode.slow]

    async def sending() -> bool:
        return run.receiver.requests()[Mode.slow] - slow_before >= 20

    await poll(sending, 30, "escalation messages on their way")
    in_flight = await run.alerts_where(scenario, "status = 'pending'")
    killed_at = time.monotonic()
    run.stack.workers[0].kill()
    run.receiver.switch(Mode.ok)
    assert in_flight > 0  # killed with work on its hands
    await asyncio.sleep(1.0)
    run.stack.workers[0].start()
    await run.settle_and_check(scenario)
    # What the dead worker held waits for arq's in-progress lock (job timeout + 10 s), not for
    # the sweep's 2-minute net; the slack is for a slow machine.
    took = time.monotonic() - killed_at
    lock = Settings.model_fields["worker_job_timeout_seconds"].default + 10
    print(f"settled {took:.1f} s after the kill (in-progress lock {lock:.0f} s)")
    assert took < lock + TAKEOVER_SLACK


async def test_redis_restarted_empty(run: Run) -> None:
    """Redis dies in the middle of the storm and comes back without its data: the clock's
    deferred jobs for what is not due yet and the queued deliveries are gone."""
    scenario, first_due = await run.prepare()
    run.receiver.switch(Mode.slow)  # a backlog of deliveries sits in the queue
    await until(first_due + timedelta(seconds=SPREAD / 2))
    async with run.stack.supervised() as restarts:
        run.redis_server.kill()
        in_flight = await run.alerts_where(scenario, "status = 'pending'")
        await asyncio.sleep(2.0)
        run.redis_server.start()
        run.receiver.switch(Mode.ok)
        assert in_flight > 0
        await run.settle_and_check(scenario)
    print(f"restarted by the supervisor: {dict(restarts)}")  # arq's worker exits without Redis


async def test_postgres_restarted_under_load(run: Run, postgres: PostgresProcess) -> None:
    """PostgreSQL crashes (immediate shutdown) while deadlines are being flagged, alerts
    delivered and visits registered, and restarts a few seconds later."""
    scenario, first_due = await run.prepare()
    await until(first_due + timedelta(seconds=SPREAD / 2))
    more = asyncio.create_task(register_visits(run.http, run.admin, scenario, 10, start=VISITS))
    await asyncio.sleep(0.3)
    postgres.crash()
    await asyncio.sleep(3.0)
    postgres.start()
    await more
    await run.settle_and_check(scenario, visits=VISITS + 10)


async def test_api_killed_while_worker_reports(run: Run) -> None:
    """SIGKILL the API while the worker flags deadlines and reports deliveries (and a phone
    registers visits), restart it: reports are retried, registrations replayed by key."""
    scenario, first_due = await run.prepare()
    await until(first_due + timedelta(seconds=SPREAD / 2))
    more = asyncio.create_task(register_visits(run.http, run.admin, scenario, 10, start=VISITS))
    await asyncio.sleep(0.3)
    in_flight = await run.alerts_where(scenario, "status = 'pending'")
    run.stack.api.kill()
    await asyncio.sleep(2.0)
    run.stack.api.start()
    run.stack.api.wait_ready()
    await more
    assert in_flight > 0
    await run.settle_and_check(scenario, visits=VISITS + 10)


COUNTED = ("petitiondesk_deadlines_missed_total", "petitiondesk_escalations_total")


async def scrape(urls: list[str]) -> dict[str, float]:
    """The counters of `COUNTED`, summed over the API processes (as Prometheus would), and
    the flag-lag histogram's count."""
    totals = dict.fromkeys((*COUNTED, "petitiondesk_deadline_flag_lag_seconds_count"), 0.0)
    async with httpx.AsyncClient(timeout=10) as client:
        for url in urls:
            exposed = (await client.get(url + "/metrics", headers=SCRAPER)).text
            for family in text_string_to_metric_families(exposed):
                for sample in family.samples:
                    if sample.name in totals:
                        totals[sample.name] += sample.value
    return totals


async def test_two_workers_and_two_apis(run: Run) -> None:
    """Two API processes and two workers (each talking to its own API) race for the same
    deadlines and jobs: each deadline is still flagged and escalated once, and the APIs'
    metrics, summed, count exactly what the database holds."""
    second = run.stack.add_api(free_port())
    second.start()
    worker = run.stack.add_worker()
    assert worker.env["API_URL"] == second.url
    second.wait_ready()
    worker.start()
    marks = {w.name: w.log.stat().st_size for w in run.stack.workers}
    urls = [api.url for api in run.stack.apis]
    before = await scrape(urls)
    async with httpx.AsyncClient(base_url=second.url, timeout=15) as other:
        scenario, first_due = await run.prepare()
        await register_visits(other, run.admin, scenario, 10, start=VISITS)
    outcome = await run.settle_and_check(scenario, visits=VISITS + 10)
    settled_after = (datetime.now(UTC) - first_due).total_seconds()
    for w in run.stack.workers:  # both took part
        with w.log.open("rb") as log:
            log.seek(marks[w.name])
            assert b"flag_due" in log.read(), f"{w.name} ran no clock job"
    after = await scrape(urls)
    moved = {name: after[name] - before[name] for name in after}
    assert moved["petitiondesk_deadlines_missed_total"] == len(outcome.due)
    assert moved["petitiondesk_deadline_flag_lag_seconds_count"] == len(outcome.due)
    assert moved["petitiondesk_escalations_total"] == sum(outcome.escalations.values())
    async with run.engine.connect() as conn:
        lags = sorted(
            float(lag)
            for lag in (
                await conn.execute(
                    text(
                        "SELECT extract(epoch FROM closed_at - greatest(due_at, created_at))"
                        " FROM deadlines WHERE id = ANY(:ids)"
                    ),
                    {"ids": list(outcome.due)},
                )
            ).scalars()
        )
    twice = sum(1 for a in outcome.alerts if outcome.accepted[str(a)] > 1)
    print(
        f"\n2 APIs + 2 workers: {len(outcome.due)} deadlines flagged once each, "
        f"{sum(outcome.escalations.values())} escalation steps once each, "
        f"{len(outcome.alerts)} alerts all received ({twice} more than once, same id); "
        f"flag lag p50 {lags[len(lags) // 2]:.3f} s, p99 {lags[int(len(lags) * 0.99)]:.3f} s, "
        f"max {lags[-1]:.3f} s; settled {settled_after:.1f} s after the first due time"
    )
