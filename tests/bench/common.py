"""What the benchmarks share: percentiles, waiting for a server, pinning and sampling processes,
and the running stack (embedded PostgreSQL/Redis, a fresh migrated database, the API under
uvicorn, the worker, the local SMS receiver) with a small territory registered through the API.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from shared.embedded import create_fresh_database, drop_database, start_services
from tests.conftest import migrate
from tests.processes import api_command, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".data" / "bench"
ADMIN_PASSWORD = "bench-admin-password"
STAFF_PASSWORD = "bench-staff-password"
# The API under uvicorn exactly as every benchmark runs it: one process, warnings only.
UVICORN_ARGS = ["--log-level", "warning", "--no-access-log"]

# Letters and visits as a town's petition office registers them (proportions of bench_dashboard).
CATEGORIES = [
    "land.acquisition",
    "urban.demolition",
    "labour.wages",
    "labour.social_security",
    "environment",
    "urban.planning",
    "public_security.law_enforcement",
    "education_health.education",
    "education_health.medical",
    "rural.subsidy",
]
TOPICS = ["征地补偿款未兑现", "拖欠农民工工资", "养老保险待遇", "污水排放扰民", "宅基地纠纷"]


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(values: Sequence[float], q: float) -> str:
    """A percentile in milliseconds, or a dash without samples."""
    return f"{pct(values, q) * 1000:.1f}" if values else "-"


def bare_sql(stmt: Any) -> tuple[str, list[Any]]:
    """A SQLAlchemy statement as asyncpg runs it: its SQL (`$1` …) and positional parameters,
    so a benchmark can time the app's own SQL bare beside the API."""
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), [compiled.params[name] for name in compiled.positiontup or []]


def asyncpg_url(database_url: str) -> str:
    """The SQLAlchemy URL of a database as asyncpg takes it."""
    return database_url.replace("postgresql+asyncpg", "postgresql")


