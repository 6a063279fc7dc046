"""`make bench-province`: one deployment for a province (issue 24), measured at 100k and at 2M
cases in the same run.

A fresh database of its own with a province > 10 cities > 100 counties > about 1,500 towns >
3,000 management areas > about 30,000 villages, officials in every unit (a chief everywhere, a
deputy and petition staff in each town, petition staff in each county, city and the province),
all inserted set-based. Cases come in stages (INSERT … SELECT over generate_series): received
over five years with seasonal months and a yearly growth, from villages whose weights are
skewed twice (counties by rank, villages within a county at random over a factor of 20),
channels, lodged levels and categories from the vocabulary by weight, statuses by age (most
cases older than a year closed or archived), outcomes, feedback, repeats and collective visits.
Each case gets the rows a live deployment keeps: its disposition, handling and (visits) arrival
deadlines, met, missed or open as its status and age say (an open one is never past due, as
the sweep would have flagged it), its timeline events, its stat facts, and the dashboard
counters of its village and every unit above it by day and month, summed from those facts as
`api.stats.counting` keeps them. No outbox rows: a live deployment purges delivered ones. The
secondary indexes are built after each stage's load, as after a restore, then VACUUM ANALYZE.
A sample is checked against the app's own counting (`api.stats.facts.facts_of` over the
busiest county's cases and deadlines as stored: the facts of every case and the county's
monthly counters).

    python -m tests.bench.bench_province [--cases 2000000] [--quick] [--requests 300]

At each stage: the median and p99 of `GET /v1/stats/summary` through the API (one uvicorn
process, as every benchmark runs it) for the busiest county and for the province, each for the
year to date and for the last 12 months, beside the bare SQL of the same counter reads
(`api.stats.repository.sums_statement` and `per_day_statement`, run by asyncpg); the cost at
the last stage over the first. Then registration (`POST /v1/cases` under wrk, as
`bench_intake` drives it) in a single county deployment and in a new town of the busiest
county of the province database, alternating, same run: rate, API CPU and PostgreSQL CPU per
registration. Then the storage per million cases. Targets (issue 24): every summary p50 ≤ 20
ms and p99 ≤ 100 ms, the cost at the last stage ≤ 1.3 × at the first, registration rate and
CPU per registration unchanged from a single county.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from api.kit.timeutil import CHINA, local_today
from api.models.case import CaseStatus, Channel, LodgedLevel, Outcome
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.stats.counting import split_period, state_of
from api.stats.facts import facts_of
from api.stats.repository import CaseRow, per_day_statement, sums_statement
from api.stats.service import CHANNEL_KEYS
from tests.bench.bench_dashboard import CATEGORIES, CHANNELS, LEVELS, _pick, latencies
from tests.bench.bench_intake import Step, settle, write_script, wrk
from tests.bench.common import (
    ADMIN_PASSWORD,
    STAFF_PASSWORD,
    TOPICS,
    Stack,
    Territory,
    asyncpg_url,
    bare_sql,
    cpu_plan,
    lift_alert_limits,
    make_territory,
    ms,
    pct,
    running_stack,
    set_policy,
    token,
)

SLOTS = 1 << 18  # village slots: a case's village is a uniform pick among them
MONTH_SLOTS = 1 << 14
CITIES, COUNTIES_PER_CITY, AREAS_PER_TOWN = 10, 10, 2
YEARS = 5
# Letters and visits by calendar month (春节 in February, 国庆 in October; wage arrears before
# the new year), and the yearly growth of the caseload.
SEASON = [1.15, 0.70, 1.10, 1.05, 1.00, 1.00, 0.95, 0.95, 1.00, 0.80, 1.05, 1.25]
GROWTH = 1.06
# Statuses by age in days (upper bound of the band, weights): most old cases are over.
AGE_STATUSES: list[tuple[int, list[tuple[str, float]]]] = [
    (15, [("registered", 25), ("accepted", 25), ("assigned", 45), ("replied", 5)]),
    (60, [("registered", 1), ("accepted", 4), ("assigned", 45), ("replied", 25), ("closed", 25)]),
    (
        365,
        [
            ("assigned", 4),
            ("replied", 5),
            ("review", 2),
            ("closed", 68),
            ("terminated", 3),
            ("archived", 18),
        ],
    ),
    (
        1_000_000,
        [("assigned", 1), ("review", 1), ("closed", 42), ("terminated", 3), ("archived", 53)],
    ),
]
OUTCOMES = [("resolved", 70), ("stabilized", 18), ("rejected", 6), ("redirected", 6)]
# Each case's timeline: (rank reached, action, days after receipt); rank 5 is how it ended.
STEPS = [
    (1, "registered", 0),
    (2, "accept", 2),
    (3, "assign", 4),
    (4, "reply", 30),
    (5, "close", 45),
    (6, "sign_off", 60),
]
RANKS = {
    "registered": 1,
    "accepted": 2,
    "assigned": 3,
    "replied": 4,
    "closed": 5,
    "review": 5,
    "terminated": 5,
    "archived": 6,
}
TRACE = bool(os.environ.get("BENCH_TRACE"))  # print each load statement over a second
TABLES = ["cases", "deadlines", "case_events", "case_stat_facts", "stat_counters"]


@dataclass
class Province:
    """The generated tree: the province, the busiest county, and how many units of each level."""

    province: uuid.UUID
    county: uuid.UUID
    levels: dict[str, int]
    officials: int
    village_slots: int
    month_slots: int


@dataclass
class Stage:
    """What one stage loaded and measured."""

    cases: int
    load: dict[str, float]
    county_cases: int = 0
    counters: int = 0
    reads: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    storage: dict[str, tuple[int, int]] = field(default_factory=dict)


async def connect(database_url: str) -> asyncpg.Connection:
    """A loader connection: foreign keys unchecked (the rows are made consistent), and room to
    sort and hash."""
    conn = await asyncpg.connect(asyncpg_url(database_url), command_timeout=None)
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("SET work_mem = '256MB'")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    return conn


def months_of(now: datetime) -> list[tuple[datetime, datetime, float]]:
    """The months of the last YEARS years up to `now` (local time, the first and the current
    clipped), each with its weight: season × growth × the part of it inside the window."""
    start = now.replace(year=now.year - YEARS)
    out = []
    first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while first < now:
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        a, b = max(first, start), min(following, now)
        share = (b - a) / (following - first)
        years_in = (a - start).days / 365.25
        out.append((a, b, SEASON[first.month - 1] * GROWTH**years_in * share))
        first = following
    return out


async def slots(conn: asyncpg.Connection, table: str, source: str, total: int) -> int:
    """Fill `table` (slot, …) from `source` (a query with a `share` column and the columns to
    keep): each row gets a run of slots as long as its share; returns how many slots."""
    await conn.execute(
        f"""
        CREATE TABLE {table} AS
        WITH s AS (SELECT *, sum(share) OVER (ORDER BY ord) / sum(share) OVER () AS cum,
                          share / sum(share) OVER () AS part FROM ({source}) q)
        SELECT gs AS slot, s.* FROM s,
            generate_series(floor((s.cum - s.part) * {total})::int,
                            floor(s.cum * {total})::int - 1) AS gs
        """
    )
    await conn.execute(f"CREATE UNIQUE INDEX ON {table} (slot)")
    count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    assert count == await conn.fetchval(f"SELECT max(slot) + 1 FROM {table}")
    return count


async def build_province(database_url: str) -> Province:
    """The territory, its officials, and the tables the cases draw their village and month
    from."""
    conn = await connect(database_url)
    try:
        province = uuid.uuid4()
        await conn.execute(
            "CREATE TABLE bench_unit (id uuid PRIMARY KEY, level text, parent uuid, name text, "
            "k int, county uuid, town uuid)"
        )
        await conn.execute(
            "INSERT INTO bench_unit VALUES ($1, 'province', NULL, '基准省', 1, NULL, NULL)",
            province,
        )
        steps = [
            # cities
            f"SELECT gen_random_uuid(), 'city', p.id, '第' || c || '市', c, NULL::uuid, NULL::uuid "
            f"FROM bench_unit p, generate_series(1, {CITIES}) c WHERE p.level = 'province'",
            # counties: county k under city 1 + (k - 1) % CITIES; k = 1 is the busiest
            f"SELECT gen_random_uuid(), 'county', c.id, '第' || n || '县', n, NULL, NULL "
            f"FROM generate_series(1, {CITIES * COUNTIES_PER_CITY}) n "
            f"JOIN bench_unit c ON c.level = 'city' AND c.k = 1 + (n - 1) % {CITIES}",
            # 8 to 22 towns a county, 15 on average
            "SELECT gen_random_uuid(), 'town', c.id, c.name || '第' || t || '镇', t, c.id, NULL "
            "FROM bench_unit c, generate_series(1, 8 + (c.k * 7) % 15) t "
            "WHERE c.level = 'county'",
            f"SELECT gen_random_uuid(), 'area', t.id, t.name || a || '区', a, t.county, t.id "
            f"FROM bench_unit t, generate_series(1, {AREAS_PER_TOWN}) a WHERE t.level = 'town'",
            # 5 to 15 villages an area, 10 on average
            "SELECT gen_random_uuid(), 'village', a.id, a.name || v || '村', v, a.county, a.town "
            "FROM bench_unit a, generate_series(1, 5 + abs(hashtext(a.id::text)) % 11) v "
            "WHERE a.level = 'area'",
        ]
        for step in steps:
            await conn.execute(f"INSERT INTO bench_unit {step}")
        await conn.execute("UPDATE bench_unit SET county = id WHERE level = 'county'")
        await conn.execute("UPDATE bench_unit SET town = id WHERE level = 'town'")
        await conn.execute(
            "INSERT INTO units (id, name, level, parent_id, created_at, updated_at) "
            "SELECT id, name, CAST(level AS unit_level), parent, now(), now() FROM bench_unit"
        )
        officials = await conn.execute(
            """
            INSERT INTO officials (id, name, role, unit_id, contacts, active, created_at,
                                   updated_at)
            SELECT gen_random_uuid(), '干部' || row_number() OVER (), CAST(r AS official_role),
                   u.id, '[]'::jsonb, true, now(), now()
            FROM bench_unit u, unnest(CASE u.level
                WHEN 'village' THEN ARRAY['chief'] WHEN 'area' THEN ARRAY['chief']
                WHEN 'town' THEN ARRAY['chief', 'deputy', 'petition_staff']
                ELSE ARRAY['chief', 'petition_staff'] END) AS r
            """
        )
        levels = {
            r["level"]: r["n"]
            for r in await conn.fetch("SELECT level, count(*) AS n FROM bench_unit GROUP BY 1")
        }
        # counties weighted 1 / rank^0.8, villages within a county by exp(U(0, 3))
        village_slots = await slots(
            conn,
            "bench_village_slot",
            """
            SELECT v.id AS village, v.town, v.county, row_number() OVER () AS ord,
                   power(c.k, -0.8) * v.w / sum(v.w) OVER (PARTITION BY v.county) AS share
            FROM (SELECT *, exp(random() * 3) AS w FROM bench_unit WHERE level = 'village') v
            JOIN bench_unit c ON c.id = v.county
            """,
            SLOTS,
        )
        await conn.execute(
            "CREATE TABLE bench_month (ord int, start timestamptz, stop timestamptz, share float8)"
        )
        await conn.executemany(
            "INSERT INTO bench_month VALUES ($1, $2, $3, $4)",
            [(i, a, b, w) for i, (a, b, w) in enumerate(months_of(datetime.now(CHINA)))],
        )
        month_slots = await slots(
            conn, "bench_month_slot", "SELECT * FROM bench_month", MONTH_SLOTS
        )
        await conn.execute("CREATE TABLE bench_ids (n int PRIMARY KEY, id uuid)")
        county = await conn.fetchval("SELECT id FROM bench_unit WHERE level = 'county' AND k = 1")
        await conn.execute("VACUUM ANALYZE units")
        await conn.execute("VACUUM ANALYZE officials")
    finally:
        await conn.close()
    return Province(
        province, county, levels, int(officials.split()[-1]), village_slots, month_slots
    )


def _by_age(age: str, uniform: str) -> str:
    """The SQL of a case's status from its age in days (column `age`) and a uniform column."""
    parts = [
        f"WHEN {age} < {bound} THEN {_pick(uniform, weights)}" for bound, weights in AGE_STATUSES
    ]
    return f"(CASE {' '.join(parts)} END)"


