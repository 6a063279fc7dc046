"""The typed TypeScript client (clients/typescript, `make client-ts`): its lockfile names no
registry, a contract change that breaks its example fails tsc, and the compiled example works
against the API as a process (one case however often it retries; a 304 poll)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.embedded import Services
from tests.conftest import ADMIN_PASSWORD, PII_HASH_KEY, PII_KEYS, WORKER_TOKEN, make_county
from tests.processes import api_command, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "clients" / "typescript"
# What `npm ci` needs and what tsc compiles: the tree is copied, never built in place.
COPIED = ["package.json", "package-lock.json", ".npmrc", "tsconfig.json", "src", "examples"]
Spec = dict[str, Any]


def test_the_lockfile_pins_exact_versions_and_names_no_registry() -> None:
    npmrc = (PROJECT / ".npmrc").read_text()
    assert re.search(r"^omit-lockfile-registry-resolved=true$", npmrc, re.M)
    lock_text = (PROJECT / "package-lock.json").read_text()
    assert "registry" not in lock_text
    lock = json.loads(lock_text)
    assert all("resolved" not in entry for entry in lock["packages"].values())
    assert all(entry.get("integrity") for name, entry in lock["packages"].items() if name)
    package = json.loads((PROJECT / "package.json").read_text())
    pins = package["dependencies"] | package["devDependencies"]
    assert {"openapi-typescript", "openapi-fetch", "typescript"} <= set(pins)
    for name, version in pins.items():
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_ci_runs_make_client_ts_after_the_tests() -> None:
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert steps.index("make client-ts") > steps.index("make test")
    assert "npm ci" in (ROOT / "Makefile").read_text().split("\nclient-ts:", 1)[1].split("\n\n")[0]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    run = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=110, check=False
    )
    if run.returncode != 0:
        raise AssertionError(f"{' '.join(args)} → {run.returncode}\n{run.stdout}\n{run.stderr}")
    return run.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's layout (openapi.yaml, clients/typescript) with its packages
    installed by `npm ci` from the committed lockfile."""
    npm = shutil.which("npm")
    assert npm is not None, "npm (Node 20) is needed for the TypeScript client"
    root = tmp_path_factory.mktemp("client-ts")
    project = root / "clients" / "typescript"
    project.mkdir(parents=True)
    for name in COPIED:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy(source, project / name)
    _run([npm, "ci", "--no-audit", "--no-fund"], project)
    return root


def _typecheck(tree: Path, spec: Spec, *, emit: bool = False) -> subprocess.CompletedProcess[str]:
    """Generate the client from `spec` as `make client-ts` does, then type-check it (and compile
    it into dist/ with `emit`)."""
    (tree / "openapi.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    project = tree / "clients" / "typescript"
    _run(["npm", "run", "--silent", "generate"], project)
    return subprocess.run(
        ["npm", "run", "--silent", "typecheck", "--", *(["--noEmit", "false"] if emit else [])],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


def _contract() -> Spec:
    spec: Spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return spec


@pytest.fixture(scope="module")
def compiled(tree: Path) -> subprocess.CompletedProcess[str]:
    """tsc over the client generated from the committed contract, compiled into dist/."""
    return _typecheck(tree, _contract(), emit=True)


def test_the_example_compiles_against_the_committed_contract(
    compiled: subprocess.CompletedProcess[str],
) -> None:
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def test_contract_changes_that_break_the_example_fail_tsc(
    tree: Path, compiled: subprocess.CompletedProcess[str]
) -> None:
    spec = _contract()
    schemas = spec["components"]["schemas"]
    # a request field renamed
    create = schemas["CaseCreate"]
    create["properties"]["origin_unit"] = create["properties"].pop("origin_unit_id")
    create["required"] = ["origin_unit" if f == "origin_unit_id" else f for f in create["required"]]
    # an answer's field removed
    del schemas["CaseRegistered"]["properties"]["number"]
    schemas["CaseRegistered"]["required"].remove("number")
    # the Idempotency-Key header no longer declared
    register = spec["paths"]["/v1/cases"]["post"]
    register["parameters"] = [p for p in register["parameters"] if p["name"] != "Idempotency-Key"]

    result = _typecheck(tree, spec)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if "error TS" in line]
    assert all(line.startswith("examples/register-offline.ts(") for line in errors), errors
    for name in ("'origin_unit_id'", "'number'", "Idempotency-Key"):
        assert any(name in line for line in errors), (name, result.stdout)


@pytest.fixture(scope="module")
def api_url(
    services: Services, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The API as a process (uvicorn) on the test database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("client-ts-api") / "api.log"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "API_URL": url,
        "PUBLIC_BASE_URL": url,
        "JWT_SECRET": "jwt-secret-for-client-ts-0123456789abcdef",
        "WORKER_TOKEN": WORKER_TOKEN,
        "PII_KEYS": PII_KEYS,
        "PII_HASH_KEY": PII_HASH_KEY,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    with log_path.open("wb") as log:
        api = subprocess.Popen(
            api_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(url, api, log_path, within=30)
        yield url
    finally:
        stop(api)


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API process."""
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        yield client


@pytest.mark.e2e
async def test_the_compiled_example_registers_once_and_polls_with_etag(
    tree: Path, compiled: subprocess.CompletedProcess[str], api_url: str, http: httpx.AsyncClient
) -> None:
    assert compiled.returncode == 0, compiled.stdout
    token = await http.post(
        "/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    county = await make_county(http, {"Authorization": f"Bearer {token.json()['access_token']}"})
    grid = county.officials["grid"]
    env = os.environ | {
        "PD_BASE_URL": api_url,
        "PD_USERNAME": grid["username"],
        "PD_PASSWORD": county.passwords["grid"],
        "PD_ORIGIN_UNIT_ID": county.village2["id"],
        "PD_POLLS": "3",
    }
    project = tree / "clients" / "typescript"
    out = _run(["node", "dist/clients/typescript/examples/register-offline.js"], project, env)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    registered, polls = lines[0], lines[1:]
    assert registered["retried"] == registered["registered"]
    assert [p["poll"] for p in polls] == [0, 1, 2]
    assert polls[0]["status"] == 200 and polls[0]["etag"]
    # Polls a few milliseconds apart: at most one can straddle the ETag's 30 s bucket.
    assert 304 in (polls[1]["status"], polls[2]["status"])

    staff = await county.headers(http, "town_staff")
    cases = await http.get(
        "/v1/cases", params={"origin_unit_id": county.village2["id"]}, headers=staff
    )
    assert [c["id"] for c in cases.json()["items"]] == [registered["registered"]]
