"""`make bench-retention`: what retention keeps of a year of petition work (issue 25).

A year of the tables that only grew is written straight into the database, set-based
(`generate_series`), in the shapes the app writes: per case 19 outbox rows (13 of them deferred
a reminder or deadline check up to 22 days ahead), 20 audit entries (reads and changes of the
case) and one Idempotency-Key record (its registration from a phone), spread evenly over the
last 365 days. Cases themselves are not written: nothing here deletes them.

    python -m tests.bench.bench_retention [--cases 10000] [--archive-months 6]

Then the app's own code does what a deployment does: the sweep's outbox purge
(`sweeps.service.purge_outbox`, `OUTBOX_RETENTION_DAYS` 7) called sweep after sweep until the
backlog is gone, the Idempotency-Key purge (7 days), and `make archive-audit` of the months
older than `--archive-months`. Prints, per table, rows and size (with indexes and TOAST) before,
after the purge, after VACUUM and after VACUUM FULL (the space a steady state needs), the sweeps
it took and the time per sweep beside a bare `DELETE` of the same batch size.

10,000 cases is one county's year at the province estimate (1M cases a year, 100 counties).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.audit.archive import archive
from api.idempotency.repository import IdempotencyRepository
from api.kit.db import create_sessionmaker, utcnow
from api.kit.timeutil import local_today
from api.sweeps.service import OUTBOX_PURGE_BATCH, purge_outbox
from shared.embedded import create_fresh_database, drop_database, start_services
from tests.bench.common import pct
from tests.conftest import migrate

ROOT = Path(__file__).resolve().parents[2]
OUTBOX_PER_CASE, DEFERRED_PER_CASE, AUDIT_PER_CASE = 19, 13, 20
RETENTION = timedelta(days=7)  # the default of OUTBOX_RETENTION_DAYS and IDEMPOTENCY_RETENTION_DAYS
JOBS = ["flag_due", "remind", "escalation_start", "escalation_step", "deliver_alert", "summon"]

LOAD = [
    # outbox: rows of a case spread over its day; the deferred ones wait up to 22 days
    """
    INSERT INTO outbox_messages (id, job, job_id, payload, defer_until, created_at, dispatched_at)
    SELECT gen_random_uuid(), (CAST(:jobs AS text[]))[1 + n % 6],
           'flag-due:' || to_char(at + interval '11 days', 'YYYYMMDD"T"HH24MISS'),
           jsonb_build_object('args', jsonb_build_array(gen_random_uuid()::text),
                              'request_id', md5(n::text)),
           CASE WHEN n % :per_case < :deferred
                THEN at + (n % 22) * interval '1 day' + (n % 86400) * interval '1 second' END,
           at, at + interval '50 milliseconds'
    FROM (SELECT n, now() - interval '365 days'
                    + (n::float / CAST(:rows AS integer)) * interval '365 days' AS at
          FROM generate_series(1, :rows) AS n) AS s
    """,
    """
    INSERT INTO audit_entries (id, official_id, action, method, route, path, object_id, status,
                               client, ip, query, created_at, updated_at)
    SELECT gen_random_uuid(), NULL, CASE WHEN n % 4 = 0 THEN 'change' ELSE 'read' END,
           CASE WHEN n % 4 = 0 THEN 'POST' ELSE 'GET' END, '/v1/cases/{case_id}',
           '/v1/cases/' || gen_random_uuid()::text, gen_random_uuid(), 200,
           'petition-desk-app/3.2 (Android 14; grid)', '10.20.' || (n % 250) || '.' || (n % 200),
           '{}'::jsonb, at, at
    FROM (SELECT n, now() - interval '365 days'
                    + (n::float / CAST(:rows AS integer)) * interval '365 days' AS at
          FROM generate_series(1, :rows) AS n) AS s
    """,
    """
    INSERT INTO idempotency_records (caller_id, key, fingerprint, status_code, body, created_at)
    SELECT gen_random_uuid(), 'visit-' || n, md5(n::text), 201,
           jsonb_build_object('id', gen_random_uuid(), 'number', 'X2026-' || n,
                              'status', 'registered', 'title', '征地补偿款未兑现'),
           now() - interval '365 days' + (n::float / CAST(:rows AS integer)) * interval '365 days'
    FROM generate_series(1, :rows) AS n
    """,
]

SIZES = """
SELECT 'outbox_messages' AS name, pg_total_relation_size('outbox_messages') AS bytes,
       (SELECT count(*) FROM outbox_messages) AS rows
