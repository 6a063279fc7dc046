"""PostgreSQL's own client programs (`pg_dump`, `pg_restore`) run against the database of a
SQLAlchemy URL: the connection options and environment of the URL, the program of the server's
version, and one run of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_PORT = "5432"
# Query options of a URL that libpq reads from its environment under these names.
_LIBPQ_ENV = {
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "sslmode": "PGSSLMODE",
    "ssl": "PGSSLMODE",  # asyncpg's name; its values are libpq's sslmode values
}


def _host_and_port(entry: str) -> tuple[str, str | None]:
    """`10.0.0.1:5432` → (`10.0.0.1`, `5432`); `[::1]:5432` → (`::1`, `5432`); a socket
    directory or a bare host has no port."""
    if entry.startswith("/"):
        return entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest.removeprefix(":") or None
    host, colon, port = entry.rpartition(":")
    if colon and port.isdigit():
        return host, port
    return entry, None


def libpq_of(database_url: str) -> tuple[list[str], dict[str, str]]:
    """The `pg_dump`/`pg_restore` connection options and environment of a SQLAlchemy URL.

    A host in the URL, or `?host=…` (a socket directory, with `?port=…`), or SQLAlchemy's
    multi-host form (`?host=a:5432&host=b:5432&target_session_attrs=read-write`) giving
    `--host a,b --port 5432,5432` and `PGTARGETSESSIONATTRS` in the environment."""
    url = make_url(database_url)
    options = ["--dbname", url.database or "postgres"]
    given = url.query.get("host") or url.host
    query_port = url.query.get("port")
    default_port = str(query_port if isinstance(query_port, str) else url.port or "") or None
    if isinstance(given, tuple):
        pairs = [_host_and_port(str(entry)) for entry in given]
        options += ["--host", ",".join(host for host, _ in pairs)]
        ports = [port or default_port or DEFAULT_PORT for _, port in pairs]
        options += ["--port", ",".join(ports)]
    elif given:
        host, port = _host_and_port(str(given))
        options += ["--host", host]
        if port or default_port:
            options += ["--port", str(port or default_port)]
    elif default_port:
        options += ["--port", default_port]
    if url.username:
        options += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    for option, variable in _LIBPQ_ENV.items():
        value = url.query.get(option)
        if isinstance(value, str) and value:
            env[variable] = value
    return options, env


def server_tool(name: str) -> str:
    """A client of the server's own version: the embedded server's, else `PG_BIN`, else the
    one on the PATH (pg_dump refuses a server newer than itself)."""
    found = os.environ.get("PG_BIN")
    if found:
        return str(Path(found) / name)
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        embedded = Path(POSTGRES_BIN_PATH) / name
        if embedded.exists():
            return str(embedded)
    except ImportError:
        pass
    on_path = shutil.which(name)
    if on_path is None:
        raise SystemExit(f"{name} not found: set PG_BIN to the server's bin directory")
    return on_path


def run_tool(command: list[str], env: dict[str, str]) -> str:
    """Run a client program to the end; its standard output (`CalledProcessError` on
    failure, with its standard error)."""
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