def wait_listening(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until `url` answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the process exited during start-up")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (VmRSS of /proc/PID/status)."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A `preexec_fn` that pins the child to `cpus` before it starts any thread."""
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def cpu_plan(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """CPUs for the server under test and for the load generator: the first and the last core
    when there are at least two, else nothing pinned."""
    cores = sorted(os.sched_getaffinity(0))
    if not pin or len(cores) < 2:
        return None, None
    return {cores[0]}, {cores[-1]}


def log_problems(path: Path) -> int:
    """Lines of a log that report an error or a traceback."""
    if not path.exists():
        return 0
    text = path.read_text(errors="replace")
    return sum(1 for line in text.splitlines() if "ERROR" in line or "Traceback" in line)


@dataclass
class Territory:
    """A county > town > villages registered through the API, with officials in each unit, and
    the token of the town's petition staff who registers the cases."""

    county: str
    town: str
    villages: list[str]
    staff_token: str
    admin_token: str


@dataclass
class Stack:
    """The running processes of one benchmark and how to reach them."""

    base: str
    database_url: str
    env: dict[str, str]
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None = None
    receiver_url: str | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _spawn(
    argv: list[str], env: dict[str, str], log: str, cpus: set[int] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=(LOGS / log).open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=pinned(cpus),
    )


@contextmanager
def running_stack(
    name: str,
    *,
    worker: bool = True,
    receiver: bool = True,
    api_cpus: set[int] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Embedded services, a fresh migrated database `pd_<name>`, the local SMS receiver, the API
    (one uvicorn process, pinned to `api_cpus`) and the worker; all stopped and the database
    dropped afterwards. Logs go to .data/bench/<name>-*.log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    services = start_services(ROOT / ".data" / "bench")
    database_url = create_fresh_database(services.database_url, f"pd_{name}")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate(database_url)
        port = 18000 + random.randint(0, 999)
        env = (
            os.environ
            | {
                "DATABASE_URL": database_url,
                "REDIS_URL": services.redis_url,
                "API_URL": f"http://127.0.0.1:{port}",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123",
                "WORKER_TOKEN": "bench-worker-token",
                "PII_KEYS": Fernet.generate_key().decode(),
                "PII_HASH_KEY": "bench-pii-hash-key-0123456789abcdef0123",
                "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "ARQ_QUEUE": f"pd-bench:{uuid.uuid4().hex[:8]}",
                "LOG_LEVEL": "WARNING",
                "REQUESTS_PER_MINUTE": "100000000",
            }
            | (extra_env or {})
        )
        receiver_url = None
        if receiver:
            receiver_port = 19000 + random.randint(0, 999)
            receiver_url = f"http://127.0.0.1:{receiver_port}"
            rec = _spawn(
                [sys.executable, "-m", "tests.bench.receiver", "--port", str(receiver_port)],
                env,
                f"{name}-receiver.log",
            )
            procs.append(rec)
            wait_listening(receiver_url + "/received/count", rec)
            env["SMS_GATEWAY_URL"] = receiver_url + "/"
        api = _spawn(
            api_command(port, *UVICORN_ARGS),
            env,
            f"{name}-api.log",
            api_cpus,
        )
        procs.append(api)
        wait_ready(env["API_URL"], api, LOGS / f"{name}-api.log")
        stack = Stack(env["API_URL"], database_url, env, api, receiver_url=receiver_url)
        if worker:
            stack.worker = _spawn(
                [sys.executable, "-m", "arq", "worker.main.WorkerSettings"],
                env,
                f"{name}-worker.log",
            )
            procs.append(stack.worker)
        stack.procs = procs
        yield stack
    finally:
        for proc in reversed(procs):
            stop(proc)
        drop_database(database_url)
        services.stop()


def token(client: httpx.Client, username: str, password: str) -> str:
    """An access token for a user."""
    resp = client.post("/v1/auth/token", data={"username": username, "password": password})
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def make_territory(base: str, villages: int = 20, county: str | None = None) -> Territory:
    """A county (or, given `county`, a new town in that existing county), a town and `villages`
    villages under it through the API, with a chief in every unit, a deputy in the town and
    petition staff in the town and the county (whom escalations and summons reach), and the
    town staff's token."""
    with httpx.Client(base_url=base, timeout=30) as client:
        admin = token(client, "admin", ADMIN_PASSWORD)
        auth = {"Authorization": f"Bearer {admin}"}

        def unit(name: str, level: str, parent: str | None) -> str:
            body = {"name": name, "level": level, "parent_id": parent}
            resp = client.post("/v1/units", json=body, headers=auth)
            resp.raise_for_status()
            return str(resp.json()["id"])

        serial = iter(range(10000))

        def official(unit_id: str, role: str, username: str | None = None) -> None:
            n = next(serial)
            body: dict[str, Any] = {
                "name": f"{role}{n}",
                "phone": f"1390000{n:04d}",
                "unit_id": unit_id,
                "role": role,
            }
            if username:
                body |= {"username": username, "password": STAFF_PASSWORD}
            client.post("/v1/officials", json=body, headers=auth).raise_for_status()

        county = county or unit("基准县", "county", None)
        town = unit("基准镇", "town", county)
        official(county, "chief")
        official(county, "petition_staff")
        official(town, "chief")
        official(town, "deputy")
        official(town, "petition_staff", "bench-staff")
        village_ids = []
        for i in range(villages):
            village = unit(f"基准村{i + 1}", "village", town)
            official(village, "chief")
            village_ids.append(village)
        staff = token(client, "bench-staff", STAFF_PASSWORD)
    return Territory(county, town, village_ids, staff, admin)


def set_policy(base: str, admin_token: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Read the policy document, let `change` edit it, and put it back."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        policy = client.get("/v1/policies", headers=auth).json()["policy"]
        change(policy)
        client.put("/v1/policies", json=policy, headers=auth).raise_for_status()


def lift_alert_limits(policy: dict[str, Any]) -> None:
    """One SMS per alert: the benchmark's few officials get every case of a county, so the
    per-recipient bundling and the daily SMS cap would otherwise hide the worker's work."""
    policy["alerts"]["max_per_window"] = 1_000_000
    policy["alerts"]["sms_cap"] = 1_000_000


def case_body(rng: random.Random, territory: Territory, title: str) -> dict[str, Any]:
    """A varied registration: 70 % letters, 30 % visits from a village to the town (one in ten
    of them collective, 25 people, which summons the town's deputy too)."""
    village = rng.choice(territory.villages)
    petitioner = {"name": "张三", "phone": f"138{rng.randrange(10**8):08d}"}
    body: dict[str, Any] = {
        "origin_unit_id": village,
        "petitioners": [petitioner | {"is_representative": True}],
        "category": rng.choice(CATEGORIES),
        "title": title,
        "content": "群众反映的问题至今未解决，请求尽快处理。" * 4,
        "demands": "尽快解决",
    }
    if rng.random() < 0.7:
        return body | {"channel": "letter", "lodged_level": "town"}
    return body | {
        "channel": "visit",
        "lodged_unit_id": territory.town,
        "headcount": 25 if rng.random() < 0.1 else rng.randint(1, 4),
    }
