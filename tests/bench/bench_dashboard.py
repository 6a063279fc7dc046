"""`make bench-dashboard`: the county summary and a 304 poll at 10k, 100k and 1M cases.

Cases are generated straight into the database with realistic proportions (channels,
categories, statuses, lodged levels, repeats, collective visits, deadlines met and missed,
received over three years across 20 towns, 40 areas and 200 villages), then counted by the
app's own counting code (`api.stats.counting.count_uncounted`), as an upgrade would count
cases older than the counters. One API process (uvicorn) answers; the load comes from this
process.

    python -m tests.bench.bench_dashboard [--sizes 10000,100000,1000000] [--requests 300]

Prints, at each size, the median and p99 of `GET /v1/stats/summary` (the whole county, this
year and the last three years) and of a 304 poll, and the 304 poll's rate beside the bare
`GET /healthz` of the same app in the same run. Targets (issue 6): summary median ≤ 20 ms at
1M, cost at 1M ≤ 1.3 × cost at 10k, 304 rate ≥ 80 % of the bare endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api.kit.db import create_sessionmaker
from api.kit.uow import PUBLIC_BASE_URL
from api.privacy.crypto import PII_VAULT, Vault
from api.stats.counting import count_uncounted
from shared.embedded import create_fresh_database, drop_database, start_services
from tests.bench.common import pct
from tests.conftest import migrate
from tests.processes import api_command, wait_ready

ROOT = Path(__file__).resolve().parents[2]
TOWNS, AREAS_PER_TOWN, VILLAGES_PER_AREA = 20, 2, 5

# Proportions: a county petition office's year, roughly (seed 002's figures where it has them)
CHANNELS = [("visit", 35), ("letter", 20), ("phone", 15), ("online", 25), ("grid", 5)]
CATEGORIES = [
    ("land.acquisition", 22),
    ("urban.demolition", 10),
    ("labour.wages", 14),
    ("labour.social_security", 10),
    ("environment", 8),
    ("urban.planning", 9),
    ("public_security.law_enforcement", 9),
    ("education_health.education", 6),
    ("education_health.medical", 5),
    ("rural.subsidy", 7),
]
STATUSES = [
    ("registered", 3),
    ("accepted", 4),
    ("assigned", 14),
    ("replied", 8),
    ("closed", 60),
    ("review", 1),
    ("terminated", 2),
    ("archived", 8),
]
LEVELS = [
    ("village", 10),
    ("area", 8),
    ("town", 45),
    ("county", 30),
    ("city", 5),
    ("province", 1.5),
    ("national", 0.5),
]


def _pick(column: str, choices: Sequence[tuple[str, float]]) -> str:
    """A SQL CASE choosing one of `choices` by weight from `column` (uniform in [0, 1))."""
    total = sum(w for _, w in choices)
    parts, edge = [], 0.0
    for value, weight in choices[:-1]:
        edge += weight / total
        parts.append(f"WHEN {column} < {edge:.6f} THEN '{value}'")
    return f"(CASE {' '.join(parts)} ELSE '{choices[-1][0]}' END)"


@dataclass
class Territory:
    """The generated county."""

    county: uuid.UUID
    villages: list[uuid.UUID]


async def build_territory(database_url: str) -> Territory:
    """County > 20 towns > 2 areas each > 5 villages each, and 10 departments."""
    engine = create_async_engine(database_url)
    county = uuid.uuid4()
    units: list[tuple[uuid.UUID, str, str, uuid.UUID | None]] = [(county, "城关县", "county", None)]
    villages = []
    for t in range(TOWNS):
        town = uuid.uuid4()
        units.append((town, f"第{t + 1}镇", "town", county))
        for a in range(AREAS_PER_TOWN):
            area = uuid.uuid4()
            units.append((area, f"第{t + 1}镇{a + 1}区", "area", town))
            for v in range(VILLAGES_PER_AREA):
                village = uuid.uuid4()
                villages.append(village)
                units.append((village, f"第{t + 1}镇{a + 1}区{v + 1}村", "village", area))
    for d in range(10):
        units.append((uuid.uuid4(), f"部门{d + 1}", "department", county))
    async with engine.begin() as conn:
        for unit_id, name, level, parent in units:
            await conn.execute(
                text(
                    "INSERT INTO units (id, name, level, parent_id, created_at, updated_at) "
                    "VALUES (:id, :name, CAST(:level AS unit_level), :parent, now(), now())"
                ),
                {"id": unit_id, "name": name, "level": level, "parent": parent},
            )
    await engine.dispose()
    return Territory(county, villages)


async def generate(database_url: str, territory: Territory, first: int, count: int) -> None:
    """Cases `first` … `first + count - 1` with their disposition, handling and arrival
    deadlines, in chunks of 50,000."""
    engine = create_async_engine(database_url)
    chunk = 50_000
    for start in range(first, first + count, chunk):
        stop = min(first + count, start + chunk)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    CREATE TEMP TABLE gen ON COMMIT DROP AS
                    SELECT n, gen_random_uuid() AS id, random() AS r1, random() AS r2,
                           random() AS r3, random() AS r4, random() AS r5, random() AS r6,
                           now() - (random() * interval '1095 days') AS received_at
                    FROM generate_series(:start, :stop - 1) AS n
                    """
                ),
                {"start": start, "stop": stop},
            )
            await conn.execute(
                text(
                    f"""
                    INSERT INTO cases (id, number, county_id, channel, status, origin_unit_id,
                        lodged_level, petitioners, headcount, is_collective, category, title,
                        content, received_at, intake_unit_id, repeat_of_id, outcome, satisfied,
                        reviewed_at, closed_at, created_at, updated_at)
                    SELECT g.id, 'B-' || g.n, :county,
                        CAST({_pick("g.r1", CHANNELS)} AS case_channel),
                        CAST({_pick("g.r2", STATUSES)} AS case_status),
                        (CAST(:villages AS uuid[]))[1 + floor(g.r3 * :village_count)::int],
                        CAST({_pick("g.r4", LEVELS)} AS lodged_level),
                        '[{{"name": "某", "is_representative": true}}]'::jsonb,
                        CASE WHEN g.r5 < 0.03 THEN 5 + floor(g.r6 * 40)::int ELSE 1 END,
                        g.r5 < 0.03,
                        {_pick("g.r6", CATEGORIES)},
                        '生成', '生成的案件', g.received_at, :county,
                        NULL,
                        CASE WHEN {_pick("g.r2", STATUSES)} IN ('closed', 'archived')
                             THEN CAST(CASE WHEN g.r6 < 0.7 THEN 'resolved'
                                            WHEN g.r6 < 0.9 THEN 'stabilized'
                                            WHEN g.r6 < 0.95 THEN 'rejected'
                                            ELSE 'redirected' END AS case_outcome)
                             WHEN {_pick("g.r2", STATUSES)} = 'terminated'
                             THEN CAST('terminated' AS case_outcome) END,
                        CASE WHEN {_pick("g.r2", STATUSES)} IN ('closed', 'archived')
                             THEN g.r5 < 0.87 END,
                        CASE WHEN g.r4 < 0.05 THEN g.received_at + interval '40 days' END,
                        NULL, g.received_at, g.received_at
                    FROM gen g
                    """
                ),
                {
                    "county": territory.county,
                    "villages": territory.villages,
                    "village_count": len(territory.villages),
                },
            )
            # about one in ten is a repeat of an earlier case of the same run
            await conn.execute(
                text(
                    "UPDATE cases SET repeat_of_id = (SELECT id FROM gen WHERE n = :start) "
                    "WHERE id IN (SELECT id FROM gen WHERE r5 BETWEEN 0.5 AND 0.6 AND n > :start)"
                ),
                {"start": start},
            )
            for kind, met, missed in (
                ("disposition", 0.88, 0.08),
                ("handling", 0.80, 0.12),
                ("arrival", 0.30, 0.04),
            ):
                await conn.execute(
                    text(
                        """
                        INSERT INTO deadlines (id, case_id, kind, role, unit_id, starts_at,
                            due_at, status, flags, created_at, updated_at)
                        SELECT gen_random_uuid(), g.id, CAST(:kind AS deadline_kind), 'chief',
                            :county, g.received_at, g.received_at + interval '15 days',
                            CAST(CASE WHEN g.r1 < :met THEN 'met'
                                      WHEN g.r1 < :met + :missed THEN 'missed'
                                      ELSE 'open' END AS deadline_status),
                            '[]'::jsonb, g.received_at, g.received_at
                        FROM gen g
                        WHERE :kind <> 'arrival' OR g.r1 < :met + :missed
                        """
                    ),
                    {"kind": kind, "met": met, "missed": missed, "county": territory.county},
                )
    await engine.dispose()


