"""`make run`: the whole service on one machine, with nothing installed but Python.

    python -m shared.devrun              # migrate, then run the API and the worker
    python -m shared.devrun migrate      # only `alembic upgrade head`
    python -m shared.devrun rotate-pii   # only `python -m api.privacy rotate`
    python -m shared.devrun archive-audit  # `python -m api.audit.archive` ($AUDIT_ARCHIVE_BEFORE)
    python -m shared.devrun reindex-search   # only `python -m api.search reindex`
    python -m shared.devrun demo         # migrate, then load the demo county (`python -m api.demo`)
    python -m shared.devrun backup       # `python -m api.backup backup` into .data/backups
    python -m shared.devrun restore DIR [--clean]   # `python -m api.backup restore DIR`

PostgreSQL and Redis come from `DATABASE_URL` / `REDIS_URL` when set, else they run embedded
with their data in ``.data/`` (see `shared.embedded`).  `JWT_SECRET`, `WORKER_TOKEN`,
`ADMIN_PASSWORD`, `PII_KEYS` and `PII_HASH_KEY` come from the environment when set, else from
``.data/secrets.json`` (generated on the first run, mode 0600), so tokens, the printed admin
password and the encrypted petitioners' numbers stay valid across restarts.  Values in
``.env`` count as set in the environment.  `PORT` (default 8000) is the API's port, and
`PUBLIC_BASE_URL` (the base of the links in SMS) follows it unless set.

`backup` and `restore` do not migrate: a backup is of the database as it is, and a restore
goes into an empty database (`make run` migrates it afterwards).  With the embedded Redis, a
backup copies its append-only file too, and with ``.data/secrets.json`` that file (the keys of
petitioners' numbers); a restore puts the backup's secrets file in place when ``.data`` has
none.

Ctrl-C (or SIGTERM) stops the API, the worker and the embedded servers; if the API or the
worker dies by itself, the rest is stopped too and the exit status is non-zero.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from cryptography.fernet import Fernet
from dotenv import dotenv_values

from shared.embedded import Services, start_services

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
SECRETS_FILE = "secrets.json"
ADMIN_USER = "admin"
HEALTH_TIMEOUT = 30.0
# The worker finishes the jobs it holds on SIGTERM (arq's job_completion_wait: the job timeout
# + 1 s, 21 s by default); a send cut off sooner would go out again on the next start.
STOP_GRACE = 25.0

_SECRET_FACTORIES: dict[str, Callable[[], str]] = {
    "JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "WORKER_TOKEN": lambda: secrets.token_urlsafe(32),
    "ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
    "PII_KEYS": lambda: Fernet.generate_key().decode(),
    "PII_HASH_KEY": lambda: secrets.token_urlsafe(48),
}


class _Terminate(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM."""


def _say(message: str) -> None:
    print(f"[devrun] {message}", flush=True)


def _fail(message: str) -> None:
    print(f"[devrun] ERROR: {message}", file=sys.stderr, flush=True)


def load_dotenv(path: Path) -> None:
    """Copy the variables of `path` (a ``.env`` file) into `os.environ` where not already set."""
    if not path.is_file():
        return
    for key, value in dotenv_values(path).items():
        if value is not None and key not in os.environ:
            os.environ[key] = value


