"""How both processes reach Redis: one endpoint (`REDIS_URL`), or the master a set of Sentinels
names (`REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`; `REDIS_URL` then gives only the database
number and the password).

With Sentinel, every new connection asks the Sentinels for the master, and a connection to a
server that has become a replica is dropped on its first READONLY answer: after a failover both
the API's pool (redis-py's `SentinelConnectionPool`) and the worker's (arq's
`RedisSettings(sentinel=True)`) follow the new master without a restart.
"""

from __future__ import annotations

from arq.connections import RedisSettings
from redis.asyncio import ConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from shared.settings import Settings

# Seconds a connection attempt may take (a master that went away must not hold a request).
CONNECT_TIMEOUT = 2


def sentinel_hosts(spec: str) -> list[tuple[str, int]]:
    """`host:port,host:port` as pairs (port 26379 when omitted)."""
    hosts = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        hosts.append((host, int(port)))
    return hosts


def api_pool(settings: Settings) -> ConnectionPool:
    """The API's connection pool: to `REDIS_URL`, or to the master the Sentinels name."""
    if not settings.redis_sentinels:
        return ConnectionPool.from_url(settings.redis_url, socket_connect_timeout=CONNECT_TIMEOUT)
    target = RedisSettings.from_dsn(settings.redis_url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinel_hosts(settings.redis_sentinels),
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
    )
    return SentinelConnectionPool(  # type: ignore[no-untyped-call]
        settings.redis_sentinel_master,
        sentinel,
        db=target.database,
        username=target.username,
        password=target.password,
        socket_connect_timeout=CONNECT_TIMEOUT,
    )


def worker_settings(settings: Settings) -> RedisSettings:
    """arq's settings: `REDIS_URL`, or Sentinel mode with the same database and password."""
    target = RedisSettings.from_dsn(settings.redis_url)
    if not settings.redis_sentinels:
        return target
    return RedisSettings(
        host=sentinel_hosts(settings.redis_sentinels),
        sentinel=True,
        sentinel_master=settings.redis_sentinel_master,
        database=target.database,
        username=target.username,
        password=target.password,
        conn_timeout=CONNECT_TIMEOUT,
    )
