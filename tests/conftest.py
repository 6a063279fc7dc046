"""Test fixtures: real PostgreSQL and Redis (embedded when no URLs are given), a fresh database
per run, the app in-process over ASGI, and a small county to work in."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import update

from api.app import create_app
from api.auth import security
from api.kit import polling
from api.models.deadline import Deadline
from shared.embedded import Services, create_fresh_database, drop_database, start_services
from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "admin-password-for-tests"
WORKER_TOKEN = "worker-token-for-tests"
# Keys of petitioners' numbers; the in-process app and the e2e processes share the database.
PII_KEYS = "Tm90LWEtcmVhbC1rZXktanVzdC1mb3ItdGVzdHMtMDE="
PII_HASH_KEY = "pii-hash-key-for-tests-0123456789abcdef"
# Where links in messages point: the app's own settings, not the environment's.
PUBLIC_BASE_URL = "https://xf.example.gov.cn/desk"
METRICS_TOKEN = "metrics-token-for-tests"
# What Prometheus sends to scrape /metrics.
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """PostgreSQL and Redis: from DATABASE_URL/REDIS_URL, or embedded under `.data/test` (one
    pair per pytest-xdist worker, `.data/test-gw0` …: `make test` runs two)."""
    embedded_redis = not os.environ.get("REDIS_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    running = start_services(ROOT / ".data" / (f"test-{worker}" if worker else "test"))
    if embedded_redis:  # our own test Redis: drop jobs queued by earlier runs
        redis.Redis.from_url(running.redis_url).flushdb()
    yield running
    running.stop()


def migrate(database_url: str) -> None:
    """Bring a database to the newest schema with Alembic."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def database_url(services: Services) -> Iterator[str]:
    """A fresh, migrated database for this test run, dropped afterwards."""
    url = create_fresh_database(services.database_url, "pd_test")
    migrate(url)
    yield url
    if not os.environ.get("KEEP_TEST_DB"):
        drop_database(url)


@pytest.fixture(scope="session")
def settings(services: Services, database_url: str) -> Settings:
    """Settings of the app under test; its own arq queue so runs never mix."""
    return Settings(
        database_url=database_url,
        redis_url=services.redis_url,
        jwt_secret="jwt-secret-for-tests-0123456789abcdef",
        worker_token=WORKER_TOKEN,
        pii_keys=PII_KEYS,
        pii_hash_key=PII_HASH_KEY,
        admin_password=ADMIN_PASSWORD,
        arq_queue=f"pd-test:{uuid.uuid4().hex[:8]}",
        webhooks_allow_private=True,
        inbound_sms_token="inbound-token-for-tests",
        public_base_url=PUBLIC_BASE_URL,
        metrics_token=METRICS_TOKEN,
        requests_per_minute=1_000_000,  # the suite is one busy caller; limits tested apart
        materials_dir=str(ROOT / ".data" / "test" / "materials"),
        # Tests read the English of errors; production answers in Chinese by default
        # (tests/test_i18n.py checks both, and the default).
        default_language="en",
    )