def load_secrets(data_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """JWT_SECRET, WORKER_TOKEN, ADMIN_PASSWORD, PII_KEYS and PII_HASH_KEY: from `environ`, else
    `data_dir`/secrets.json.

    Missing ones are generated and saved (file mode 0600) so that the next run reuses them.
    """
    path = data_dir / SECRETS_FILE
    stored: dict[str, str] = {}
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
        except ValueError as exc:
            raise SystemExit(
                f"[devrun] ERROR: {path} is not valid JSON ({exc}); fix or delete it"
            ) from None
        if isinstance(raw, dict):
            stored = {str(k): str(v) for k, v in raw.items() if isinstance(v, str) and v}
    result: dict[str, str] = {}
    changed = False
    for name, factory in _SECRET_FACTORIES.items():
        if environ.get(name):
            result[name] = environ[name]
            continue
        if name not in stored:
            stored[name] = factory()
            changed = True
        result[name] = stored[name]
    if changed:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    if path.exists():
        path.chmod(0o600)
    return result


def child_environment(
    services: Services, secret_values: Mapping[str, str], port: int
) -> dict[str, str]:
    """The environment of alembic, the API and the worker."""
    env = dict(os.environ)
    env.update(secret_values)
    env.update(
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        API_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    # The acknowledgement links in SMS follow the port, unless the links must name another
    # address (a phone on the LAN reaching this machine): then PUBLIC_BASE_URL is set.
    if not env.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


def _port() -> int:
    raw = os.environ.get("PORT", "8000")
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"[devrun] ERROR: PORT={raw!r} is not a number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"[devrun] ERROR: PORT={port} is out of range")
    return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_migrations(env: Mapping[str, str]) -> bool:
    """`alembic upgrade head` in the repository root; False (after saying why) on failure."""
    if not (ROOT / "alembic.ini").is_file():
        _fail(f"no alembic.ini in {ROOT}: cannot run migrations")
        return False
    _say("migrating the database: alembic upgrade head")
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=dict(env)
    )
    if result.returncode != 0:
        _fail(
            f"migrations failed (alembic exited with {result.returncode}); see its output above."
            " Nothing was started."
        )
        return False
    return True


def _spawn(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    # Own session: a terminal Ctrl-C reaches devrun only, which then stops everything in order
    # (and can signal the child's whole process group).
    return subprocess.Popen(
        list(args), cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, start_new_session=True
    )


def stop_children(children: Mapping[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child's process group, then SIGKILL what is left after `STOP_GRACE` s."""
    for proc in children.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for name, proc in children.items():
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop within {STOP_GRACE:.0f}s: killing it")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _dead_child(children: Mapping[str, subprocess.Popen[bytes]]) -> tuple[str, int] | None:
    for name, proc in children.items():
        code = proc.poll()
        if code is not None:
            return name, code
    return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminate(signum)


def _on_signal_while_stopping(signum: int, frame: FrameType | None) -> None:
    _say("still stopping, please wait")


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def run() -> int:
    """Migrate, start the API and the worker, wait for Ctrl-C or a death; stop everything."""
    port = _port()
    if not _port_free(port):
        _fail(f"port {port} on 127.0.0.1 is in use; choose another with PORT=...")
        return 1
    api_url = f"http://127.0.0.1:{port}"
    services: Services | None = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    status = 0
    try:
        _say("starting PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set)")
        services = start_services(DATA_DIR)
        secret_values = load_secrets(DATA_DIR, os.environ)
        env = child_environment(services, secret_values, port)
        if not run_migrations(env):
            return 1
        py = sys.executable
        uvicorn = [py, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)]
        children["api"] = _spawn(uvicorn, env)
        children["worker"] = _spawn([py, "-m", "arq", "worker.main.WorkerSettings"], env)

        deadline = time.monotonic() + HEALTH_TIMEOUT
        while not _healthy(f"{api_url}/healthz"):
            dead = _dead_child(children)
            if dead is not None:
                _fail(f"the {dead[0]} exited during start-up ({_describe_exit(dead[1])})")
                return 1
            if time.monotonic() > deadline:
                _fail(f"{api_url}/healthz did not answer 200 within {HEALTH_TIMEOUT:.0f}s")
                return 1
            time.sleep(0.2)

        print(
            "\n"
            "  Petition Desk is running\n"
            f"    API:       {api_url}\n"
            f"    API docs:  {api_url}/docs\n"
            f"    SMS links: {env['PUBLIC_BASE_URL']}/a/…\n"
            f"    Log in:    user {ADMIN_USER!r}, password {secret_values['ADMIN_PASSWORD']!r}\n"
            "  Ctrl-C stops everything\n",
            flush=True,
        )
        while True:
            dead = _dead_child(children)
            if dead is not None:
                _fail(f"the {dead[0]} died by itself ({_describe_exit(dead[1])}); stopping")
                status = dead[1] if dead[1] > 0 else 1
                break
            time.sleep(0.25)
    except (_Terminate, KeyboardInterrupt):
        _say("stopping")
    finally:
        signal.signal(signal.SIGINT, _on_signal_while_stopping)
        signal.signal(signal.SIGTERM, _on_signal_while_stopping)
        stop_children(children)
        if services is not None:
            services.stop()
        _say("stopped")
    return status


# The commands that run after the migrations against the same database: what each says, runs
# and is called when it fails.
AFTER_MIGRATING = {
    "rotate-pii": (
        "re-encrypting petitioners' numbers: python -m api.privacy rotate",
        ["api.privacy", "rotate"],
        "rotation",
    ),
    "reindex-search": (
        "recomputing the cases' search tokens: python -m api.search reindex",
        ["api.search", "reindex"],
        "reindexing",
    ),
    "archive-audit": (
        "archiving old months of the audit trail: python -m api.audit.archive",
        ["api.audit.archive"],
        "archiving",
    ),
    "demo": (
        "loading the demo county (a year of its petition work, about a minute): python -m api.demo",
        ["api.demo"],
        "the demo load",
    ),
}


def after_migrating(env: Mapping[str, str], command: str) -> bool:
    """One of `AFTER_MIGRATING` (e.g. `python -m api.privacy rotate`, re-encrypt petitioners'
    numbers under the newest key); False on failure."""
    said, module, what = AFTER_MIGRATING[command]
    _say(said)
    result = subprocess.run([sys.executable, "-m", *module], cwd=ROOT, env=dict(env))
    if result.returncode != 0:
        _fail(f"{what} failed (exit code {result.returncode}); see its output above")
        return False
    return True


def _with_services(command: Callable[[Services], int]) -> int:
    """Run a one-off `command` against the database and Redis `run` uses (embedded, unless
    DATABASE_URL/REDIS_URL), stopping them afterwards; its exit status, 130 if interrupted."""
    services: Services | None = None
    try:
        services = start_services(DATA_DIR)
        return command(services)
    except (_Terminate, KeyboardInterrupt):
        _say("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGINT, _on_signal_while_stopping)
        signal.signal(signal.SIGTERM, _on_signal_while_stopping)
        if services is not None:
            services.stop()


def migrate(*, then: str | None = None) -> int:
    """`alembic upgrade head` against the same database `run` uses, then the command `then`
    of `AFTER_MIGRATING` if given; the exit status."""

    def migrating(services: Services) -> int:
        secret_values = load_secrets(DATA_DIR, os.environ)
        env = child_environment(services, secret_values, _port())
        done = run_migrations(env) and (then is None or after_migrating(env, then))
        if done and then == "demo":
            password = secret_values["ADMIN_PASSWORD"]
            print(
                "\n"
                "  The demo county is in the database `make run` uses.\n"
                "    Start it:  make run, then open /dashboard\n"
                f"    Log in:    user {ADMIN_USER!r}, password {password!r}\n",
                flush=True,
            )
        return 0 if done else 1

    return _with_services(migrating)


def backup_arguments(command: str, args: Sequence[str], data_dir: Path) -> list[str]:
    """The arguments of `python -m api.backup` for ``backup`` or ``restore DIR [--clean]``:
    the embedded Redis's directory and the secrets file when they are ``make run``'s."""
    if command == "restore":
        return ["restore", *args]
    found = ["backup", "--out", str(data_dir / "backups")]
    if not os.environ.get("REDIS_URL", "").strip():
        found += ["--redis-dir", str(data_dir / "redis")]
    if (data_dir / SECRETS_FILE).is_file():
        found += ["--secrets", str(data_dir / SECRETS_FILE)]
    return found


def restore_secrets(backup: Path, data_dir: Path) -> None:
    """Put a backup's secrets file in `data_dir` when it has none (before `load_secrets`
    would make new ones the restored petitioners' numbers cannot be read with); say so when
    `data_dir` holds other secrets."""
    saved = backup / SECRETS_FILE
    if not saved.is_file():
        return
    mine = data_dir / SECRETS_FILE
    if not mine.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(saved, mine)
        mine.chmod(0o600)
        _say(f"secrets restored from {saved}")
    elif mine.read_bytes() != saved.read_bytes():
        _say(
            f"{mine} differs from the backup's {saved}: the restored petitioners' numbers need"
            " the backup's PII_KEYS (move that file into place to use them)"
        )


def backup_or_restore(command: str, args: Sequence[str]) -> int:
    """``backup`` or ``restore DIR [--clean]`` (`python -m api.backup`) against the database
    and Redis `run` uses, without migrating; the exit status."""
    if command == "restore":
        if len(args) not in (1, 2) or args[1:] not in ([], ["--clean"]):
            _fail("name the backup to restore: make restore FROM=.data/backups/<time>")
            return 2
        if not Path(args[0]).is_dir():
            _fail(f"no backup directory {args[0]}")
            return 2
    elif args:
        print(__doc__, file=sys.stderr)
        return 2

    def taking_or_restoring(services: Services) -> int:
        if command == "restore":
            restore_secrets(Path(args[0]), DATA_DIR)
        env = child_environment(services, load_secrets(DATA_DIR, os.environ), _port())
        module = ["api.backup", *backup_arguments(command, args, DATA_DIR)]
        _say(f"{command}: python -m {' '.join(module)}")
        result = subprocess.run([sys.executable, "-m", *module], cwd=ROOT, env=env)
        return result.returncode

    return _with_services(taking_or_restoring)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``run`` (default), ``migrate``, ``rotate-pii``, ``reindex-search``,
    ``archive-audit``, ``demo``, ``backup`` or ``restore DIR [--clean]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "run"
    if command in ("backup", "restore"):
        os.chdir(ROOT)
        load_dotenv(ROOT / ".env")
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        return backup_or_restore(command, args[1:])
    if command not in ("run", "migrate", *AFTER_MIGRATING) or len(args) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)
    load_dotenv(ROOT / ".env")
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if command == "run":
        return run()
    return migrate(then=command if command in AFTER_MIGRATING else None)


if __name__ == "__main__":
    sys.exit(main())