async def _categories(conn: asyncpg.Connection) -> list[tuple[str, float]]:
    """The vocabulary's categories with weights: bench_dashboard's ten, the other leaves less."""
    named = dict(CATEGORIES)
    codes = await conn.fetch("SELECT code FROM categories WHERE parent IS NOT NULL ORDER BY 1")
    return [(r["code"], named.get(r["code"], 1.5)) for r in codes]


async def secondary_indexes(conn: asyncpg.Connection, tables: Sequence[str]) -> list[str]:
    """The definitions of the plain indexes of `tables` (not behind a constraint, not partial:
    the sweep's partial ones stay), to drop before a load and build after it."""
    rows = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY($1::text[]) AND i.indpred IS NULL
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        list(tables),
    )
    for r in rows:
        await conn.execute(f"DROP INDEX {r['name']}")
    return [r["def"] for r in rows]


async def load_stage(database_url: str, first: int, last: int) -> dict[str, float]:
    """Cases `first` … `last` with their deadlines, events and facts, indexes rebuilt, the
    counters recomputed from every case's facts; seconds of each step."""
    took: dict[str, float] = {}
    conn = await connect(database_url)

    async def step(name: str, *sql: str) -> None:
        started = time.monotonic()
        for statement in sql:
            began = time.monotonic()
            await conn.execute(statement)
            if TRACE and time.monotonic() - began > 1:
                print(f"    {time.monotonic() - began:6.1f} s  {' '.join(statement.split())[:90]}")
        took[name] = took.get(name, 0.0) + time.monotonic() - started

    try:
        categories = await _categories(conn)
        village_slots = await conn.fetchval("SELECT count(*) FROM bench_village_slot")
        month_slots = await conn.fetchval("SELECT count(*) FROM bench_month_slot")
        started = time.monotonic()
        dropped = await secondary_indexes(conn, ["cases", "deadlines", "case_events"])
        took["drop indexes"] = time.monotonic() - started
        uniforms = [f"r{i}" for i in range(1, 15)]
        randoms = ", ".join(f"random() AS {r}" for r in uniforms)
        await step(
            "generate",
            "DROP TABLE IF EXISTS bench_gen, bench_case",
            f"""
            CREATE UNLOGGED TABLE bench_gen AS
            SELECT g.n, gen_random_uuid() AS id, s.village, s.town, s.county,
                   m.start + g.rt * (m.stop - m.start) AS received_at,
                   {", ".join(f"g.{r}" for r in uniforms)}
            FROM (SELECT n, floor(random() * {village_slots})::int AS vs,
                         floor(random() * {month_slots})::int AS ms, random() AS rt, {randoms}
                  FROM generate_series({first}, {last}) AS n) g
            JOIN bench_village_slot s ON s.slot = g.vs
            JOIN bench_month_slot m ON m.slot = g.ms
            """,
            "INSERT INTO bench_ids SELECT n, id FROM bench_gen",
            f"""
            CREATE UNLOGGED TABLE bench_case AS
            SELECT x.*,
                CASE WHEN x.status = 'registered' AND x.age < 15 THEN 'open'
                     WHEN x.status = 'registered' OR x.r11 >= 0.9 THEN 'missed'
                     ELSE 'met' END AS disposition,
                CASE WHEN x.status = 'registered' OR x.outcome IN ('rejected', 'redirected')
                     THEN NULL
                     WHEN x.status IN ('accepted', 'assigned') AND x.age < 60 THEN 'open'
                     WHEN x.status IN ('accepted', 'assigned') OR x.r12 >= 0.85 THEN 'missed'
                     ELSE 'met' END AS handling,
                CASE WHEN x.channel <> 'visit' THEN NULL WHEN x.age < 1 THEN 'open'
                     WHEN x.r13 < 0.85 THEN 'met' ELSE 'missed' END AS arrival,
                CASE WHEN x.outcome IN ('resolved', 'stabilized') AND x.r9 < 0.6
                     THEN x.r10 < 0.87 END AS satisfied,
                CASE WHEN x.status IN ('closed', 'archived', 'terminated') AND x.r14 < 0.03
                     AND x.age > 120 THEN x.received_at + interval '90 days' END AS reviewed_at,
                CASE WHEN x.status IN ('closed', 'archived', 'terminated')
                     THEN least(now(), x.received_at + (20 + x.r12 * 50) * interval '1 day')
                     END AS closed_at
            FROM (
                SELECT y.*,
                    CASE WHEN y.status IN ('closed', 'archived') THEN {_pick("y.r8", OUTCOMES)}
                         WHEN y.status = 'terminated' THEN 'terminated' END AS outcome
                FROM (
                    SELECT g.*, p.id AS repeat_of, {_pick("g.r1", CHANNELS)} AS channel,
                        {_by_age("g.age", "g.r2")} AS status,
                        {_pick("g.r3", LEVELS)} AS lodged_level,
                        {_pick("g.r4", categories)} AS category,
                        {_pick("g.r6", [(t, 1) for t in TOPICS])} AS title
                    FROM (SELECT *, extract(epoch FROM now() - received_at) / 86400 AS age
                          FROM bench_gen) g
                    LEFT JOIN bench_ids p ON g.r7 < 0.1 AND p.n = g.n - 1000
                ) y
            ) x
            """,
            "ALTER TABLE bench_case ADD COLUMN collective boolean",
            "UPDATE bench_case SET collective = channel = 'visit' AND r5 < 0.08",
            "ANALYZE bench_case",
        )
        # One transaction from the cases to their facts: the sweep flags and reminds on the
        # new deadlines as soon as it sees them, and its counting gives a case without facts
        # a facts row of its own.
        async with conn.transaction():
            await step(
                "cases",
                """
                INSERT INTO cases (id, number, county_id, channel, status, origin_unit_id,
                    lodged_level, petitioners, headcount, is_collective, category, title, content,
                    demands, received_at, intake_unit_id, repeat_of_id, outcome, satisfied,
                    reviewed_at, closed_at, skip_level, created_at, updated_at)
                SELECT id, 'G-' || n, county, CAST(channel AS case_channel),
                    CAST(status AS case_status), village, CAST(lodged_level AS lodged_level),
                    '[{"name": "某某", "address": "本村", "is_representative": true}]'::jsonb,
                    CASE WHEN collective THEN 5 + floor(r6 * 40)::int ELSE 1 END, collective,
                    category, title,
                    repeat('群众反映的问题至今未解决，多次找村里和镇里，请求尽快处理。', 6),
                    '尽快解决', received_at, town, repeat_of, CAST(outcome AS case_outcome),
                    satisfied, reviewed_at, closed_at,
                    lodged_level IN ('city', 'province', 'national'), received_at,
                    coalesce(closed_at, received_at)
                FROM bench_case
                """,
            )
            deadlines = [
                ("disposition", "petition_staff", 15),
                ("handling", "chief", 60),
                ("arrival", "chief", 1),
            ]
            await step(
                "deadlines",
                *(
                    f"""
                    INSERT INTO deadlines (id, case_id, kind, role, unit_id, starts_at, due_at,
                        status, closed_at, flags, created_at, updated_at)
                    SELECT gen_random_uuid(), id, '{kind}', '{role}', town, received_at,
                        received_at + interval '{days} days', CAST({kind} AS deadline_status),
                        CASE {kind} WHEN 'met' THEN received_at + r11 * interval '{days} days'
                                    WHEN 'missed' THEN received_at + interval '{days} days' END,
                        '[]'::jsonb, received_at,
                        CASE WHEN {kind} = 'open' THEN received_at
                             ELSE received_at + interval '{days} days' END
                    FROM bench_case WHERE {kind} IS NOT NULL
                    """
                    for kind, role, days in deadlines
                ),
            )
            steps = ", ".join(f"({rank}, '{action}', {days})" for rank, action, days in STEPS)
            ranks = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in RANKS.items())
            await step(
                "events",
                f"""
                INSERT INTO case_events (id, case_id, at, action, data)
                SELECT gen_random_uuid(), c.id,
                    least(now(), c.received_at + s.days * (0.5 + c.r14) * interval '1 day'),
                    CASE WHEN s.rank < 5 THEN s.action
                         WHEN c.outcome = 'rejected' THEN 'reject'
                         WHEN c.outcome = 'redirected' THEN 'redirect'
                         WHEN c.status = 'review' THEN 'request_review'
                         WHEN c.status = 'terminated' THEN 'terminate'
                         ELSE s.action END,
                    CASE WHEN s.rank = 1
                         THEN jsonb_build_object('number', 'G-' || c.n, 'channel', c.channel,
                                                 'headcount', 1)
                         ELSE jsonb_build_object('step', s.rank) END
                FROM bench_case c
                JOIN (VALUES {steps}) AS s(rank, action, days)
                  ON s.rank <= (CASE c.status {ranks} END)
                 AND (s.rank IN (1, 5) OR c.outcome IS NULL
                      OR c.outcome NOT IN ('rejected', 'redirected'))
                """,
            )
            await step(
                "facts",
                """
                INSERT INTO case_stat_facts (case_id, facts)
                SELECT id, jsonb_strip_nulls(jsonb_build_object(
                    'cases', 1, 'status:' || status, 1, 'channel:' || channel, 1,
                    'category:' || category, 1, 'level:' || lodged_level, 1,
                    'repeat', CASE WHEN repeat_of IS NOT NULL THEN 1 END,
                    'collective', CASE WHEN collective THEN 1 END,
                    'skip_level', CASE WHEN lodged_level IN ('city', 'province', 'national')
                                       THEN 1 END,
                    'feedback', CASE WHEN satisfied IS NOT NULL THEN 1 END,
                    'satisfied', CASE WHEN satisfied THEN 1 END,
                    'first_done', CASE WHEN done THEN 1 END,
                    'first_resolved', CASE WHEN done AND reviewed_at IS NULL
                                           AND status <> 'terminated' THEN 1 END,
                    'disposition_on_time', CASE WHEN disposition = 'met' THEN 1 END,
                    'disposition_settled', CASE WHEN disposition <> 'open' THEN 1 END,
                    'completion_on_time', CASE WHEN handling = 'met' THEN 1 END,
                    'completion_settled', CASE WHEN handling <> 'open' THEN 1 END,
                    'arrival_on_time', CASE WHEN arrival = 'met' THEN 1 END,
                    'arrival_missed', CASE WHEN arrival = 'missed' THEN 1 END,
                    'open_overdue', CASE WHEN handling = 'missed'
                        AND status NOT IN ('closed', 'terminated', 'archived') THEN 1 END))
                FROM (SELECT *, repeat_of IS NULL
                                AND status IN ('closed', 'terminated', 'archived')
                                AND outcome IN ('resolved', 'stabilized', 'terminated') AS done
                      FROM bench_case) c
                """,
            )
        await step("indexes", *dropped)
        key = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_stat_counters'"
        )
        series = await conn.fetchval("SELECT pg_get_indexdef('ix_stat_counters_series'::regclass)")
        depth = await levels_below_root(conn)
        async with conn.transaction():  # the app's counting waits for the counters' keys
            await step("counters", *counter_statements(depth, key, series))
        await step(
            "vacuum analyze",
            *(f"VACUUM ANALYZE {t}" for t in TABLES),
            "DROP TABLE bench_gen, bench_case",
        )
    finally:
        await conn.close()
    return took


