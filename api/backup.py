"""Back up and restore the install: `python -m api.backup backup` (`make backup`) and
`python -m api.backup restore DIR` (`make restore FROM=DIR`).

`backup` writes `<out>/<UTC time>/` (default out: `.data/backups`):

* `database.dump`: `pg_dump --format=custom` of DATABASE_URL, made with the server's own
  pg_dump and checked with `pg_restore --list`;
* `manifest.json`: when, the Alembic revision, and the rows of a few tables, all read in the
  transaction whose snapshot pg_dump dumps;
* with `--redis-dir` (the embedded Redis's directory, `.data/redis`): `redis/`, Redis's
  append-only file(s) copied once a `BGREWRITEAOF` asked for now has finished;
* with `--secrets` (the embedded default's `.data/secrets.json`): a copy of it (mode 0600), as
  petitioners' numbers cannot be read back without the keys they were sealed under.

`restore` puts `database.dump` into DATABASE_URL with the server's own `pg_restore
--no-owner --exit-on-error --single-transaction`: into an empty database only, unless
`--clean` (the schema `public` dropped and the dump restored in one transaction, with `psql`).
It then checks the counted rows against the manifest and removes the sweep's mark from Redis,
so that the next sweep hands out again every job the restored outbox holds: PostgreSQL alone
is enough, Redis holds only jobs the outbox rebuilds (`api.sweeps.service`, proven by
`tests/test_backup.py`). To put Redis's own files back too (not needed), stop Redis, copy
`redis/`'s files into its directory, and start it again before the API runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import redis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from api.kit.pgtools import libpq_of, run_tool, server_tool
from api.sweeps.service import SWEPT_MARK
from shared.redis_connect import api_pool
from shared.settings import Settings, get_settings

DUMP = "database.dump"
MANIFEST = "manifest.json"
REDIS = "redis"
SECRETS = "secrets.json"
# Rows counted into the manifest and checked after a restore: the territory, the casework,
# and what the sweep rebuilds Redis from.
COUNTED = ("units", "officials", "cases", "deadlines", "alerts", "outbox_messages")
AOF_REWRITE_TIMEOUT = 300.0


class BackupError(Exception):
    """Why a backup or a restore was refused or failed: one line for the operator."""


@dataclass(frozen=True)
class Backup:
    """A backup written."""

    directory: Path
    manifest: dict[str, Any]


@contextlib.asynccontextmanager
async def _connected(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            yield conn
    except (OSError, SQLAlchemyError) as exc:
        raise BackupError(f"the database: {_first_line(exc)}") from exc
    finally:
        await engine.dispose()


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def _counts(conn: AsyncConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in COUNTED:
        if (await conn.execute(text("SELECT to_regclass(:t)"), {"t": table})).scalar() is None:
            continue
        counts[table] = int(
            (await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()
        )
    return counts


async def _revision(conn: AsyncConnection) -> str | None:
    if (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is None:
        return None
    found = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return None if found is None else str(found)


def _aof_files(redis_dir: Path) -> list[Path]:
    """Redis's append-only file(s) in its directory: `appendonly.aof` (Redis < 7) or the
    `appendonlydir/` of a multi-part AOF (Redis 7)."""
    return [p for p in (redis_dir / "appendonly.aof", redis_dir / "appendonlydir") if p.exists()]


def _rewrite_aof(redis_url: str, redis_dir: Path) -> None:
    """Have Redis rewrite its append-only file now and wait until it has (so the copy starts
    from a whole, compact file)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        with contextlib.suppress(redis.ResponseError):  # CONFIG may be renamed away
            where = cast("dict[str, Any]", client.config_get("dir")).get("dir")
            if where and Path(where).resolve() != redis_dir.resolve():
                raise BackupError(
                    f"the Redis at {redis_url} keeps its files in {where}, not {redis_dir}"
                )
        deadline = time.monotonic() + AOF_REWRITE_TIMEOUT

        def rewriting() -> bool:
            info = cast("dict[str, Any]", client.info("persistence"))
            if not info.get("aof_enabled"):
                raise BackupError(f"the Redis at {redis_url} keeps no append-only file")
            return bool(info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled"))

        while rewriting():  # someone else's rewrite first: a second one is refused meanwhile
            if time.monotonic() > deadline:
                raise BackupError("Redis's append-only file rewrite did not finish in time")
            time.sleep(0.1)
        client.execute_command("BGREWRITEAOF")  # type: ignore[no-untyped-call]
        while rewriting():
            if time.monotonic() > deadline:
                raise BackupError("Redis's append-only file rewrite did not finish in time")
            time.sleep(0.1)
        done = cast("dict[str, Any]", client.info("persistence"))
        if done.get("aof_last_bgrewrite_status") != "ok":
            raise BackupError("Redis could not rewrite its append-only file; see its log")
    except redis.RedisError as exc:
        raise BackupError(f"cannot reach Redis at {redis_url}: {_first_line(exc)}") from exc
    finally:
        client.close()


def _copy_aof(redis_dir: Path, into: Path) -> list[str]:
    into.mkdir()
    copied = []
    for source in _aof_files(redis_dir):
        if source.is_dir():
            shutil.copytree(source, into / source.name)
        else:
            shutil.copy2(source, into / source.name)
        copied.append(source.name)
    return copied


def _refuse_bad_input(redis_url: str | None, redis_dir: Path | None, secrets: Path | None) -> None:
    if redis_dir is not None:
        if redis_url is None:
            raise BackupError("copying Redis's append-only file needs the Redis URL too")
        if not _aof_files(redis_dir):
            raise BackupError(f"no append-only file of Redis in {redis_dir}")
    if secrets is not None and not secrets.is_file():
        raise BackupError(f"no secrets file {secrets}")


def _finish(directory: Path, manifest: dict[str, Any], secrets: Path | None) -> None:
    """The secrets copied (mode 0600), then the manifest: written last, it marks a whole
    backup."""
    if secrets is not None:
        shutil.copy2(secrets, directory / SECRETS)
        (directory / SECRETS).chmod(0o600)
        manifest["secrets"] = SECRETS
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _new_directory(out: Path, now: datetime) -> Path:
    directory = out / now.strftime("%Y%m%dT%H%M%SZ")
    try:
        out.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)  # petitioners' data, and perhaps the keys to it
    except FileExistsError:
        raise BackupError(f"{directory} exists already") from None
    except OSError as exc:
        raise BackupError(f"cannot write {directory}: {exc.strerror}") from None
    return directory


