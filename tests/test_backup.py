"""Backups (issue 25): `make backup` / `make restore`, the connection options of the server's
own pg_dump, and the claim the deploy README makes: PostgreSQL is the only state to back up,
since a restored database alone refills an empty Redis with every job still to run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import delete, insert, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.backup import BackupError, backup, forget_redis_jobs, restore
from api.escalations.misses import FLAG_BATCH
from api.kit.pgtools import libpq_of, run_tool, server_tool
from api.models.alert import Alert, AlertStatus
from api.models.deadline import Deadline, DeadlineStatus
from api.models.outbox import OutboxMessage
from api.sweeps.service import SWEPT_MARK
from shared import devrun
from shared.contracts import deliver_alert_job_id, flag_due_job_id, flag_due_tick
from shared.embedded import Services, create_fresh_database, drop_database
from shared.jobs import FLAG_DUE
from shared.settings import Settings
from tests.conftest import County, letter_body, visit_body

ARQ_JOB = "arq:job:"
# More deferred jobs than the relay hands out in one batch (500): the recovery must not stop
# at the first batch.
EXTRA_DEFERRED = 600
# A database number of the test Redis no other test uses: Redis as it comes back empty.
EMPTY_REDIS_DB = 9


@pytest.mark.parametrize(
    ("url", "options", "env"),
    [
        (  # the embedded server: a socket directory and a port in the query
            "postgresql+asyncpg://postgres@/postgres?host=/run/pg%20sock&port=5433",
            ["--dbname", "postgres", "--host", "/run/pg sock", "--port", "5433"],
            {},
        ),
        (
            "postgresql+asyncpg://desk:s3cret@db.example:6543/petition_desk",
            ["--dbname", "petition_desk", "--host", "db.example", "--port", "6543"],
            {"PGPASSWORD": "s3cret"},
        ),
        (
            "postgresql+asyncpg://desk@127.0.0.1/petition_desk",
            ["--dbname", "petition_desk", "--host", "127.0.0.1"],
            {},
        ),
        (  # SQLAlchemy's multi-host form: the primary of a cluster found by libpq
            "postgresql+asyncpg://desk@/petition_desk?host=10.0.0.1:5432&host=10.0.0.2:5432"
            "&target_session_attrs=read-write",
            ["--dbname", "petition_desk", "--host", "10.0.0.1,10.0.0.2", "--port", "5432,5432"],
            {"PGTARGETSESSIONATTRS": "read-write"},
        ),
        (  # a host without its port takes the URL's, else 5432
            "postgresql+asyncpg://desk:pw@/pd?host=a.example:6000&host=b.example&ssl=require",
            ["--dbname", "pd", "--host", "a.example,b.example", "--port", "6000,5432"],
            {"PGPASSWORD": "pw", "PGSSLMODE": "require"},
        ),
        (
            "postgresql+asyncpg://desk@/pd?host=[fd00::1]:5432&host=[fd00::2]:5433",
            ["--dbname", "pd", "--host", "fd00::1,fd00::2", "--port", "5432,5433"],
            {},
        ),
    ],
)
def test_pg_dump_is_given_the_url_s_hosts_ports_and_options(
    url: str, options: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PGPASSWORD", "PGTARGETSESSIONATTRS", "PGSSLMODE"):
        monkeypatch.delenv(name, raising=False)
    given, environ = libpq_of(url)
    user = ["--username", "postgres" if "postgres@" in url else "desk"]
    assert given == options + user
    for name in ("PGPASSWORD", "PGTARGETSESSIONATTRS", "PGSSLMODE"):
        assert environ.get(name) == env.get(name), name


def test_pg_dump_tries_each_host_of_a_multi_host_url(database_url: str) -> None:
    """libpq takes the lists as given: a first host that is not there, then the real server
    (a socket directory, the embedded one's, or its host), which must accept writes."""
    real = make_url(database_url)
    socket_dir = real.query.get("host")
    there = str(socket_dir) if socket_dir else f"{real.host}:{real.port or 5432}"
    port = real.query.get("port") or real.port or 5432
    url = real.set(
        host=None,
        port=None,
        query={
            "host": ("/nonexistent/socket/dir", there),
            "port": str(port),
            "target_session_attrs": "read-write",
        },
    ).render_as_string(hide_password=False)
    options, env = libpq_of(url)
    assert options[options.index("--host") + 1].startswith("/nonexistent/socket/dir,")
    assert env["PGTARGETSESSIONATTRS"] == "read-write"
    schema = run_tool([server_tool("pg_dump"), *options, "--schema-only", "-t", "units"], env)
    assert "CREATE TABLE public.units" in schema


@pytest.fixture
def empty_redis(services: Services) -> Iterator[str]:
    """The URL of an empty Redis database (flushed before and after)."""
    parts = urlsplit(services.redis_url)
    url = urlunsplit(parts._replace(path=f"/{EMPTY_REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def restored_database(services: Services) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    url = create_fresh_database(services.database_url, "pd_restored")
    yield url
    drop_database(url)


def _aof_dir(services: Services) -> Path | None:
    """The directory of the test Redis's append-only file, when it is on this machine."""
    client = redis.Redis.from_url(services.redis_url)
    try:
        where = Path(str(cast("dict[str, Any]", client.config_get("dir"))["dir"]))
    finally:
        client.close()
    found = [where / "appendonly.aof", where / "appendonlydir"]
    return where if any(p.exists() for p in found) else None


async def test_a_database_restored_alone_refills_an_empty_redis_in_one_sweep(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    settings: Settings,
    services: Services,
    database_url: str,
    worker_headers: dict[str, str],
    empty_redis: str,
    restored_database: str,
    tmp_path: Path,
) -> None:
    """Cases with deadlines still open (a deferred flag job each) and summonses no worker
    delivered (alerts pending) are backed up; the dump is restored into a new database, an app
    runs on it with an empty Redis, and one sweep: every open deadline's flag job is deferred
    in Redis again under its job id, every pending alert's delivery is queued, and so is every
    job the outbox holds deferred into the future."""
    staff = await county.headers(client, "town_staff")
    mine: set[str] = set()
    my_cases: list[uuid.UUID] = []
    for body in (visit_body(county.village2, county.town, 25), letter_body(county)):
        made = await client.post("/v1/cases", json=body, headers=staff)
        assert made.status_code == 201, made.text
        mine |= {d["id"] for d in made.json()["deadlines"]}
        my_cases.append(uuid.UUID(made.json()["id"]))
    now = datetime.now(UTC)
    # deferred jobs beyond one relay batch, recorded (and handed to Redis) a while ago
    extra = [
        {
            "id": uuid.uuid4(),
            "job": FLAG_DUE.name,
            "job_id": flag_due_job_id(now + timedelta(days=30, seconds=n)),
            "payload": {"args": [str(uuid.uuid4())]},
            "defer_until": flag_due_tick(now + timedelta(days=30, seconds=n)),
            "created_at": now - timedelta(hours=1),
            "dispatched_at": now - timedelta(hours=1),
        }
        for n in range(EXTRA_DEFERRED)
    ]
    async with app.state.desk.sessionmaker() as session:
        await session.execute(insert(OutboxMessage), extra)
        await session.commit()
    try:
        taken = await backup(
            database_url,
            tmp_path,
            redis_url=services.redis_url,
            redis_dir=_aof_dir(services),
        )
    finally:  # the other tests' database stays as it was
        async with app.state.desk.sessionmaker() as session:
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_([row["id"] for row in extra]))
            )
            await session.commit()

    manifest = json.loads((taken.directory / "manifest.json").read_text())
    assert manifest["alembic_revision"] and manifest["rows"]["cases"] >= 2
    assert "TABLE DATA public cases" in run_tool(
        [server_tool("pg_restore"), "--list", str(taken.directory / "database.dump")], {}
    )
    if _aof_dir(services) is not None:
        assert manifest["redis"] and (taken.directory / "redis" / manifest["redis"][0]).exists()

    counts = await restore(restored_database, taken.directory)
    assert counts == manifest["rows"]

    restored = create_app(
        settings.model_copy(
            update={
                "database_url": restored_database,
                "redis_url": empty_redis,
                "arq_queue": f"pd-restored:{uuid.uuid4().hex[:8]}",
            }
        )
    )
    async with restored.router.lifespan_context(restored):
        arq = restored.state.desk.arq
        queue = arq.default_queue_name
        assert not await arq.exists(SWEPT_MARK.format(queue=queue))
        transport = httpx.ASGITransport(app=restored)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            sweep_began = datetime.now(UTC)
            swept = await other.post("/v1/internal/sweep", headers=worker_headers)
        assert swept.status_code == 200, swept.text
        assert swept.json()["jobs_handed_out_again"] >= EXTRA_DEFERRED, swept.json()

        async with restored.state.desk.sessionmaker() as session:
            open_deadlines = (
                await session.execute(
                    select(Deadline.id, Deadline.due_at).where(
                        Deadline.status == DeadlineStatus.open
                    )
                )
            ).all()
            # one batch of those already past due is flagged by the sweep itself (the rest by
            # the next sweeps); the others wait for their flag job
            open_due = [d for d in open_deadlines if d.due_at > sweep_began]
            overdue = len(open_deadlines) - len(open_due)
            assert overdue == 0 or swept.json()["deadlines_missed"] == FLAG_BATCH
            # this test's own: other tests of this database move deadlines by SQL, past the
            # outbox (their checks were never jobs to rebuild)
            open_due = [d for d in open_due if str(d.id) in mine]
            pending = (
                (
                    await session.execute(
                        select(Alert.id).where(
                            Alert.status == AlertStatus.pending, Alert.case_id.in_(my_cases)
                        )
                    )
                )
                .scalars()
                .all()
            )
            deferred = (
                (
                    await session.execute(
                        select(OutboxMessage.job_id).where(
                            OutboxMessage.defer_until > datetime.now(UTC)
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert mine == {str(d.id) for d in open_due}, "the test's deadlines are open"
        assert len(pending) >= 2  # the visit's summonses, never delivered
        assert len(deferred) >= EXTRA_DEFERRED + len(open_due) // 2

        missing: dict[str, list[Any]] = {"deadlines": [], "alerts": [], "deferred jobs": []}
        for deadline_id, due_at in open_due:
            job_id = flag_due_job_id(due_at)
            if not (
                await arq.exists(ARQ_JOB + job_id) and await arq.zscore(queue, job_id) is not None
            ):
                missing["deadlines"].append(deadline_id)
        for alert_id in pending:
            if not await arq.exists(ARQ_JOB + deliver_alert_job_id(alert_id)):
                missing["alerts"].append(alert_id)
        for job_id in set(deferred):
            if await arq.zscore(queue, job_id) is None:
                missing["deferred jobs"].append(job_id)
        assert missing == {"deadlines": [], "alerts": [], "deferred jobs": []}
        # deferred, not due now: each flag job waits for its tick
        for _, due_at in open_due[:20]:
            score = await arq.zscore(queue, flag_due_job_id(due_at))
            assert score == int(flag_due_tick(due_at).timestamp() * 1000)


async def test_restore_refuses_a_database_that_has_tables_unless_clean(
    database_url: str, restored_database: str, tmp_path: Path
) -> None:
    """`make restore` into a database in use says so and changes nothing; with `CLEAN=1` the
    database becomes the backup's (the audit trail's partitions included)."""
    taken = await backup(database_url, tmp_path)
    with pytest.raises(BackupError, match=r"has [0-9]+ tables: restore into an empty one"):
        await restore(database_url, taken.directory)
    first = await restore(restored_database, taken.directory)
    assert await restore(restored_database, taken.directory, clean=True) == first
    assert first == taken.manifest["rows"] and first["units"] > 0


async def test_bad_input_writes_nothing(
    database_url: str, restored_database: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(BackupError, match="no append-only file of Redis"):
        await backup(database_url, out, redis_url="redis://x", redis_dir=tmp_path / "nowhere")
    with pytest.raises(BackupError, match="no secrets file"):
        await backup(database_url, out, secrets=tmp_path / "secrets.json")
    broken = database_url.replace("/pd_test", "/no_such_database_here")
    with pytest.raises(BackupError, match="the database: "):
        await backup(broken, out)
    assert not out.exists()
    with pytest.raises(BackupError, match="is not a backup"):
        await restore(restored_database, tmp_path)
    (tmp_path / "database.dump").write_bytes(b"not a dump")
    (tmp_path / "manifest.json").write_text('{"rows": {}}')
    with pytest.raises(BackupError, match="cannot be read"):
        await restore(restored_database, tmp_path)
    async with AsyncExitStack() as stack:
        engine = create_async_engine(restored_database, poolclass=NullPool)
        stack.push_async_callback(engine.dispose)
        async with engine.connect() as conn:
            tables = await conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
            assert tables.scalar_one() == 0


async def test_a_restore_makes_the_next_sweep_refill_redis(
    settings: Settings, empty_redis: str
) -> None:
    """Redis's jobs are not the restored database's: its sweep mark goes, so the next sweep
    hands out again everything the restored outbox holds."""
    restored = settings.model_copy(
        update={"redis_url": empty_redis, "arq_queue": "pd-restore-test"}
    )
    client = redis.Redis.from_url(empty_redis)
    mark = SWEPT_MARK.format(queue="pd-restore-test")
    client.set(mark, "2026-01-01T00:00:00+00:00")
    await forget_redis_jobs(restored)
    assert not client.exists(mark)
    client.close()
    with pytest.raises(BackupError, match="database restored, but Redis"):
        await forget_redis_jobs(restored.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))


def test_make_backup_takes_the_embedded_redis_and_secrets_and_restore_puts_secrets_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make backup` copies the embedded Redis's AOF and `.data/secrets.json`; not a Redis of
    REDIS_URL (its files are not here). `make restore` puts the backup's secrets in place
    when `.data` has none, and says so when it holds others."""
    data = tmp_path / "data"
    data.mkdir()
    (data / devrun.SECRETS_FILE).write_text('{"PII_KEYS": "mine"}')
    monkeypatch.delenv("REDIS_URL", raising=False)
    args = devrun.backup_arguments("backup", [], data)
    assert args[args.index("--redis-dir") + 1] == str(data / "redis")
    assert args[args.index("--secrets") + 1] == str(data / devrun.SECRETS_FILE)
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    assert "--redis-dir" not in devrun.backup_arguments("backup", [], data)
    assert devrun.backup_arguments("restore", ["x", "--clean"], data) == ["restore", "x", "--clean"]

    saved = tmp_path / "backup"
    saved.mkdir()
    (saved / devrun.SECRETS_FILE).write_text('{"PII_KEYS": "the backup\'s"}')
    devrun.restore_secrets(saved, data)
    assert "differs from the backup's" in capsys.readouterr().out
    assert (data / devrun.SECRETS_FILE).read_text() == '{"PII_KEYS": "mine"}'
    (data / devrun.SECRETS_FILE).unlink()
    devrun.restore_secrets(saved, data)
    assert (data / devrun.SECRETS_FILE).read_text() == '{"PII_KEYS": "the backup\'s"}'
    assert (data / devrun.SECRETS_FILE).stat().st_mode & 0o777 == 0o600