async def levels_below_root(conn: asyncpg.Connection) -> int:
    """How many levels stand above the villages the cases come from (village → province)."""
    depth: int = await conn.fetchval(
        """
        WITH RECURSIVE up AS (
            SELECT id, parent_id, 0 AS depth FROM units
            WHERE id = (SELECT village FROM bench_village_slot LIMIT 1)
            UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM units u
            JOIN up ON u.id = up.parent_id)
        SELECT max(depth) FROM up
        """
    )
    return depth


def counter_statements(depth: int, key: str, series: str) -> list[str]:
    """The counters from scratch, from every case's stored facts: summed by origin village and
    local day and month, then rolled up one level at a time (each case's village stands
    `depth` levels below the root, so no unit appears at two levels), days and months; the
    primary key (`key`, its definition) and the series index (`series`) dropped during the
    load and built after it, as they were."""
    out = [
        "TRUNCATE stat_counters",
        "ALTER TABLE stat_counters DROP CONSTRAINT pk_stat_counters",
        "DROP INDEX ix_stat_counters_series",
        "DROP TABLE IF EXISTS "
        + ", ".join(f"bench_{p}{i}" for i in range(depth + 1) for p in "dm"),
        """
        CREATE UNLOGGED TABLE bench_d0 AS
        SELECT c.origin_unit_id AS unit_id, (c.received_at AT TIME ZONE 'Asia/Shanghai')::date
               AS day, f.key, sum(f.value::bigint) AS value
        FROM cases c JOIN case_stat_facts s ON s.case_id = c.id,
             jsonb_each_text(s.facts) AS f(key, value)
        GROUP BY 1, 2, 3
        """,
        "CREATE UNLOGGED TABLE bench_m0 AS SELECT unit_id, date_trunc('month', day)::date "
        "AS day, key, sum(value) AS value FROM bench_d0 GROUP BY 1, 2, 3",
    ]
    for level in range(depth + 1):
        for p in "dm" if level else "":
            out += [
                f"""
                CREATE UNLOGGED TABLE bench_{p}{level} AS
                SELECT u.parent_id AS unit_id, l.day, l.key, sum(l.value) AS value
                FROM bench_{p}{level - 1} l JOIN units u ON u.id = l.unit_id
                GROUP BY 1, 2, 3
                """,
                f"DROP TABLE bench_{p}{level - 1}",
            ]
        out += [
            "INSERT INTO stat_counters (unit_id, period, day, key, value) "
            f"SELECT unit_id, '{p}', day, key, value FROM bench_{p}{level}"
            for p in "dm"
        ]
    out += [
        f"DROP TABLE bench_d{depth}, bench_m{depth}",
        f"ALTER TABLE stat_counters ADD CONSTRAINT pk_stat_counters {key}",
        series,
    ]
    return out


