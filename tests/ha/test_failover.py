"""The engines themselves fail over in the middle of a burst (issue 25).

Real servers, started here from the embedded packages' own binaries: a PostgreSQL primary with
a synchronous streaming standby (`pg_basebackup`, `synchronous_standby_names`), a Redis master
with a replica and three Sentinels. Two API processes and two workers reach them the way a
province's deployment does: `DATABASE_URL` names both PostgreSQL hosts with
`target_session_attrs=read-write` (the migrations run through it too), Redis is found through the
Sentinels only.

While a few hundred deadlines fall due and phones register visits through both APIs, the
primary crashes and the standby is promoted, and the Redis master is killed (what it had not
passed to its replica is lost) and the Sentinels promote the replica. Then: every visit
answered 201 exists once, every deadline due is flagged missed exactly once and escalated once
a step, every alert is received at least once under its own id (duplicates counted), and the
time to recover is printed."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shared.embedded import create_fresh_database
from tests.conftest import (
    ADMIN_PASSWORD,
    login,
    migrate,
)
from tests.faults.load import (
    Scenario,
    check,
    fault_policy,
    seed_deadlines,
    seed_territory,
    visit,
    wait_until_settled,
)
from tests.faults.receiver import FaultyReceiver
from tests.faults.servers import PostgresProcess
from tests.faults.stack import Stack, suite_environment
from tests.ha.redis_group import MASTER_NAME, RedisGroup
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STANDBY_NAME = "standby"
BULK = 200  # deadlines written straight into the database, falling due together
VISITS = 40  # registered through the two APIs, half each, paced across the failover
PACE = 0.3  # seconds between two visits sent to one API
LEAD = 6.0  # seconds from seeding to the first due time
SPREAD = 4.0  # seconds the due times span
PROMOTE_AFTER = 2.0  # seconds from the crash to the operator (or its controller) promoting
# Long enough for the sweep's net for alerts whose delivery job the Redis master took with it
# (requeued after 2 minutes); the re-runnable jobs come back at the next sweep.
SETTLE = 240.0


@pytest.fixture(scope="module")
def ha_dir() -> Iterator[Path]:
    """The servers' data and the processes' logs (kept with KEEP_FAULT_LOGS=1)."""
    # Not pytest's tmp_path: PostgreSQL may run as another account, which must reach it.
    path = Path(tempfile.mkdtemp(prefix="pd-ha-"))
    path.chmod(0o755)
    yield path
    if os.environ.get("KEEP_FAULT_LOGS"):
        print(f"\nHA suite: data and logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


async def _synchronous(primary: PostgresProcess) -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=primary.port, user="postgres")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = await conn.fetchval(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1",
                STANDBY_NAME,
            )
            if state == "sync":
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("the standby never became the synchronous one")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def postgres_pair(ha_dir: Path) -> Iterator[tuple[PostgresProcess, PostgresProcess]]:
    """The primary and its synchronous standby: a commit is acknowledged only once the standby
    has it on disk (`synchronous_commit=on`), which is what makes "accepted = kept" hold
    through a promotion."""
    primary = PostgresProcess(
        ha_dir / "primary",
        free_port(),
        options=[
            "wal_level=replica",
            "max_wal_senders=5",
            f"synchronous_standby_names={STANDBY_NAME}",
            "synchronous_commit=on",
        ],
    )
    primary.init()
    primary.start()
    # The standby is started without synchronous_standby_names: once promoted it has no
    # standby of its own to wait for (an operator such as CloudNativePG does the same).
    standby = PostgresProcess(ha_dir / "standby", free_port())
    try:
        standby.init_standby(primary, STANDBY_NAME)
        standby.start()
        asyncio.run(_synchronous(primary))
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()


@pytest.fixture(scope="module")
def database_url(postgres_pair: tuple[PostgresProcess, PostgresProcess]) -> str:
    """A database made on the primary, migrated through the URL naming both servers."""
    primary, standby = postgres_pair
    name = make_url(create_fresh_database(primary.url, "pd_ha")).database
    url = (
        f"postgresql+asyncpg://postgres@/{name}?host=127.0.0.1:{primary.port}"
        f"&host=127.0.0.1:{standby.port}&target_session_attrs=read-write"
    )
    migrate(url)
    return url


@pytest.fixture(scope="module")
def redis_group(ha_dir: Path) -> Iterator[RedisGroup]:
    """The Redis master, its replica and three Sentinels."""
    where = ha_dir / "redis"
    where.mkdir()
    group = RedisGroup(where)
    try:
        group.start()
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[FaultyReceiver]:
    """The SMS gateway every alert goes to."""
    gateway = FaultyReceiver().start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_group: RedisGroup, receiver: FaultyReceiver, ha_dir: Path
) -> Iterator[Stack]:
    """Two APIs and two workers (each worker calls its own API)."""
    logs = ha_dir / "logs"
    logs.mkdir()
    # only the database number in REDIS_URL: the master is whoever the Sentinels name
    env = suite_environment(database_url, "redis://127.0.0.1:9/0", receiver.url, "pd-ha") | {
        "REDIS_SENTINELS": redis_group.sentinel_setting,
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
    }
    stack = Stack(env=env, logs=logs)
    for _ in range(2):
        stack.add_api(free_port()).start()
    for _ in range(2):
        stack.add_worker().start()
    try:
        for api in stack.apis:
            api.wait_ready()
        yield stack
    finally:
        stack.stop_all()


@dataclass
class Phones:
    """What the phones registering visits were answered, and when."""

    fault_at: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)
    without_retry_after: int = 0
    # time (monotonic) a registration sent after the fault was first answered 201
    first_201_after_fault: float | None = None

    async def register(
        self, http: httpx.AsyncClient, admin: dict[str, str], scenario: Scenario, n: int
    ) -> None:
        """One visit, with its own Idempotency-Key, sent again until 201 (a phone's retry)."""
        key = f"ha-{scenario.tag}-{n}"
        headers = admin | {"Idempotency-Key": key}
        stop_at = time.monotonic() + SETTLE
        while True:
            sent = time.monotonic()
            try:
                resp = await http.post("/v1/cases", json=visit(scenario, n), headers=headers)
                self.answers[str(resp.status_code)] += 1
                if resp.status_code == 201:
                    case_id = uuid.UUID(resp.json()["id"])
                    scenario.visits[key] = case_id
                    scenario.cases.add(case_id)
                    if (
                        self.fault_at
                        and sent > self.fault_at
                        and self.first_201_after_fault is None
                    ):
                        self.first_201_after_fault = time.monotonic()
                    return
                assert resp.status_code >= 500, resp.text  # a 4xx is a bug, never retried
                if resp.status_code == 503 and "Retry-After" not in resp.headers:
                    self.without_retry_after += 1
            except httpx.TransportError as error:
                self.answers[type(error).__name__] += 1
            if time.monotonic() > stop_at:
                raise AssertionError(f"visit {key} was never registered")
            await asyncio.sleep(0.5)


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A client of each API; the suite's policy put through the first."""
    async with (
        httpx.AsyncClient(base_url=stack.apis[0].url, timeout=15) as one,
        httpx.AsyncClient(base_url=stack.apis[1].url, timeout=15) as two,
    ):
        admin = await login(one, "admin", ADMIN_PASSWORD)
        policy = (await one.get("/v1/policies", headers=admin)).json()["policy"]
        resp = await one.put("/v1/policies", json=fault_policy(policy), headers=admin)
        assert resp.status_code == 200, resp.text
        yield [one, two]


async def test_postgres_and_redis_fail_over_in_the_middle_of_a_burst(
    stack: Stack,
    clients: list[httpx.AsyncClient],
    postgres_pair: tuple[PostgresProcess, PostgresProcess],
    redis_group: RedisGroup,
    receiver: FaultyReceiver,
    database_url: str,
) -> None:
    primary, standby = postgres_pair
    engine: AsyncEngine = create_async_engine(database_url, poolclass=NullPool)
    admin = await login(clients[0], "admin", ADMIN_PASSWORD)
    scenario = await seed_territory(engine)
    first_due = datetime.now(UTC) + timedelta(seconds=LEAD)
    await seed_deadlines(
        engine,
        f"redis://127.0.0.1:{redis_group.master}/0",
        stack.env["ARQ_QUEUE"],
        scenario,
        BULK,
        first_due,
        SPREAD,
    )
    phones = Phones()

    async def burst() -> None:
        sending = []
        for n in range(VISITS // 2):
            for side, http in enumerate(clients):
                sending.append(
                    asyncio.create_task(phones.register(http, admin, scenario, 2 * n + side))
                )
            await asyncio.sleep(PACE)
        await asyncio.gather(*sending)

    fault_due = first_due + timedelta(seconds=SPREAD / 2)
    await asyncio.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds() - 2))
    async with stack.supervised() as restarts:
        registering = asyncio.create_task(burst())
        await asyncio.sleep(max(0.0, (fault_due - datetime.now(UTC)).total_seconds()))
        phones.fault_at = time.monotonic()
        primary.crash()
        redis_group.kill(redis_group.master)
        redis_failover = asyncio.create_task(redis_group.until_master_is(redis_group.replica, 60))
        await asyncio.sleep(PROMOTE_AFTER)
        await asyncio.to_thread(standby.promote)
        promoted_after = time.monotonic() - phones.fault_at
        redis_after = await redis_failover  # counted from just after the kill
        await registering
        outcome = await wait_until_settled(engine, receiver, scenario, SETTLE, stack.logs_tail)
    settled_after = time.monotonic() - phones.fault_at
    await engine.dispose()

    check(outcome, scenario, bulk=BULK, visits=VISITS)
    twice = sum(1 for a in outcome.alerts if outcome.accepted[str(a)] > 1)
    extra = sum(max(0, outcome.accepted[str(a)] - 1) for a in outcome.alerts)
    assert phones.first_201_after_fault is not None
    print(
        f"\nfailover mid-burst: {len(scenario.visits)} visits answered 201 all kept (lost 0), "
        f"{len(outcome.due)} deadlines flagged once each (flagged twice 0), "
        f"{sum(outcome.escalations.values())} escalation steps once each, "
        f"{len(outcome.alerts)} alerts all received, {twice} of them more than once "
        f"({extra} duplicate messages, same id)\n"
        f"standby promoted {promoted_after:.1f} s after the crash; Sentinels agreed on the new "
        f"Redis master {redis_after:.1f} s after the kill; first visit sent after the fault "
        f"answered 201 {phones.first_201_after_fault - phones.fault_at:.1f} s after it; "
        f"settled {settled_after:.1f} s after it\n"
        f"answers the phones saw: {dict(phones.answers)}; 503 without Retry-After: "
        f"{phones.without_retry_after}; restarts by the supervisor: {dict(restarts)}"
    )
    # the fault did meet registrations, and every refusal in between was a 503 to retry
    assert phones.answers["503"] + phones.answers["ReadError"] + phones.answers["ConnectError"]
    assert phones.without_retry_after == 0
    assert not {status for status in phones.answers if status.startswith("5")} - {"503"}