async def backup(
    database_url: str,
    out: Path,
    *,
    redis_url: str | None = None,
    redis_dir: Path | None = None,
    secrets: Path | None = None,
) -> Backup:
    """Write a backup directory under `out` (see the module's docstring); nothing is left
    behind when it fails."""
    _refuse_bad_input(redis_url, redis_dir, secrets)
    now = datetime.now(UTC)
    options, env = libpq_of(database_url)
    pg_dump, pg_restore = server_tool("pg_dump"), server_tool("pg_restore")
    async with _connected(database_url) as conn:
        # One snapshot for the manifest and the dump: the counts are the dump's.
        repeatable = await conn.execution_options(isolation_level="REPEATABLE READ")
        snapshot = str((await repeatable.execute(text("SELECT pg_export_snapshot()"))).scalar_one())
        manifest: dict[str, Any] = {
            "taken_at": now.isoformat(),
            "alembic_revision": await _revision(repeatable),
            "rows": await _counts(repeatable),
        }
        directory = _new_directory(out, now)
        try:
            dump = directory / DUMP
            command = [pg_dump, *options, "--format=custom", "--snapshot", snapshot]
            await asyncio.to_thread(run_tool, [*command, "--file", str(dump)], env)
            listed = await asyncio.to_thread(run_tool, [pg_restore, "--list", str(dump)], env)
            for table in manifest["rows"]:
                if f"TABLE DATA public {table} " not in listed:
                    raise BackupError(f"{dump} does not hold the rows of {table}")
            await conn.rollback()
            if redis_dir is not None and redis_url is not None:
                await asyncio.to_thread(_rewrite_aof, redis_url, redis_dir)
                manifest["redis"] = await asyncio.to_thread(_copy_aof, redis_dir, directory / REDIS)
            _finish(directory, manifest, secrets)
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise BackupError(f"{Path(exc.cmd[0]).name} failed: {_tool_error(exc)}") from exc
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
    return Backup(directory, manifest)


def _tool_error(exc: subprocess.CalledProcessError) -> str:
    lines = [line for line in (exc.stderr or "").splitlines() if line.strip()]
    return lines[0] if lines else f"exit code {exc.returncode}"


