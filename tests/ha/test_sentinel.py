"""Redis behind Sentinel (issue 25): the API and the worker find the master through Sentinels
(`REDIS_SENTINELS`), and after a failover both follow the new master without a restart.

Real servers: a master, a replica and a Sentinel, all the `redis-server` the embedded package
ships (`--sentinel` makes it a Sentinel)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import create_pool
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from api.app import create_app
from api.outbox.service import DispatchAfterCommit
from shared.embedded import redis_executable
from shared.redis_connect import worker_settings
from shared.settings import Settings
from tests.conftest import County, visit_body

MASTER_NAME = "petition-desk"


def _dispatch(app: FastAPI) -> DispatchAfterCommit:
    return next(h for h in app.state.desk.hooks.after_commit if isinstance(h, DispatchAfterCommit))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Group:
    """A master, its replica and a Sentinel watching them."""

    master: int
    replica: int
    sentinel: int


def _serve(args: list[str], where: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(redis_executable()), *args],
        cwd=where,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis on {port} did not answer")


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Group]:
    """The three servers, stopped afterwards."""
    found = Group(_port(), _port(), _port())
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
    procs = [
        _serve(["--port", str(found.master), *common], tmp_path),
        _serve(
            ["--port", str(found.replica), *common, "--replicaof", "127.0.0.1", str(found.master)],
            tmp_path,
        ),
    ]
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {found.sentinel}\nbind 127.0.0.1\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {found.master} 1\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
    )
    procs.append(_serve([str(conf), "--sentinel"], tmp_path))
    try:
        for port in (found.master, found.replica, found.sentinel):
            _wait(port)
        yield found
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


async def _role(port: int) -> str:
    redis = Redis(port=port)
    try:
        info = await redis.info("replication")
        return str(info["role"])
    finally:
        await redis.aclose()


async def _ask(sentinel: Redis, command: str) -> Any:
    return await sentinel.execute_command("SENTINEL", command, MASTER_NAME)  # type: ignore[no-untyped-call]


async def _fail_over(group: Group) -> None:
    """Ask the Sentinel to promote the replica (once it knows it), and wait until it has."""
    sentinel = Redis(port=group.sentinel)
    try:
        deadline = time.monotonic() + 40
        while True:  # until the Sentinel has heard from the replica itself
            try:
                await _ask(sentinel, "FAILOVER")
                break
            except ResponseError as error:
                if "NOGOODSLAVE" not in str(error) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        while time.monotonic() < deadline:
            if await _role(group.replica) == "master":
                address = await _ask(sentinel, "GET-MASTER-ADDR-BY-NAME")
                if int(address[1]) == group.replica:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError("the Sentinel did not fail over in 30 s")
    finally:
        await sentinel.aclose()


@pytest.fixture
async def sentinel_settings(settings: Settings, group: Group) -> AsyncIterator[Settings]:
    """The test settings, with Redis reached through the Sentinel only (REDIS_URL points
    nowhere but gives the database)."""
    yield settings.model_copy(
        update={
            "redis_url": "redis://127.0.0.1:9/0",
            "redis_sentinels": f"127.0.0.1:{group.sentinel}",
            "redis_sentinel_master": MASTER_NAME,
            "arq_queue": "sentinel-test:queue",
        }
    )


async def test_the_api_and_the_worker_follow_the_master_through_a_failover(
    county: County, sentinel_settings: Settings, group: Group
) -> None:
    app = create_app(sentinel_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            staff = await county.headers(client, "town_staff")

            async def register() -> None:
                made = await client.post(
                    "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
                )
                assert made.status_code == 201, made.text
                ready = await client.get("/readyz")
                assert ready.json()["checks"]["redis"] == "ok", ready.text

            async def queued_on(port: int) -> int:
                redis = Redis(port=port)
                try:
                    return int(await redis.zcard(sentinel_settings.arq_queue))
                finally:
                    await redis.aclose()

            await register()
            # the jobs went to the master the Sentinel named
            await _dispatch(app).flush()
            before = await queued_on(group.master)
            assert before > 0

            worker_redis = await create_pool(
                worker_settings(sentinel_settings),
                default_queue_name=sentinel_settings.arq_queue,
            )
            try:
                assert await worker_redis.zcard(sentinel_settings.arq_queue) == before

                await _fail_over(group)
                # the old master is made a replica of the new one (until then it still takes
                # writes: a real split brain's window, closed by min-replicas-to-write)
                for _ in range(150):
                    if await _role(group.master) != "master":
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError("the old master was not made a replica")
                # a pooled connection to the old master fails once (READONLY) and is dropped;
                # the next one asks the Sentinel
                probe = f"probe-{uuid.uuid4().hex}"
                for _ in range(50):
                    try:
                        await register()
                        await app.state.desk.arq.enqueue_job("probe", _job_id=probe)
                        await worker_redis.enqueue_job("probe", _job_id=probe + "-worker")
                        break
                    except (AssertionError, RedisError):
                        await asyncio.sleep(0.2)
                else:
                    raise AssertionError("the API or the worker did not reach the new master")
                new_master = Redis(port=group.replica)
                try:
                    keys = (f"arq:job:{probe}", f"arq:job:{probe}-worker")
                    assert await new_master.exists(*keys) == 2
                finally:
                    await new_master.aclose()
            finally:
                await worker_redis.aclose()
