"""`make bench-search`: the case search (`GET /v1/search/cases`) at 10k, 100k and 1M cases,
beside the same SQL run bare through asyncpg in the same run.

Cases are generated straight into the database (as `bench_dashboard` does) across 20 towns,
40 areas and 200 villages over three years. Their words come from a pool of 20,000 made-up
registrations (a petitioner's two- or three-character name from common surnames and given
names, an address in one of the villages, a title and content of one to four matters in a
county's words) tokenised by the app's own code (`api.cases.search_tokens.case_tokens`, under
the API's `PII_HASH_KEY`), each pool entry used by many cases, as common names and matters
are. The GIN index is built after the load, as after a restore.

    python -m tests.bench.bench_search [--sizes 10000,100000,1000000] [--requests 200]

The caller is the county's petition staff (the whole county in reach: the widest territory
filter, no confidentiality filter). Queries, in turn: a two-character name, a three-character
name, a name and a matter, a matter of four characters and a village with a matter. Prints,
at each size and for each kind of query, the median and p99 of the API search and of its SQL
(`api.search.repository.search_statement`, compiled once per query, run by asyncpg), and the
hits; then the median and p99 of `POST /v1/search/similar` (likely repeats of a draft from one
of the villages). Target (issue 21 §3): API median ≤ 50 ms at 1M.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api.cases.search_tokens import case_tokens, query_of
from api.privacy.crypto import Vault
from api.search.repository import search_statement
from shared.embedded import create_fresh_database, drop_database, start_services
from tests.bench.bench_dashboard import Territory, build_territory
from tests.bench.common import bare_sql, pct
from tests.conftest import migrate
from tests.processes import api_command, wait_ready

ROOT = Path(__file__).resolve().parents[2]
HASH_KEY = "bench-pii-hash-key-0123456789abcdef0123"
POOL = 20_000
MAX_TERMS = 8  # the policy's default `search.max_terms`
MAX_RANKED = 1000  # the policy's default `search.max_ranked`

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍建华红梅鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳晨辉鹏飞琳雪慧颖婷倩洁佳丹亮成志国文海荣福生春"  # noqa: E501
MATTERS = [
    "拖欠农民工工资",
    "征地补偿款未兑现",
    "房屋拆迁安置不合理",
    "养殖场污染环境",
    "工厂噪音扰民",
    "宅基地纠纷",
    "低保评定不公",
    "医疗费用报销",
    "子女入学难",
    "村务不公开",
    "土地承包经营权纠纷",
    "道路修建占用耕地",
    "供暖费用争议",
    "物业服务纠纷",
    "违法建筑未拆除",
    "养老保险待遇",
    "退役军人安置",
    "集体资产处置",
    "山林权属争议",
    "饮用水安全",
    "煤矿塌陷区治理",
    "拆迁过渡费未发放",
    "社保关系转移",
    "教师工资待遇",
    "执法人员态度粗暴",
    "村干部侵占集体收入",
    "危房改造补助",
    "农业补贴发放",
    "企业改制遗留问题",
    "交通事故赔偿",
]
CONNECTORS = ["，要求尽快解决。", "，多次反映未果。", "，请求上级督办。", "。", "，群众意见很大。"]


@dataclass
class Entry:
    """One made-up registration of the pool."""

    name: str
    title: str
    content: str
    address: str
    tokens: list[str]


PLACE = "杨柳桥庄河湾岗店集寨堡屯坪沟坡塘湖山石林桃李梨枣花竹松柏东西南北上下前后大小新老高低长安平和兴旺丰"  # noqa: E501


def village_names_of(rng: random.Random) -> list[str]:
    """200 village names of two characters and 村 (the addresses' places)."""
    names: set[str] = set()
    while len(names) < 200:
        names.add(rng.choice(PLACE) + rng.choice(PLACE) + "村")
    return sorted(names)


def make_pool(vault: Vault, rng: random.Random, village_names: list[str]) -> list[Entry]:
    """The pool of registrations the generated cases take their words from."""
    pool = []
    for _ in range(POOL):
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 1, 2))))
        name = rng.choice(SURNAMES) + given
        matters = rng.sample(MATTERS, rng.randint(1, 4))
        village = rng.choice(village_names)
        title = matters[0]
        content = "".join(
            f"{village}村民反映{m}{rng.choice(CONNECTORS)}"
            if i == 0
            else m + rng.choice(CONNECTORS)
            for i, m in enumerate(matters)
        )
        address = f"{village}{rng.randint(1, 12)}组"
        petitioners = [{"name": name, "address": address, "is_representative": True}]
        tokens = case_tokens(
            vault,
            title=title,
            content=content,
            demands=None,
            number="",
            higher_reference=None,
            petitioners=petitioners,
        )
        pool.append(Entry(name, title, content, address, tokens))
    return pool


