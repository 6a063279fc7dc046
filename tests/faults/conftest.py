"""Fixtures of the fault suite: its own PostgreSQL and Redis on fixed spare ports, a switchable
SMS receiver, and the API and worker as processes; the suite's policy set once."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shared.embedded import create_fresh_database
from tests.conftest import (
    ADMIN_PASSWORD,
    login,
    migrate,
)
from tests.faults.load import fault_policy
from tests.faults.receiver import FaultyReceiver, Mode
from tests.faults.servers import PostgresProcess, RedisProcess
from tests.faults.stack import Stack, suite_environment
from tests.processes import free_port, tail


@pytest.fixture(scope="session")
def fault_dir() -> Iterator[Path]:
    """Where the suite's servers keep their data and the processes their logs (kept with
    KEEP_FAULT_LOGS=1; a failed test prints their ends anyway)."""
    # Not pytest's tmp_path: PostgreSQL may run as another account, which must reach it.
    path = Path(tempfile.mkdtemp(prefix="pd-faults-"))
    path.chmod(0o755)
    yield path
    if os.environ.get("KEEP_FAULT_LOGS"):
        print(f"\nfault suite: data and logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(fault_dir: Path) -> Iterator[PostgresProcess]:
    """The suite's PostgreSQL."""
    server = PostgresProcess(fault_dir / "pg", free_port())
    server.init()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(fault_dir: Path) -> Iterator[RedisProcess]:
    """The suite's Redis (nothing persisted)."""
    server = RedisProcess(fault_dir / "redis", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres: PostgresProcess) -> str:
    """A migrated database on the suite's PostgreSQL."""
    url = create_fresh_database(postgres.url, "pd_faults")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def receiver() -> Iterator[FaultyReceiver]:
    """The SMS gateway every alert goes to."""
    gateway = FaultyReceiver(slow_seconds=2.0).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def stack(
    database_url: str, redis_server: RedisProcess, receiver: FaultyReceiver, fault_dir: Path
) -> Iterator[Stack]:
    """One API and one worker, running; scenarios add, kill and restart processes."""
    logs = fault_dir / "logs"
    logs.mkdir()
    env = suite_environment(database_url, redis_server.url, receiver.url, "pd-faults")
    stack = Stack(env=env, logs=logs)
    stack.add_api(free_port()).start()
    stack.add_worker().start()
    try:
        stack.api.wait_ready()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="session")
def engine(database_url: str) -> AsyncEngine:
    """Read access to the suite's database (no pool: the server gets restarted)."""
    return create_async_engine(database_url, poolclass=NullPool)


@pytest.fixture(scope="session")
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the first API process; the suite's policy is in force."""
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=15) as client:
        admin = await login(client, "admin", ADMIN_PASSWORD)
        policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
        resp = await client.put("/v1/policies", json=fault_policy(policy), headers=admin)
        assert resp.status_code == 200, resp.text
        yield client


@pytest.fixture(scope="session")
async def admin(http: httpx.AsyncClient) -> dict[str, str]:
    """Headers of the bootstrap admin."""
    return await login(http, "admin", ADMIN_PASSWORD)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the test item, for `healthy` to see a failure."""
    report = yield
    setattr(item, f"report_{call.when}", report)
    return report


@pytest.fixture(autouse=True)
def healthy(
    request: pytest.FixtureRequest,
    stack: Stack,
    postgres: PostgresProcess,
    redis_server: RedisProcess,
    receiver: FaultyReceiver,
) -> Iterator[None]:
    """Each scenario starts with every server and process up and the receiver answering; a
    failed one prints the end of every log, and leaves the stack whole for the next."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(stack.logs_tail())
        print(f"----- postgres -----\n{tail(postgres.log, 20)}")
    receiver.switch(Mode.ok)
    if postgres.proc is None or postgres.proc.poll() is not None:
        postgres.start()
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    for extra in stack.workers[1:]:
        extra.stop()
    for extra in stack.apis[1:]:
        extra.stop()
    del stack.workers[1:], stack.apis[1:]
    if not stack.api.running():
        stack.api.start()
        stack.api.wait_ready()
    if not stack.workers[0].running():
        stack.workers[0].start()