async def check_sample(database_url: str, province: Province) -> tuple[int, list[str]]:
    """The busiest county's cases recounted by the app's own `facts_of` from their rows and
    deadlines as stored: every case's stored facts, the county's monthly counters, and the
    province's `cases` counter against a count of the cases; the county's number of cases and
    what disagreed."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    problems: list[str] = []
    snapshot = conn.transaction(isolation="repeatable_read", readonly=True)
    await snapshot.start()
    try:
        cases = await conn.fetch(
            f"SELECT {', '.join(CaseRow._fields)} FROM cases WHERE county_id = $1",
            province.county,
        )
        states: dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]] = {}
        for r in await conn.fetch(
            "SELECT d.case_id, d.kind::text, d.status::text FROM deadlines d "
            "JOIN cases c ON c.id = d.case_id WHERE c.county_id = $1",
            province.county,
        ):
            states.setdefault(r[0], []).append((DeadlineKind(r[1]), DeadlineStatus(r[2])))
        stored = {
            r[0]: r[1]
            for r in await conn.fetch(
                "SELECT s.case_id, s.facts::text FROM case_stat_facts s "
                "JOIN cases c ON c.id = s.case_id WHERE c.county_id = $1",
                province.county,
            )
        }
        expected: Counter[tuple[date, str]] = Counter()
        for r in cases:
            row = CaseRow(
                **(
                    dict(r)
                    | {
                        "status": CaseStatus(r["status"]),
                        "channel": Channel(r["channel"]),
                        "lodged_level": LodgedLevel(r["lodged_level"]),
                        "outcome": Outcome(r["outcome"]) if r["outcome"] else None,
                    }
                )
            )
            facts = facts_of(state_of(row), states.get(row.id, []))
            if json.loads(stored.get(row.id, "null")) != facts and len(problems) < 5:
                problems.append(f"case {row.id}: stored {stored.get(row.id)}, recounted {facts}")
            month = row.received_at.astimezone(CHINA).date().replace(day=1)
            for key, value in facts.items():
                expected[(month, key)] += value
        counters = {
            (r[0], r[1]): r[2]
            for r in await conn.fetch(
                "SELECT day, key, value FROM stat_counters WHERE unit_id = $1 AND period = 'm'",
                province.county,
            )
            if r[2]
        }
        if counters != {k: v for k, v in expected.items() if v}:
            differ = set(counters.items()) ^ set(expected.items())
            problems.append(f"county counters differ from the recount at {sorted(differ)[:3]}")
        total = await conn.fetchval("SELECT count(*) FROM cases")
        counted = await conn.fetchval(
            "SELECT sum(value) FROM stat_counters WHERE unit_id = $1 AND period = 'm' "
            "AND key = 'cases'",
            province.province,
        )
        if total != counted:
            problems.append(f"province counts {counted} cases of {total}")
    finally:
        await snapshot.rollback()
        await conn.close()
    return len(cases), problems


def periods(today: date) -> dict[str, tuple[date, date]]:
    """The two periods read: the year to date and the last 12 months (to today)."""
    return {
        "year to date": (today.replace(month=1, day=1), today),
        "last 12 months": (today - timedelta(days=364), today),
    }


async def bare_reads(
    database_url: str, unit: uuid.UUID, first: date, last: date, n: int
) -> list[float]:
    """Seconds of `n` runs of the summary's two counter reads (the sums over months and days,
    the daily series by channel) as bare SQL through asyncpg, one after the other."""
    months, days = split_period(first, last)
    sums = sums_statement([unit], months, days)
    assert sums is not None
    prepared = [bare_sql(sums), bare_sql(per_day_statement(unit, first, last, CHANNEL_KEYS))]
    conn = await asyncpg.connect(asyncpg_url(database_url))
    out = []
    try:
        for _ in range(5):
            for sql, params in prepared:
                await conn.fetch(sql, *params)
        for _ in range(n):
            started = time.perf_counter()
            for sql, params in prepared:
                await conn.fetch(sql, *params)
            out.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return out


def reader(stack: Stack, admin: str, unit: uuid.UUID, username: str) -> dict[str, str]:
    """The headers of a new petition staff official of `unit`, logged in."""
    body = {
        "name": username,
        "phone": "13900000000",
        "unit_id": str(unit),
        "role": "petition_staff",
        "username": username,
        "password": STAFF_PASSWORD,
    }
    with httpx.Client(base_url=stack.base, timeout=30) as client:
        made = client.post("/v1/officials", json=body, headers={"Authorization": f"Bearer {admin}"})
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {token(client, username, STAFF_PASSWORD)}"}


def measure_reads(
    stack: Stack, province: Province, readers: dict[str, dict[str, str]], n: int
) -> dict[str, tuple[list[float], list[float]]]:
    """API and bare seconds of the county summary and the province roll-up for each period,
    each read by its unit's petition staff (their reach the unit's subtree), the province's
    also by the deployment's admin (no subtree to load)."""
    out = {}
    with httpx.Client(base_url=stack.base, timeout=60) as client:
        for who, unit in (
            ("county staff", province.county),
            ("province staff", province.province),
            ("admin", province.province),
        ):
            for name, (first, last) in periods(local_today()).items():
                url = f"/v1/stats/summary?unit_id={unit}&from={first}&to={last}"
                api = latencies(client, url, readers[who], n)
                bare = asyncio.run(bare_reads(stack.database_url, unit, first, last, n))
                what = "province" if unit == province.province else "county"
                out[f"{what} by {who}, {name}"] = (api, bare)
    return out