async def load_pool(database_url: str, pool: list[Entry]) -> None:
    """The pool as a table of the bench database."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(
            "CREATE TABLE bench_pool (n int PRIMARY KEY, title text, content text, "
            "petitioners jsonb, tokens text[])"
        )
        await conn.copy_records_to_table(
            "bench_pool",
            records=[
                (
                    i,
                    e.title,
                    e.content,
                    f'[{{"name": "{e.name}", "address": "{e.address}", '
                    '"is_representative": true}]',
                    e.tokens,
                )
                for i, e in enumerate(pool)
            ],
        )
    finally:
        await conn.close()


async def generate(database_url: str, territory: Territory, first: int, count: int) -> None:
    """Cases `first` … `first + count - 1`, each with the words of a pool entry, in chunks."""
    engine = create_async_engine(database_url)
    chunk = 50_000
    for start in range(first, first + count, chunk):
        stop = min(first + count, start + chunk)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    """
                    INSERT INTO cases (id, number, county_id, channel, status, origin_unit_id,
                        lodged_level, petitioners, headcount, is_collective, category, title,
                        content, received_at, intake_unit_id, search_tokens, created_at,
                        updated_at)
                    SELECT gen_random_uuid(), 'B-' || g.n, :county, 'letter', 'closed',
                        (CAST(:villages AS uuid[]))[1 + floor(random() * :village_count)::int],
                        'town', p.petitioners, 1, false, 'other', p.title, p.content,
                        now() - (random() * interval '1095 days'), :county, p.tokens,
                        now(), now()
                    FROM generate_series(:start, :stop - 1) AS g(n)
                    JOIN bench_pool p ON p.n = (g.n::bigint * 7919) % :pool
                    """
                ),
                {
                    "county": territory.county,
                    "villages": territory.villages,
                    "village_count": len(territory.villages),
                    "start": start,
                    "stop": stop,
                    "pool": POOL,
                },
            )
    await engine.dispose()


async def without_index(database_url: str) -> None:
    """Drop the search index before a load (built again after it)."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX IF EXISTS ix_cases_search_tokens"))
    await engine.dispose()


async def with_index(database_url: str) -> float:
    """Build the search index and analyse; the seconds it took."""
    started = time.monotonic()
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("SET maintenance_work_mem = '256MB'"))
        await conn.execute(
            text("CREATE INDEX ix_cases_search_tokens ON cases USING gin (search_tokens)")
        )
        await conn.execute(text("VACUUM ANALYZE cases"))
    await engine.dispose()
    return time.monotonic() - started


def queries(pool: list[Entry], rng: random.Random) -> dict[str, list[str]]:
    """Queries of each kind, from the pool's own names, matters and villages."""
    two = [e for e in pool if len(e.name) == 2]
    three = [e for e in pool if len(e.name) == 3]
    kinds: dict[str, list[str]] = {
        "2-char name": [],
        "3-char name": [],
        "name + matter": [],
        "4-char matter": [],
        "village + matter": [],
    }
    for _ in range(40):
        a, b, c = rng.choice(two), rng.choice(three), rng.choice(pool)
        kinds["2-char name"].append(a.name)
        kinds["3-char name"].append(b.name)
        kinds["name + matter"].append(f"{c.name} {c.title[:4]}")
        kinds["4-char matter"].append(rng.choice(MATTERS)[:4])
        kinds["village + matter"].append(f"{c.address.split('村')[0]}村 {c.title[:4]}")
    return kinds


async def bare(
    database_url: str, reader: Any, vault: Vault, qs: list[str], n: int
) -> tuple[list[float], list[int]]:
    """Seconds of `n` runs of the search's SQL through asyncpg (queries in turn), and hits."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    prepared = []
    for q in qs:
        stmt = search_statement(
            query_of(vault, q, max_terms=MAX_TERMS),
            reader,
            staff=True,
            limit=20,
            offset=0,
            max_ranked=MAX_RANKED,
        )
        prepared.append(bare_sql(stmt))
    out, hits = [], []
    try:
        for sql, params in prepared[:5]:
            await conn.fetch(sql, *params)
        for i in range(n):
            sql, params = prepared[i % len(prepared)]
            started = time.perf_counter()
            rows = await conn.fetch(sql, *params)
            out.append(time.perf_counter() - started)
            hits.append(len(rows))
    finally:
        await conn.close()
    return out, hits


def api(
    client: httpx.Client, headers: dict[str, str], qs: list[str], n: int
) -> tuple[list[float], list[int]]:
    """Seconds of `n` searches through the API (queries in turn), and hits."""
    for q in qs[:5]:
        client.get("/v1/search/cases", params={"q": q}, headers=headers)
    out, hits = [], []
    for i in range(n):
        started = time.perf_counter()
        resp = client.get("/v1/search/cases", params={"q": qs[i % len(qs)]}, headers=headers)
        out.append(time.perf_counter() - started)
        assert resp.status_code == 200, resp.text
        hits.append(len(resp.json()["items"]))
    return out, hits


def similar(
    client: httpx.Client, headers: dict[str, str], drafts: list[dict[str, str]], n: int
) -> tuple[list[float], list[int]]:
    """Seconds of `n` likely-repeat reads of drafts (`POST /v1/search/similar`), and hits."""
    out, hits = [], []
    for i in range(n):
        started = time.perf_counter()
        resp = client.post("/v1/search/similar", json=drafts[i % len(drafts)], headers=headers)
        out.append(time.perf_counter() - started)
        assert resp.status_code == 200, resp.text
        hits.append(len(resp.json()))
    return out, hits


async def county_reach(database_url: str, county: uuid.UUID) -> frozenset[uuid.UUID]:
    """Every unit of the county (what the app computes as the county staff's reach)."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch(
            "WITH RECURSIVE t AS (SELECT id FROM units WHERE id = $1 UNION ALL "
            "SELECT u.id FROM units u JOIN t ON u.parent_id = t.id) SELECT id FROM t",
            county,
        )
    finally:
        await conn.close()
    return frozenset(r["id"] for r in rows)


