"""`make test-fuzz`: schemathesis against the committed `openapi.yaml` and the running API.

    python -m tests.fuzz [--max-examples N] [--seed N] [-- extra `st run` options]

Starts PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL are set), a fresh
database, the API as a uvicorn process, and a small county with officials so that ids found in
lists lead somewhere. Then runs every schemathesis check over all four phases (examples,
coverage, fuzzing, stateful) as the county's admin; the worker's routes get the worker's token
(`tests/fuzz/schemathesis.toml`). Exits with schemathesis's status: non-zero on any server
error, any answer the contract does not describe, or any bad input accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from shared.embedded import create_fresh_database, drop_database, start_services
from tests.conftest import login, make_county, migrate, visit_body
from tests.processes import api_command, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
ADMIN_PASSWORD = "fuzz-admin-password"
WORKER_TOKEN = "fuzz-worker-token-0123456789"
METRICS_TOKEN = "fuzz-metrics-token-0123456789"


@dataclass
class Fixtures:
    """What the run starts from: the admin's token and the ids of real objects."""

    token: str
    office_token: str  # a higher office's system: the only caller of /v1/transfers
    units: list[str]
    officials: list[str]
    cases: list[str]


async def prepare(api_url: str) -> Fixtures:
    """A county with officials and a few cases (a letter, a visit, a collective visit)."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        admin = await login(client, "admin", ADMIN_PASSWORD)
        county = await make_county(client, admin)
        staff = await county.headers(client, "town_staff")
        letter = {
            "channel": "letter",
            "origin_unit_id": county.village["id"],
            "lodged_unit_id": county.town["id"],
            "petitioners": [{"name": "来信人", "phone": "13800000001"}],
            "category": "land.acquisition",
            "title": "征地补偿款未兑现",
            "content": "补偿款至今未发放。",
        }
        cases = []
        for body in (
            letter,
            visit_body(county.village2, county.town, 2),
            visit_body(county.village, county.town, 25),
        ):
            resp = await client.post("/v1/cases", json=body, headers=staff)
            if resp.status_code != 201:
                raise SystemExit(f"registering a fixture case: {resp.status_code} {resp.text}")
            cases.append(resp.json()["id"])
        units = [county.county, county.town, county.area, county.village, county.village2]
        office = await client.post(
            "/v1/higher-offices",
            json={"name": "市信访局", "level": "city", "code": "fuzz-city"},
            headers=admin,
        )
        system = await client.post(
            "/v1/service-tokens",
            json={
                "name": "市信访信息系统",
                "role": "higher_office",
                "unit_id": county.county["id"],
                "higher_office_id": office.json()["id"],
                "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
            headers=admin,
        )
        if system.status_code != 201:
            raise SystemExit(f"making the office's token: {system.status_code} {system.text}")
        return Fixtures(
            token=admin["Authorization"].removeprefix("Bearer "),
            office_token=system.json()["token"],
            units=[u["id"] for u in units],
            officials=[o["id"] for o in county.officials.values()],
            cases=cases,
        )


# Where schemathesis draws ids from the fixtures (most of the time) instead of at random, so
# that requests reach the logic behind "does not exist".
BINDINGS = {
    "cases": ["path.case_id", "query.case_id"],
    "units": [
        "path.unit_id",
        "query.unit_id",
        "body.unit_id",
        "body.origin_unit_id",
        "body.lodged_unit_id",
        "body.parent_id",
    ],
    "officials": ["path.official_id", "query.official_id", "body.official_id"],
}


def run_config(fixtures: Fixtures, into: Path) -> Path:
    """The committed config plus dictionaries of the fixtures' ids, written under `into`."""
    values = {"cases": fixtures.cases, "units": fixtures.units, "officials": fixtures.officials}
    # Absolute table headers: they may follow the committed file's [[operations]].
    prefix = []
    for name, ids in values.items():
        prefix += [f"[dictionaries.{name}]", f"values = {json.dumps(ids)}", ""]
    prefix.append("[parameters]")
    for name, keys in BINDINGS.items():
        for key in keys:
            prefix.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.8 }}')
    path = into / "schemathesis.toml"
    path.write_text(CONFIG.read_text() + "\n" + "\n".join(prefix) + "\n")
    return path


def main() -> None:
    """Run the fuzzing and exit with schemathesis's status."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--max-examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 30))
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", 7)))
    parser.add_argument("extra", nargs="*", help="more options for `st run`")
    args = parser.parse_args()

    data = ROOT / ".data" / "fuzz"
    data.mkdir(parents=True, exist_ok=True)
    services = start_services(data)
    database_url = create_fresh_database(services.database_url, "pd_fuzz")
    migrate(database_url)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "API_URL": api_url,
        "PUBLIC_BASE_URL": api_url,
        "JWT_SECRET": "fuzz-jwt-secret-0123456789abcdef0123",
        "WORKER_TOKEN": WORKER_TOKEN,
        "METRICS_TOKEN": METRICS_TOKEN,
        "PII_KEYS": Fernet.generate_key().decode(),
        "PII_HASH_KEY": "fuzz-pii-hash-key-0123456789abcdef0123",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARQ_QUEUE": f"pd-fuzz:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
        # The per-caller budget (OWASP API4) is tested in tests/test_auth.py; here it would
        # leave most operations answering 429.
        "REQUESTS_PER_MINUTE": "1000000",
    }
    log = data / "api.log"
    api = subprocess.Popen(
        api_command(port),
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(api_url, api, log)
        fixtures = asyncio.run(prepare(api_url))
        config = run_config(fixtures, data)
        st = Path(sys.executable).with_name("st")
        command = [
            str(st),
            "--config-file",
            str(config),
            "run",
            str(ROOT / "openapi.yaml"),
            "--url",
            api_url,
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--report",
            "junit",
            "--report-dir",
            str(ROOT / "artifacts" / "fuzz"),
            *args.extra,
        ]
        print("+", " ".join(command), flush=True)
        tokens = {"FUZZ_TOKEN": fixtures.token, "FUZZ_OFFICE_TOKEN": fixtures.office_token}
        status = subprocess.run(command, cwd=ROOT, env=env | tokens, check=False).returncode
    finally:
        stop(api, timeout=15)
        drop_database(database_url)
        services.stop()
    if status and api.returncode not in (0, None, -15):
        print(log.read_text()[-4000:], file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