UNION ALL
SELECT 'audit_entries', coalesce(sum(pg_total_relation_size(inhrelid)), 0),
       (SELECT count(*) FROM audit_entries)
FROM pg_inherits WHERE inhparent = 'audit_entries'::regclass
UNION ALL
SELECT 'idempotency_records', pg_total_relation_size('idempotency_records'),
       (SELECT count(*) FROM idempotency_records)
"""

Sizes = dict[str, tuple[int, int]]


async def sizes(engine: AsyncEngine) -> Sizes:
    """Rows and bytes (with indexes and TOAST) of the three tables."""
    async with engine.connect() as conn:
        return {r.name: (int(r.rows), int(r.bytes)) for r in await conn.execute(text(SIZES))}


async def load(engine: AsyncEngine, cases: int) -> float:
    """Write the year; the seconds it took."""
    began = time.perf_counter()
    async with engine.begin() as conn:
        today = local_today().replace(day=1)
        for back in range(13):  # the audit trail's months of the year (a live install has them)
            year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
            await conn.execute(
                text("SELECT audit_entries_ensure_partition(:day)"),
                {"day": date(year, month + 1, 1)},
            )
        rows = {
            LOAD[0]: cases * OUTBOX_PER_CASE,
            LOAD[1]: cases * AUDIT_PER_CASE,
            LOAD[2]: cases,
        }
        for statement, count in rows.items():
            params = {"rows": count, "jobs": JOBS, "per_case": OUTBOX_PER_CASE}
            params["deferred"] = DEFERRED_PER_CASE
            await conn.execute(text(statement), params)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - began


async def drain(engine: AsyncEngine) -> tuple[list[tuple[float, int]], int]:
    """The sweep's purge, sweep after sweep, until it finds nothing; the seconds and rows of
    each sweep, and the Idempotency-Key records forgotten."""
    sessionmaker = create_sessionmaker(engine, {})
    took = []
    while True:
        began = time.perf_counter()
        async with sessionmaker() as session:
            purged = await purge_outbox(session, RETENTION)
            await session.commit()
        took.append((time.perf_counter() - began, purged))
        if not purged:
            break
    async with sessionmaker() as session:
        forgotten = await IdempotencyRepository(session).purge_before(utcnow() - RETENTION)
        await session.commit()
    return took, forgotten


async def bare_batches(engine: AsyncEngine, batches: int) -> list[float]:
    """The baseline: a DELETE of `OUTBOX_PURGE_BATCH` rows by primary key, nothing else, on a
    copy of the table as it was before the purge."""
    took = []
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE bare_outbox AS SELECT * FROM outbox_messages_before"))
        await conn.execute(text("ALTER TABLE bare_outbox ADD PRIMARY KEY (id)"))
    for _ in range(batches):
        began = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM bare_outbox WHERE id IN (SELECT id FROM bare_outbox LIMIT :batch)"
                ),
                {"batch": OUTBOX_PURGE_BATCH},
            )
        took.append(time.perf_counter() - began)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE bare_outbox, outbox_messages_before"))
    return took


async def vacuum(engine: AsyncEngine, full: bool) -> None:
    """VACUUM (or VACUUM FULL) the three tables."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        verb = "VACUUM FULL" if full else "VACUUM"
        await conn.execute(text(f"{verb} outbox_messages, idempotency_records"))
        partitions = await conn.execute(
            text(
                "SELECT inhrelid::regclass::text FROM pg_inherits "
                "WHERE inhparent = 'audit_entries'::regclass"
            )
        )
        for (name,) in partitions.all():
            await conn.execute(text(f"{verb} {name}"))


