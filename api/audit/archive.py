"""Archive old months of the audit trail: `python -m api.audit.archive --before 2026-01`
(`make archive-audit BEFORE=2026-01`).

Each month's partition before the one named is detached from the trail, written with the
PostgreSQL server's own `pg_dump` (custom format, one file a month, checked with `pg_restore
--list`), and only then dropped (`--keep` leaves the detached table in the database). The trail
stays append-only: rows are never deleted, a month leaves whole, and what left is in a file.
Restore a month with `pg_restore -d … audit_entries_2026_01.dump`: it comes back as its own
table, to read beside the trail or to attach again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from api.kit.pgtools import libpq_of, run_tool, server_tool
from shared.settings import get_settings


@dataclass(frozen=True)
class Archived:
    """A month written out."""

    table: str
    rows: int
    file: Path
    dropped: bool


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def months_before(conn: asyncpg.Connection, before: date) -> list[str]:
    """The trail's partitions of months before `before`, oldest first."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = 'audit_entries' AND c.relname ~ '^audit_entries_[0-9]{4}_[0-9]{2}$' "
        "ORDER BY c.relname"
    )
    cut = f"audit_entries_{before:%Y_%m}"
    return [r["relname"] for r in rows if r["relname"] < cut]


async def archive(database_url: str, before: date, out: Path, *, drop: bool) -> list[Archived]:
    """Detach, dump, check and (with `drop`) drop every month of the trail before `before`
    (`out` exists)."""
    options, env = libpq_of(database_url)
    done: list[Archived] = []
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        for table in await months_before(conn, before):
            rows = int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))
            await conn.execute(f'ALTER TABLE audit_entries DETACH PARTITION "{table}"')
            file = out / f"{table}.dump"
            dump = [server_tool("pg_dump"), *options, "--format=custom", "--table", table]
            await asyncio.to_thread(run_tool, [*dump, "--file", str(file)], env)
            listed = await asyncio.to_thread(
                run_tool, [server_tool("pg_restore"), "--list", str(file)], env
            )
            if f"TABLE DATA public {table}" not in listed:
                raise SystemExit(f"{file} does not hold the rows of {table}; {table} is kept")
            if drop:
                await conn.execute(f'DROP TABLE "{table}"')
            done.append(Archived(table, rows, file, drop))
    finally:
        await conn.close()
    return done


def main() -> None:
    """Archive the months before `--before` (YYYY-MM)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before",
        default=os.environ.get("AUDIT_ARCHIVE_BEFORE") or None,
        help="first month kept, YYYY-MM (default: $AUDIT_ARCHIVE_BEFORE)",
    )
    parser.add_argument("--out", default=".data/archive", help="where the month files go")
    parser.add_argument("--keep", action="store_true", help="detach and dump, do not drop")
    args = parser.parse_args()
    if not args.before:
        sys.exit("name the first month to keep: --before YYYY-MM (make archive-audit BEFORE=…)")
    try:
        before = date.fromisoformat(f"{args.before}-01")
    except ValueError:
        sys.exit(f"--before takes a month, YYYY-MM, not {args.before!r}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = asyncio.run(archive(get_settings().database_url, before, out, drop=not args.keep))
    for item in done:
        state = "dropped" if item.dropped else "detached, kept"
        print(f"{item.table}: {item.rows} rows → {item.file} ({state})")
    if not done:
        print(f"no month of the audit trail before {args.before}")


if __name__ == "__main__":
    main()