def read_backup(directory: Path) -> dict[str, Any]:
    """The manifest of a backup directory, after checking it holds a readable dump."""
    if not (directory / MANIFEST).is_file() or not (directory / DUMP).is_file():
        raise BackupError(f"{directory} is not a backup: no {MANIFEST} and {DUMP} in it")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except ValueError:
        raise BackupError(f"{directory / MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("rows"), dict):
        raise BackupError(f"{directory / MANIFEST} is not a backup's manifest")
    try:
        run_tool([server_tool("pg_restore"), "--list", str(directory / DUMP)], dict(os.environ))
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{directory / DUMP} cannot be read: {_tool_error(exc)}") from exc
    return manifest


def _replace_schema(dump: Path, options: list[str], env: dict[str, str]) -> None:
    """Drop the schema and restore the dump into it, in one transaction (`pg_restore --clean`
    cannot: it drops a partition's index before the partitioned table's index that owns it)."""
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "restore.sql"
        run_tool([server_tool("pg_restore"), "--no-owner", "--file", str(script), str(dump)], env)
        psql = [server_tool("psql"), *options, "--no-psqlrc", "--quiet", "--single-transaction"]
        psql += ["--set", "ON_ERROR_STOP=1", "--command", "DROP SCHEMA public CASCADE"]
        psql += ["--command", "CREATE SCHEMA public", "--file", str(script)]
        run_tool(psql, env)


async def restore(database_url: str, directory: Path, *, clean: bool = False) -> dict[str, int]:
    """Restore a backup directory's database into `database_url` (empty, unless `clean`);
    returns the rows counted, which match the manifest's."""
    manifest = await asyncio.to_thread(read_backup, directory)
    async with _connected(database_url) as conn:
        tables = int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_tables "
                        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                    )
                )
            ).scalar_one()
        )
        await conn.rollback()
    if tables and not clean:
        raise BackupError(
            f"the database has {tables} tables: restore into an empty one, or with --clean"
        )
    options, env = libpq_of(database_url)
    try:
        if clean:
            await asyncio.to_thread(_replace_schema, directory / DUMP, options, env)
        else:
            command = [server_tool("pg_restore"), *options, "--no-owner", "--exit-on-error"]
            command += ["--single-transaction"]  # a restore that fails leaves nothing behind
            await asyncio.to_thread(run_tool, [*command, str(directory / DUMP)], env)
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"restore failed, nothing changed: {_tool_error(exc)}") from exc
    async with _connected(database_url) as conn:
        counts = await _counts(conn)
    expected = {str(k): int(v) for k, v in manifest["rows"].items()}
    if counts != expected:
        raise BackupError(f"restored rows {counts} differ from the backup's {expected}")
    return counts


async def forget_redis_jobs(settings: Settings) -> None:
    """Have the next sweep treat Redis as having lost every job (its recovery hands out again
    what the restored outbox holds): Redis's jobs are not the restored database's. Redis is
    reached as the API reaches it (`REDIS_URL`, or the master its Sentinels name)."""
    mark = SWEPT_MARK.format(queue=settings.arq_queue)
    client = Redis(connection_pool=api_pool(settings))
    try:
        await client.delete(mark)
    except RedisError as exc:
        raise BackupError(
            f"database restored, but Redis was not reached ({_first_line(exc)}): "
            f"delete its key {mark!r} before the API's next sweep"
        ) from exc
    finally:
        await client.aclose(close_connection_pool=True)


def main(argv: list[str] | None = None) -> None:
    """`backup` or `restore DIR` against DATABASE_URL."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    taking = commands.add_parser("backup", help="write a backup directory")
    taking.add_argument("--out", default=".data/backups", help="where backup directories go")
    taking.add_argument("--redis-dir", help="the directory of Redis's append-only file, to copy")
    taking.add_argument("--secrets", help="a secrets file to copy along (make run's)")
    putting = commands.add_parser("restore", help="restore a backup directory's database")
    putting.add_argument("directory", help="a directory `backup` wrote")
    putting.add_argument("--clean", action="store_true", help="drop what the dump holds first")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "backup":
            done = asyncio.run(
                backup(
                    settings.database_url,
                    Path(args.out),
                    redis_url=settings.redis_url if args.redis_dir else None,
                    redis_dir=Path(args.redis_dir) if args.redis_dir else None,
                    secrets=Path(args.secrets) if args.secrets else None,
                )
            )
            rows = ", ".join(f"{k} {v}" for k, v in done.manifest["rows"].items())
            print(
                f"backup → {done.directory} (revision {done.manifest['alembic_revision']}; {rows})"
            )
        else:
            directory = Path(args.directory)
            counts = asyncio.run(restore(settings.database_url, directory, clean=args.clean))
            asyncio.run(forget_redis_jobs(settings))
            rows = ", ".join(f"{k} {v}" for k, v in counts.items())
            print(f"restored {directory} ({rows}); Redis's jobs come back with the next sweep")
    except BackupError as exc:
        sys.exit(f"{args.command}: {exc}")


if __name__ == "__main__":
    main()