def mb(value: int) -> str:
    """Bytes as MB with one decimal."""
    return f"{value / 1e6:,.1f} MB"


async def measure(database_url: str, cases: int, archive_months: int) -> None:
    """Load, purge, vacuum and archive; print each stage."""
    engine = create_async_engine(database_url, pool_size=2)
    try:
        loaded = await load(engine, cases)
        stages = {"a year loaded": await sizes(engine)}
        async with engine.begin() as conn:  # kept for the baseline's copy
            await conn.execute(
                text("CREATE UNLOGGED TABLE outbox_messages_before AS TABLE outbox_messages")
            )
        sweeps, forgotten = await drain(engine)
        stages["after the purge"] = await sizes(engine)
        await vacuum(engine, full=False)
        stages["after VACUUM"] = await sizes(engine)
        await vacuum(engine, full=True)
        stages["after VACUUM FULL"] = await sizes(engine)
        today = local_today().replace(day=1)
        year, month = divmod(today.year * 12 + today.month - 1 - archive_months, 12)
        out = Path(tempfile.mkdtemp(prefix="pd-bench-archive-"))
        try:
            done = await archive(database_url, date(year, month + 1, 1), out, drop=True)
            files = sum(d.file.stat().st_size for d in done)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        stages[f"months > {archive_months} archived"] = await sizes(engine)
        bare = await bare_batches(engine, max(1, min(8, len(sweeps) * 4 - 4)))
    finally:
        await engine.dispose()

    print(f"\na year of {cases:,} cases written in {loaded:.1f} s\n")
    names = list(stages["a year loaded"])
    print("stage                     | " + " | ".join(f"{n:>28}" for n in names))
    for stage, found in stages.items():
        cells = [f"{found[n][0]:>11,} rows {mb(found[n][1]):>11}" for n in names]
        print(f"{stage:<25} | " + " | ".join(cells))
    before, after = stages["a year loaded"], list(stages.values())[-1]
    for name in names:
        print(f"{name}: {after[name][1] / before[name][1] * 100:.1f} % of the bytes kept")
    working = [(t, n) for t, n in sweeps if n] or sweeps
    purged = sum(n for _, n in working)
    per_row = sum(t for t, _ in working) / max(1, purged)
    bare_per_row = pct(bare, 50) / OUTBOX_PURGE_BATCH
    print(
        f"\noutbox purge: {purged:,} rows in {len(working)} sweeps (at most 4 × "
        f"{OUTBOX_PURGE_BATCH:,} a sweep); a sweep's purge p50 "
        f"{pct([t for t, _ in working], 50) * 1000:.0f} ms, max "
        f"{max(t for t, _ in working) * 1000:.0f} ms; {per_row * 1e6:.1f} µs a row against "
        f"{bare_per_row * 1e6:.1f} µs for a bare DELETE by primary key (ratio "
        f"{per_row / bare_per_row:.2f}); a sweep with nothing to purge "
        f"{sweeps[-1][0] * 1000:.1f} ms"
    )
    print(f"idempotency records forgotten: {forgotten:,}")
    print(f"audit months archived: {len(done)}, files {mb(files)} (pg_dump custom format)")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--archive-months", type=int, default=6)
    args = parser.parse_args()
    services = start_services(ROOT / ".data" / "bench")
    database_url = create_fresh_database(services.database_url, "pd_bench_retention")
    try:
        migrate(database_url)
        asyncio.run(measure(database_url, args.cases, args.archive_months))
    finally:
        drop_database(database_url)
        services.stop()


if __name__ == "__main__":
    main()