async def count_all(database_url: str) -> float:
    """Count every case through the app's counting code; returns the seconds it took."""
    engine = create_async_engine(database_url, pool_size=2)
    vault = Vault([Fernet.generate_key().decode()], "bench-pii-hash-key-0123456789abcdef0123")
    sessions = create_sessionmaker(engine, {PUBLIC_BASE_URL: "http://bench", PII_VAULT: vault})
    started = time.monotonic()
    after = None
    while True:
        async with sessions() as session:
            after = await count_uncounted(session, after, batch=5000)
            await session.commit()
        if after is None:
            break
    await engine.dispose()
    # what autovacuum would do by itself after a bulk load, before the first reads
    vacuum = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with vacuum.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE stat_counters, case_stat_facts, cases"))
    await vacuum.dispose()
    return time.monotonic() - started


def latencies(client: httpx.Client, url: str, headers: dict[str, str], n: int) -> list[float]:
    """Seconds of `n` sequential GETs (the first few warm up and are dropped)."""
    for _ in range(5):
        client.get(url, headers=headers)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        resp = client.get(url, headers=headers)
        out.append(time.perf_counter() - started)
        assert resp.status_code in (200, 304), resp.text
    return out


async def rate(base: str, path: str, headers: dict[str, str], n: int, concurrency: int) -> float:
    """Requests per second of `n` GETs, `concurrency` at a time, keep-alive. Like a dashboard,
    each poller sends the ETag of the last full answer it got (a new time bucket or a change
    costs it one full answer)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        left = n

        async def poller() -> None:
            nonlocal left
            mine = dict(headers)
            while left > 0:
                left -= 1
                resp = await client.get(path, headers=mine)
                assert resp.status_code in (200, 304)
                if resp.status_code == 200 and "etag" in resp.headers and "If-None-Match" in mine:
                    mine["If-None-Match"] = resp.headers["etag"]

        warm = n
        left = concurrency * 2
        await asyncio.gather(*(poller() for _ in range(concurrency)))
        left = warm
        started = time.perf_counter()
        await asyncio.gather(*(poller() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


def ms(values: list[float], q: float) -> str:
    """A percentile in milliseconds."""
    return f"{pct(values, q) * 1000:.1f}"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    services = start_services(ROOT / ".data" / "bench")
    database_url = create_fresh_database(services.database_url, "pd_bench_dashboard")
    migrate(database_url)
    port = 18000 + random.randint(0, 999)
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "PUBLIC_BASE_URL": base,
        "JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123",
        "WORKER_TOKEN": "bench-worker-token",
        "PII_KEYS": Fernet.generate_key().decode(),
        "PII_HASH_KEY": "bench-pii-hash-key-0123456789abcdef0123",
        "ADMIN_PASSWORD": "bench-admin-password",
        "ARQ_QUEUE": f"pd-bench:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
        "REQUESTS_PER_MINUTE": "100000000",
    }
    logs = ROOT / ".data" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    territory = asyncio.run(build_territory(database_url))
    rows = []
    api: subprocess.Popen[bytes] | None = None
    try:
        api = subprocess.Popen(
            api_command(port, "--log-level", "warning", "--no-access-log"),
            cwd=ROOT,
            env=env,
            stdout=(logs / "api-dashboard.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_ready(base, api)
        token = httpx.post(
            base + "/v1/auth/token",
            data={"username": "admin", "password": "bench-admin-password"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        loaded = 0
        this_year = datetime.now(UTC).date().replace(month=1, day=1)
        three_years = (datetime.now(UTC) - timedelta(days=1096)).date()
        for size in sizes:
            started = time.monotonic()
            asyncio.run(generate(database_url, territory, loaded + 1, size - loaded))
            generated = time.monotonic() - started
            counted = asyncio.run(count_all(database_url))
            loaded = size
            year_url = f"/v1/stats/summary?unit_id={territory.county}&from={this_year}"
            span_url = f"/v1/stats/summary?unit_id={territory.county}&from={three_years}"
            with httpx.Client(base_url=base, timeout=30) as client:
                year = latencies(client, year_url, auth, args.requests)
                span = latencies(client, span_url, auth, args.requests)
                etag = client.get(year_url, headers=auth).headers["etag"]
                polled = auth | {"If-None-Match": etag}
                poll = latencies(client, year_url, polled, args.requests)
                bare = latencies(client, "/healthz", {}, args.requests)
            poll_rate = asyncio.run(rate(base, year_url, polled, 3000, args.concurrency))
            bare_rate = asyncio.run(rate(base, "/healthz", {}, 3000, args.concurrency))
            rows.append((size, generated, counted, year, span, poll, bare, poll_rate, bare_rate))
            print(
                f"{size:>9,} cases loaded ({generated:.0f} s generated, {counted:.0f} s counted)",
                flush=True,
            )
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=15)
        drop_database(database_url)
        services.stop()

    print()
    print(
        "cases      | summary this year p50/p99 ms | summary 3 years p50/p99 ms | "
        "304 poll p50/p99 ms | /healthz p50 ms | 304 rate | bare rate | ratio"
    )
    for size, _, _, year, span, poll, bare, poll_rate, bare_rate in rows:
        print(
            f"{size:>10,} | {ms(year, 50):>12} / {ms(year, 99):<13} | {ms(span, 50):>11} / "
            f"{ms(span, 99):<13} | {ms(poll, 50):>7} / {ms(poll, 99):<9} | {ms(bare, 50):>15} | "
            f"{poll_rate:>6.0f}/s | {bare_rate:>7.0f}/s | {poll_rate / bare_rate * 100:.0f} %"
        )
    first, last = rows[0], rows[-1]
    growth = pct(last[3], 50) / pct(first[3], 50)
    targets = [
        (f"summary median at {last[0]:,} <= 20 ms", pct(last[3], 50) <= 0.020),
        (f"summary cost at {last[0]:,} <= 1.3 x at {first[0]:,} ({growth:.2f} x)", growth <= 1.3),
        (
            "304 rate >= 80 % of bare at every size",
            all(r[7] >= 0.8 * r[8] for r in rows),
        ),
    ]
    for name, ok in targets:
        print(f"{'met' if ok else 'NOT met'}: {name}")


if __name__ == "__main__":
    main()