def ms(values: list[float], q: float) -> str:
    """A percentile in milliseconds."""
    return f"{pct(values, q) * 1000:.1f}"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--requests", type=int, default=200, help="per kind of query")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(21)
    vault = Vault([Fernet.generate_key().decode()], HASH_KEY)

    services = start_services(ROOT / ".data" / "bench")
    database_url = create_fresh_database(services.database_url, "pd_bench_search")
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
        "PII_HASH_KEY": HASH_KEY,
        "ADMIN_PASSWORD": "bench-admin-password",
        "ARQ_QUEUE": f"pd-bench:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
        "REQUESTS_PER_MINUTE": "100000000",
    }
    logs = ROOT / ".data" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    territory = asyncio.run(build_territory(database_url))
    village_names = village_names_of(rng)
    pool = make_pool(vault, rng, village_names)
    asyncio.run(load_pool(database_url, pool))
    kinds = queries(pool, rng)
    reach = asyncio.run(county_reach(database_url, territory.county))
    rows: list[tuple[int, str, list[float], list[float], list[int]]] = []
    repeats: list[tuple[int, list[float], list[int]]] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc = subprocess.Popen(
            api_command(port, "--log-level", "warning", "--no-access-log"),
            cwd=ROOT,
            env=env,
            stdout=(logs / "api-search.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_ready(base, proc)
        admin = {
            "Authorization": "Bearer "
            + httpx.post(
                base + "/v1/auth/token",
                data={"username": "admin", "password": "bench-admin-password"},
            ).json()["access_token"]
        }
        staff_body = {
            "name": "县信访局工作人员",
            "phone": "13900000000",
            "unit_id": str(territory.county),
            "role": "petition_staff",
            "username": "bench-staff",
            "password": "bench-staff-password",
        }
        made = httpx.post(base + "/v1/officials", json=staff_body, headers=admin)
        assert made.status_code == 201, made.text
        reader = SimpleNamespace(
            id=uuid.UUID(made.json()["id"]), unit_id=territory.county, reach=reach
        )
        token = httpx.post(
            base + "/v1/auth/token",
            data={"username": "bench-staff", "password": "bench-staff-password"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        loaded = 0
        for size in sizes:
            asyncio.run(without_index(database_url))
            started = time.monotonic()
            asyncio.run(generate(database_url, territory, loaded + 1, size - loaded))
            generated = time.monotonic() - started
            indexed = asyncio.run(with_index(database_url))
            loaded = size
            print(
                f"{size:>9,} cases loaded ({generated:.0f} s generated, {indexed:.0f} s indexed)",
                flush=True,
            )
            with httpx.Client(base_url=base, timeout=60) as client:
                for kind, qs in kinds.items():
                    api_s, hits = api(client, auth, qs, args.requests)
                    bare_s, _ = asyncio.run(bare(database_url, reader, vault, qs, args.requests))
                    rows.append((size, kind, api_s, bare_s, hits))
                drafts = [
                    {
                        "title": e.title,
                        "content": e.content,
                        "origin_unit_id": str(rng.choice(territory.villages)),
                    }
                    for e in rng.sample(pool, 40)
                ]
                similar_s, similar_hits = similar(client, auth, drafts, args.requests // 2)
                repeats.append((size, similar_s, similar_hits))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        drop_database(database_url)
        services.stop()

    print()
    print("cases      | query            | API p50 / p99 ms  | bare SQL p50 / p99 ms | hits/page")
    for size, kind, api_s, bare_s, hits in rows:
        print(
            f"{size:>10,} | {kind:<16} | {ms(api_s, 50):>7} / {ms(api_s, 99):<7} | "
            f"{ms(bare_s, 50):>9} / {ms(bare_s, 99):<9} | {sum(hits) / len(hits):.1f}"
        )
    print()
    print("cases      | likely repeats of a draft p50 / p99 ms | offered")
    for size, similar_s, similar_hits in repeats:
        print(
            f"{size:>10,} | {ms(similar_s, 50):>19} / {ms(similar_s, 99):<16} | "
            f"{sum(similar_hits) / len(similar_hits):.1f}"
        )
    largest = max(r[0] for r in rows)
    every = [t for r in rows if r[0] == largest for t in r[2]]
    ok = pct(every, 50) <= 0.050
    print(
        f"{'met' if ok else 'NOT met'}: API search median at {largest:,} <= 50 ms "
        f"({pct(every, 50) * 1000:.1f} ms over every query)"
    )


if __name__ == "__main__":
    main()