@pytest.fixture(autouse=True)
def one_etag_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process polls all fall in one ETag time bucket: a read and its poll a few
    milliseconds apart must not straddle a 30 s boundary (about one run in a hundred did).
    The bucket's own part in the ETag is tested in `test_polling`."""
    monkeypatch.setattr(polling, "ETAG_BUCKET_SECONDS", 10**9)


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """The in-process app hashes and checks passwords with argon2id at its cheapest cost:
    production's (64 MiB, 3 passes) is some 120 ms a hash or a login, deliberately, and the
    suite makes and logs in thousands of officials. A hash carries its own parameters, so the
    API processes of the end-to-end tests, at full cost, verify these and the reverse."""
    production = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    security.dummy_hash.cache_clear()
    yield
    security._hasher = production
    security.dummy_hash.cache_clear()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Authorization header for a user."""
    resp = await client.post("/v1/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture(scope="session")
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers of the bootstrap admin."""
    return await login(client, "admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def worker_headers() -> dict[str, str]:
    """Headers the worker sends to internal endpoints."""
    return {"Authorization": f"Bearer {WORKER_TOKEN}"}


@dataclass
class County:
    """A small territory: county > town > area > village, plus a village directly under the town,
    with a chief in each unit, a deputy and petition staff in the town and county."""

    county: dict[str, Any]
    town: dict[str, Any]
    area: dict[str, Any]
    village: dict[str, Any]  # under the area
    village2: dict[str, Any]  # directly under the town
    officials: dict[str, dict[str, Any]]
    passwords: dict[str, str]

    async def headers(self, client: httpx.AsyncClient, key: str) -> dict[str, str]:
        """Headers of one of the officials."""
        return await login(client, self.officials[key]["username"], self.passwords[key])


async def make_county(
    client: httpx.AsyncClient, admin: dict[str, str], parent: dict[str, Any] | None = None
) -> County:
    """Create a fresh territory with officials (unique names per call), the county on its own
    or under `parent` (a city)."""
    tag = uuid.uuid4().hex[:6]

    async def unit(name: str, level: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        body = {"name": f"{name}-{tag}", "level": level, "parent_id": parent and parent["id"]}
        resp = await client.post("/v1/units", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    county = await unit("城关县", "county", parent)
    town = await unit("东风镇", "town", county)
    area = await unit("北片管理区", "area", town)
    village = await unit("柳树村", "village", area)
    village2 = await unit("杨庄村", "village", town)
    officials: dict[str, dict[str, Any]] = {}
    passwords: dict[str, str] = {}
    plan = [
        ("county_chief", county, "chief"),
        ("county_staff", county, "petition_staff"),
        ("town_chief", town, "chief"),
        ("town_deputy", town, "deputy"),
        ("town_staff", town, "petition_staff"),
        ("area_chief", area, "chief"),
        ("village_chief", village, "chief"),
        ("village2_chief", village2, "chief"),
        ("grid", village2, "grid_worker"),
    ]
    for n, (key, where, role) in enumerate(plan):
        password = f"pw-{key}-{tag}"
        body = {
            "name": f"{key}-{tag}",
            "phone": f"139{n:02d}{int(tag, 16) % 1000000:06d}",
            "unit_id": where["id"],
            "role": role,
            "username": f"{key}-{tag}",
            "password": password,
        }
        resp = await client.post("/v1/officials", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        officials[key] = resp.json()
        passwords[key] = password
    return County(county, town, area, village, village2, officials, passwords)


@pytest.fixture
async def county(client: httpx.AsyncClient, admin: dict[str, str]) -> County:
    """A fresh county for one test."""
    return await make_county(client, admin)


async def service_token(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, unit: dict[str, Any]
) -> dict[str, str]:
    """Headers of a new viewer service token for `unit`, good for a day."""
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"name": name, "role": "viewer", "unit_id": unit["id"], "expires_at": expires}
    created = await client.post("/v1/service-tokens", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def higher_office(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    unit: dict[str, Any],
    level: str = "city",
    office_unit: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A newly registered higher office (the deployment's `office_unit`, if given) and the
    headers of its system's token (role `higher_office`, bound to it), handing cases down to
    `unit`, good for a day."""
    body: dict[str, Any] = {
        "name": f"{level}信访局",
        "level": level,
        "code": f"office-{uuid.uuid4().hex[:10]}",
    }
    if office_unit is not None:
        body["unit_id"] = office_unit["id"]
    office = await client.post("/v1/higher-offices", json=body, headers=admin)
    assert office.status_code == 201, office.text
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {
        "name": "上级信访信息系统",
        "role": "higher_office",
        "unit_id": unit["id"],
        "higher_office_id": office.json()["id"],
        "expires_at": expires,
    }
    token = await client.post("/v1/service-tokens", json=body, headers=admin)
    assert token.status_code == 201, token.text
    return dict(office.json()), {"Authorization": f"Bearer {token.json()['token']}"}


def arrivals(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's arrival deadlines (到位时限)."""
    return [d for d in case["deadlines"] if d["kind"] == "arrival"]


def letter_body(county: County, **fields: Any) -> dict[str, Any]:
    """A registration body for a letter from a village to the county, with `fields` set."""
    return {
        "channel": "letter",
        "origin_unit_id": county.village2["id"],
        "lodged_level": "county",
        "petitioners": [{"name": "赵六", "phone": "13700000000"}],
        "category": "labour.wages",
        "title": "拖欠工资",
        "content": "工程款拖欠。",
        **fields,
    }


def visit_body(origin: dict[str, Any], lodged: dict[str, Any], headcount: int) -> dict[str, Any]:
    """A registration body for a (collective) visit."""
    return {
        "channel": "visit",
        "origin_unit_id": origin["id"],
        "lodged_unit_id": lodged["id"],
        "petitioners": [
            {"name": "张三", "phone": "13800000001", "is_representative": True},
            {"name": "李四", "id_number": "32010219800101123X", "is_representative": True},
        ],
        "headcount": headcount,
        "category": "land.acquisition",
        "title": "征地补偿款未兑现",
        "content": "村民反映征地补偿款至今未发放。",
        "demands": "尽快发放补偿款",
    }


@pytest.fixture
async def policy_restore(client: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[None]:
    """Put the policy document back after a test that changes it."""
    before = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    yield
    await client.put("/v1/policies", json=before, headers=admin)


async def act(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """Take a lifecycle action on a case; the case as it is afterwards."""
    resp = await client.post(f"/v1/cases/{case['id']}/{action}", json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    return dict(resp.json())


RECEIPT_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def answer_and_close(
    client: httpx.AsyncClient,
    county: County,
    staff: dict[str, str],
    case: dict[str, Any],
    *,
    satisfied: bool = True,
    outcome: str = "resolved",
) -> None:
    """An accepted case assigned to the town, answered (its reply notice served, which meets
    the handling time), judged and closed, all in time."""
    assignment = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "入户核实，协调补偿",
        "time_limit_days": 30,
    }
    await act(client, staff, case, "assign", assignment)
    await act(client, staff, case, "reply", {"text": "已答复"})
    notice = await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": "reply"}, headers=staff
    )
    assert notice.status_code == 201, notice.text
    # the receipt the petitioner signed (送达回证), scanned
    receipt = await client.post(
        f"/v1/cases/{case['id']}/materials",
        files={"file": ("送达回证.pdf", RECEIPT_PDF + case["id"].encode(), "application/pdf")},
        data={"kind": "receipt"},
        headers=staff,
    )
    assert receipt.status_code == 201, receipt.text
    service = {
        "method": "in_person",
        "served_at": datetime.now(UTC).isoformat(),
        "recipient": "信访人",
        "proof_material_id": receipt.json()["id"],
    }
    served = await client.post(
        f"/v1/notices/{notice.json()['id']}/service", json=service, headers=staff
    )
    assert served.status_code == 200, served.text
    await act(client, staff, case, "feedback", {"satisfied": satisfied})
    await act(client, staff, case, "close", {"outcome": outcome})


async def miss_now(
    app: FastAPI, client: httpx.AsyncClient, worker: dict[str, str], deadline_id: str
) -> None:
    """Move a deadline's due time a second into the past and let the worker's check flag it,
    and start its chain as the worker would.

    The tests share one database: deadlines other tests left past due are flagged in the same
    tick, and when they are more than `INLINE_ESCALATIONS` the chains go to the worker in
    chunks, which no worker runs here. Starting this deadline's chain is what that chunk would
    do, and nothing when it started inline (a chain starts once, whoever asks twice)."""
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == uuid.UUID(deadline_id))
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    await flag_due(client, worker)
    assert await status_of(app, deadline_id) == "missed"
    started = await client.post(
        "/v1/internal/escalations/start", json={"deadline_ids": [deadline_id]}, headers=worker
    )
    assert started.status_code == 200, started.text


async def flag_due(client: httpx.AsyncClient, worker: dict[str, str]) -> int:
    """The clock's tick as the worker runs it: have the API flag every deadline past due,
    batch after batch; returns how many it flagged."""
    total = 0
    while True:
        resp = await client.post("/v1/internal/deadlines/flag-due", headers=worker)
        assert resp.status_code == 200, resp.text
        total += int(resp.json()["flagged"])
        if not resp.json()["more"]:
            return total


async def status_of(app: FastAPI, deadline_id: str) -> str:
    """A deadline's status, read from the database."""
    async with app.state.desk.sessionmaker() as session:
        deadline = await session.get(Deadline, uuid.UUID(deadline_id))
        assert deadline is not None
        return str(deadline.status.value)


async def deadline_status(
    client: httpx.AsyncClient, headers: dict[str, str], deadline: dict[str, Any]
) -> str:
    """A case's deadline's status, as the caller reads it."""
    rows = (
        await client.get("/v1/deadlines", params={"case_id": deadline["case_id"]}, headers=headers)
    ).json()["items"]
    return str(next(d for d in rows if d["id"] == deadline["id"])["status"])


async def report_attempt(
    client: httpx.AsyncClient, worker: dict[str, str], alert_id: str, attempt: dict[str, Any]
) -> None:
    """The worker's report of one delivery attempt (a batch of one, as its reporter sends)."""
    body = {"attempts": [{**attempt, "alert_id": alert_id}]}
    resp = await client.post("/v1/internal/alerts/attempts", json=body, headers=worker)
    assert resp.status_code == 200 and resp.json()["recorded"] == 1, resp.text