async def storage(database_url: str) -> dict[str, tuple[int, int]]:
    """Bytes of each table (with its TOAST) and of its indexes."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT relname, pg_table_size(oid) AS t, pg_indexes_size(oid) AS i FROM pg_class "
            "WHERE relname = ANY($1::text[]) AND relkind = 'r'",
            TABLES,
        )
    finally:
        await conn.close()
    return {r["relname"]: (r["t"], r["i"]) for r in rows}


async def count_of(database_url: str, sql: str) -> int:
    """One number from the database."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        value: int = await conn.fetchval(sql)
    finally:
        await conn.close()
    return value


async def data_directory(database_url: str) -> Path:
    """Where the PostgreSQL server keeps its data (and its `postmaster.pid`)."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        return Path(await conn.fetchval("SHOW data_directory"))
    finally:
        await conn.close()


def postmaster_of(database_url: str) -> int:
    """The pid of the PostgreSQL server (the first line of its `postmaster.pid`)."""
    pid_file = asyncio.run(data_directory(database_url)) / "postmaster.pid"
    return int(pid_file.read_text().split()[0])


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of PostgreSQL so far: its live processes and those it has reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid = int(stat.parent.name)
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15]) / tick  # own + reaped children
        elif int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Intake:
    """Registration in one deployment: wrk steps and PostgreSQL's CPU per registration."""

    name: str
    steps: list[Step] = field(default_factory=list)
    pg_ms: list[float] = field(default_factory=list)

    def best(self) -> tuple[Step, float]:
        """The step at the best rate and PostgreSQL's CPU per registration in it."""
        i = max(range(len(self.steps)), key=lambda j: self.steps[j].rate)
        return self.steps[i], self.pg_ms[i]


