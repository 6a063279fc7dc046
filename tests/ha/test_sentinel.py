"""Redis behind Sentinel (issue 25): the API and the worker find the master through Sentinels
(`REDIS_SENTINELS`), and after a failover both follow the new master without a restart.

Real servers: a master, a replica and three Sentinels (`tests.ha.redis_group`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import create_pool
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.app import create_app
from api.outbox.service import DispatchAfterCommit
from shared.redis_connect import worker_settings
from shared.settings import Settings
from tests.conftest import County, visit_body
from tests.ha.redis_group import MASTER_NAME, RedisGroup, role


def _dispatch(app: FastAPI) -> DispatchAfterCommit:
    return next(h for h in app.state.desk.hooks.after_commit if isinstance(h, DispatchAfterCommit))


@pytest.fixture
def group(tmp_path: Path) -> Iterator[RedisGroup]:
    """The five servers, stopped afterwards."""
    found = RedisGroup(tmp_path)
    try:
        found.start()
        yield found
    finally:
        found.stop()


@pytest.fixture
async def sentinel_settings(settings: Settings, group: RedisGroup) -> AsyncIterator[Settings]:
    """The test settings, with Redis reached through the Sentinel only (REDIS_URL points
    nowhere but gives the database)."""
    yield settings.model_copy(
        update={
            "redis_url": "redis://127.0.0.1:9/0",
            "redis_sentinels": group.sentinel_setting,
            "redis_sentinel_master": MASTER_NAME,
            "arq_queue": "sentinel-test:queue",
        }
    )


async def test_the_api_and_the_worker_follow_the_master_through_a_failover(
    county: County, sentinel_settings: Settings, group: RedisGroup
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

                await group.fail_over()
                # the old master is made a replica of the new one (until then it still takes
                # writes: a real split brain's window, closed by min-replicas-to-write)
                for _ in range(150):
                    if await role(group.master) != "master":
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