def registration(
    deployments: list[tuple[Intake, Stack, Territory]],
    connections: list[int],
    seconds: float,
    load_cpus: set[int] | None,
) -> None:
    """`POST /v1/cases` under wrk in each deployment, alternating step by step (noise from the
    neighbours falls on all alike), as `bench_intake` drives it."""
    postmaster = postmaster_of(deployments[0][1].database_url)
    scripts = [
        write_script(territory, "/v1/cases", f"province-{intake.name.split()[0]}")
        for intake, _, territory in deployments
    ]
    quiet = [p.pid for _, stack, _ in deployments for p in stack.procs]
    for script, (_, stack, _) in zip(scripts, deployments, strict=True):
        wrk(stack.base, script, 4, 3, load_cpus, stack.api.pid)
    for c in connections:
        for script, (intake, stack, _) in zip(scripts, deployments, strict=True):
            settle(quiet)
            before = postgres_cpu(postmaster)
            step = wrk(stack.base, script, c, seconds, load_cpus, stack.api.pid)
            used = postgres_cpu(postmaster) - before
            intake.steps.append(step)
            intake.pg_ms.append(used / step.requests * 1000 if step.requests else 0.0)
            print(
                f"  {intake.name}, {c} connections: {step.rate:.0f}/s, p99 "
                f"{step.p99 * 1000:.0f} ms, API CPU {step.cpu_ms:.2f} ms/req, PostgreSQL CPU "
                f"{intake.pg_ms[-1]:.2f} ms/req, {step.errors} errors",
                flush=True,
            )


def sizes_of(cases: int, quick: bool) -> list[int]:
    """The stages: 100k then `cases` (100k then 300k with --quick), fewer when asked fewer."""
    last = 300_000 if quick else cases
    first = min(100_000, last)
    return [first, last] if last > first else [last]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2_000_000, help="cases at the last stage")
    parser.add_argument("--quick", action="store_true", help="100k then 300k cases")
    parser.add_argument("--requests", type=int, default=300, help="per read and stage")
    parser.add_argument("--connections", default="8,16", help="wrk connections per step")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each wrk step")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the APIs to the first core and wrk to the last (as bench_intake does)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench_province needs wrk: apt-get install -y wrk", file=sys.stderr)
        sys.exit(2)
    sizes = sizes_of(args.cases, args.quick)
    server_cpus, load_cpus = cpu_plan(args.pin)
    stages: list[Stage] = []
    started_all = time.monotonic()
    with (
        running_stack("province-single", api_cpus=server_cpus) as single,
        running_stack("province", api_cpus=server_cpus) as stack,
    ):
        single_territory = make_territory(single.base)
        set_policy(single.base, single_territory.admin_token, lift_alert_limits)
        started = time.monotonic()
        province = asyncio.run(build_province(stack.database_url))
        print(
            f"territory: {province.levels} units, {province.officials} officials "
            f"({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        with httpx.Client(base_url=stack.base, timeout=30) as client:
            admin = token(client, "admin", ADMIN_PASSWORD)
        readers = {
            "admin": {"Authorization": f"Bearer {admin}"},
            "county staff": reader(stack, admin, province.county, "bench-county-staff"),
            "province staff": reader(stack, admin, province.province, "bench-province-staff"),
        }
        loaded = 0
        for size in sizes:
            took = asyncio.run(load_stage(stack.database_url, loaded + 1, size))
            loaded = size
            stage = Stage(size, took)
            stage.county_cases, problems = asyncio.run(check_sample(stack.database_url, province))
            if problems:
                raise SystemExit(
                    "the loaded figures disagree with the app's counting:\n" + "\n".join(problems)
                )
            stage.counters = asyncio.run(
                count_of(stack.database_url, "SELECT count(*) FROM stat_counters")
            )
            print(
                f"{size:>9,} cases loaded in {sum(took.values()):.0f} s ("
                + ", ".join(f"{k} {v:.0f} s" for k, v in took.items())
                + f"); sample checked: the busiest county's {stage.county_cases:,} cases "
                "recounted by facts_of equal their facts and its counters",
                flush=True,
            )
            stage.reads = measure_reads(stack, province, readers, args.requests)
            stage.storage = asyncio.run(storage(stack.database_url))
            stages.append(stage)
        outbox = asyncio.run(count_of(stack.database_url, "SELECT count(*) FROM outbox_messages"))
        set_policy(stack.base, admin, lift_alert_limits)
        big_territory = make_territory(stack.base, county=str(province.county))
        single_intake, big_intake = Intake("single county"), Intake(f"province {loaded:,}")
        registration(
            [(single_intake, single, single_territory), (big_intake, stack, big_territory)],
            [int(c) for c in args.connections.split(",")],
            args.seconds,
            load_cpus,
        )
    report(stages, province, single_intake, big_intake, outbox, time.monotonic() - started_all)


def mb(size: float) -> str:
    """Bytes in MB."""
    return f"{size / 2**20:,.0f}"


def report(
    stages: list[Stage],
    province: Province,
    single: Intake,
    big: Intake,
    outbox: int,
    seconds: float,
) -> None:
    """Every figure in one table, and the targets."""
    first, last = stages[0], stages[-1]
    units = ", ".join(
        f"{province.levels.get(k, 0):,} {k}"
        for k in ("province", "city", "county", "town", "area", "village")
    )
    print()
    print(
        f"Province benchmark ({seconds / 60:.0f} min in all): {units}; "
        f"{province.officials:,} officials; outbox rows kept: {outbox}"
    )
    steps = list(last.load)
    print()
    print("load, s    | " + " | ".join(f"{s:>9}" for s in steps) + " |     total | counter rows")
    for st in stages:
        print(
            f"{st.cases:>10,} | "
            + " | ".join(f"{st.load.get(s, 0.0):>9.0f}" for s in steps)
            + f" | {sum(st.load.values()):>9.0f} | {st.counters:,} ({st.counters / st.cases:.0f}"
            " per case)"
        )
    print()
    print(
        "summary read (GET /v1/stats/summary)         | cases      | API p50 / p99 ms | "
        "bare SQL p50 / p99 ms | API/bare p50"
    )
    for st in stages:
        for name, (api, bare) in st.reads.items():
            print(
                f"{name:<44} | {st.cases:>10,} | {ms(api, 50):>7} / {ms(api, 99):<6} | "
                f"{ms(bare, 50):>10} / {ms(bare, 99):<8} | {pct(api, 50) / pct(bare, 50):.1f} x"
            )
    print()
    print(f"{f'cost at {last.cases:,} / at {first.cases:,}':<44} | API p50 | API p99 | bare p50")
    growth = {}
    for name, (api, bare) in last.reads.items():
        api0, bare0 = first.reads[name]
        growth[name] = pct(api, 50) / pct(api0, 50)
        print(
            f"{name:<44} | {growth[name]:>5.2f} x | {pct(api, 99) / pct(api0, 99):>5.2f} x | "
            f"{pct(bare, 50) / pct(bare0, 50):>6.2f} x"
        )
    print()
    print(
        "registration (wrk, POST /v1/cases) | conns | req/s | p50 ms | p99 ms | API CPU ms/req | "
        "PostgreSQL CPU ms/req | errors"
    )
    for intake in (single, big):
        for step, pg_ms in zip(intake.steps, intake.pg_ms, strict=True):
            print(
                f"{intake.name:<34} | {step.connections:>5} | {step.rate:>5.0f} | "
                f"{step.p50 * 1000:>6.1f} | {step.p99 * 1000:>6.1f} | {step.cpu_ms:>14.2f} | "
                f"{pg_ms:>21.2f} | {step.errors}"
            )
    (s1, pg1), (s2, pg2) = single.best(), big.best()
    rate_ratio, cpu_ratio = s2.rate / s1.rate, s2.cpu_ms / s1.cpu_ms
    print(
        f"best rate: province / single {rate_ratio:.2f} x ({s2.rate:.0f}/s vs {s1.rate:.0f}/s); "
        f"API CPU per registration {cpu_ratio:.2f} x ({s2.cpu_ms:.2f} vs {s1.cpu_ms:.2f} ms); "
        f"PostgreSQL CPU {pg2 / pg1 if pg1 else 0:.2f} x ({pg2:.2f} vs {pg1:.2f} ms)"
    )
    print()
    print(
        f"storage       | at {last.cases:,} cases: table MB | index MB | total MB | "
        f"MB per million cases | at {first.cases:,}: MB per million"
    )
    total = [0, 0]
    for name in TABLES:
        t, i = last.storage[name]
        t0, i0 = first.storage[name]
        total = [total[0] + t, total[1] + i]
        print(
            f"{name:<15} | {mb(t):>16} | {mb(i):>8} | {mb(t + i):>8} | "
            f"{mb((t + i) / last.cases * 1e6):>20} | {mb((t0 + i0) / first.cases * 1e6):>10}"
        )
    print(
        f"{'all five':<15} | {mb(total[0]):>16} | {mb(total[1]):>8} | {mb(sum(total)):>8} | "
        f"{mb(sum(total) / last.cases * 1e6):>20} |"
    )
    print()
    targets = [
        (
            "every summary p50 <= 20 ms and p99 <= 100 ms at every stage",
            all(
                pct(api, 50) <= 0.020 and pct(api, 99) <= 0.100
                for st in stages
                for api, _ in st.reads.values()
            ),
        ),
        (
            f"every summary's p50 at {last.cases:,} <= 1.3 x at {first.cases:,} "
            f"(worst {max(growth.values()):.2f} x)",
            max(growth.values()) <= 1.3,
        ),
        (
            f"registration rate within 10 % of a single county's ({rate_ratio:.2f} x)",
            rate_ratio >= 0.9,
        ),
        (
            f"API CPU per registration within 10 % of a single county's ({cpu_ratio:.2f} x)",
            cpu_ratio <= 1.1,
        ),
    ]
    for name, ok in targets:
        print(f"target {'met' if ok else 'NOT met'}: {name}")


if __name__ == "__main__":
    main()
