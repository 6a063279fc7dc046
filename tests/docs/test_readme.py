"""The README's walk, run as a newcomer runs it: the service started the way `make run` starts
it (`python -m shared.fonts`, then `python -m shared.devrun`) on a port other than 8000, and
every ```bash / ```sh block of README.md run in order in one bash session under
`set -euo pipefail`, so a refused request (`curl -f`) or a missing field fails the test.

A block is left out when the line before its fence is the HTML comment `<!-- not run -->`
(invisible on GitHub): `make run` itself (started here instead), `make client-ts` (its own
test), deploy commands. Blocks of other languages (```text, ```ts) are never run.

The service gets this run's PostgreSQL and Redis (`services`) with a fresh database of its own,
its own arq queue, and the five secrets in the environment (as `.env` or the shell would give
them), so it writes no `.data/secrets.json`; `PUBLIC_BASE_URL` is left for `make run` to derive
from the port. The blocks run in a temporary directory standing for the repository's folder,
with the service's output in `artifacts/run.log` (where the README has the reader `tee` it) and
`PORT` and `ADMIN_PASSWORD` set as the README tells the reader."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from shared.embedded import Services, create_fresh_database, drop_database
from tests.conftest import ADMIN_PASSWORD, PII_HASH_KEY, PII_KEYS, WORKER_TOKEN
from tests.processes import free_port, tail, wait_ready

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NOT_RUN = "<!-- not run -->"
FENCE = re.compile(r"^```(\w*)\s*$")
CHINA = timezone(timedelta(hours=8))
WALK_TIMEOUT = 90.0


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README: its language, first line number and text."""

    lang: str
    line: int
    text: str
    runs: bool


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of `text`, in order; `runs` for bash/sh blocks not marked
    `<!-- not run -->` on the nearest non-blank line before the fence."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if opened is None:
            i += 1
            continue
        lang, start = opened.group(1), i + 1
        previous = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        assert end < len(lines), f"README.md:{start}: a code block is never closed"
        runs = lang in ("bash", "sh") and previous != NOT_RUN
        blocks.append(Block(lang, start, "\n".join(lines[start:end]), runs))
        i = end + 1
    return blocks


def walk_script(blocks: list[Block]) -> str:
    """The blocks that run, as one bash script that stops at the first failure; each first
    names its line on stderr (bash's errors name the script's lines, not the README's)."""
    parts = ["set -euo pipefail"]
    for block in blocks:
        if block.runs:
            parts.append(f"echo '--- README.md:{block.line}' >&2\n{block.text}")
    return "\n".join(parts) + "\n"


def test_blocks_are_found_and_marked() -> None:
    """The convention itself: a bash block runs unless marked, other languages never."""
    sample = "\n".join(
        [
            "<!-- not run -->",
            "```bash",
            "make run",
            "```",
            "text",
            "```bash",
            "echo one",
            "```",
            "<!-- not run -->",
            "",
            "```sh",
            "echo skipped",
            "```",
            "```text",
            "echo never",
            "```",
            "```sh",
            "echo two",
            "```",
        ]
    )
    blocks = readme_blocks(sample)
    assert [(b.lang, b.runs) for b in blocks] == [
        ("bash", False),
        ("bash", True),
        ("sh", False),
        ("text", False),
        ("sh", True),
    ]
    script = walk_script(blocks)
    assert "echo one" in script and "echo two" in script
    assert "make run" not in script and "echo skipped" not in script and "never" not in script


def test_readme_names_only_files_of_the_repository() -> None:
    """No `../` (the handouts beside the repository are not in it), and every file the README
    names in backticks exists (the dashboard's screenshot is committed with `make demo`)."""
    text = README.read_text(encoding="utf-8")
    assert "../" not in text
    named = set(re.findall(r"`([\w.-]+(?:/[\w.-]+)*\.(?:md|yaml|py|example|json|ts))`", text))
    assert {"deploy/README.md", ".env.example", "docs/reference.md"} <= named
    named |= set(re.findall(r"\]\(([\w./-]+\.(?:png|md))\)", text))  # images and links
    assert "docs/dashboard.png" in named
    generated = (".data/", "artifacts/")  # made by make run and make client-ts
    missing = [p for p in sorted(named) if not p.startswith(generated) and not (ROOT / p).exists()]
    assert missing == [], f"README.md names files that do not exist: {missing}"


@dataclass
class Service:
    """The service as `make run` started it."""

    url: str
    port: int
    log: Path
    workdir: Path


@pytest.fixture
def service(services: Services, tmp_path: Path) -> Iterator[Service]:
    """`make run` on a free port (never 8000) against a fresh database, output in run.log."""
    database_url = create_fresh_database(services.database_url, "pd_readme")
    port = free_port()
    assert port != 8000
    env = dict(os.environ)
    env.update(
        PORT=str(port),
        DATABASE_URL=database_url,
        REDIS_URL=services.redis_url,
        ARQ_QUEUE=f"pd-readme:{uuid.uuid4().hex[:8]}",
        JWT_SECRET="jwt-secret-for-the-readme-walk-0123456789",
        WORKER_TOKEN=WORKER_TOKEN,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        PII_KEYS=PII_KEYS,
        PII_HASH_KEY=PII_HASH_KEY,
        # empty counts as unset for make run (derived from PORT) and beats a developer's .env
        PUBLIC_BASE_URL="",
        SMS_GATEWAY_URL="",
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    log = tmp_path / "artifacts" / "run.log"
    log.parent.mkdir()
    proc: subprocess.Popen[bytes] | None = None
    try:
        # make run = make fonts, then devrun
        subprocess.run([sys.executable, "-m", "shared.fonts"], cwd=ROOT, env=env, check=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "shared.devrun"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, log)
        yield Service(url, port, log, tmp_path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # devrun stops the API and the worker
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        drop_database(database_url)


def test_the_readme_walk_runs_against_make_run(service: Service) -> None:
    """Every runnable block in order; then what they claim: the cases registered, the summons
    and the escalation SMS in the log with a link on this port, the escalation acknowledged,
    a 304 poll, and this month's bulletin counting the cases."""
    script = walk_script(readme_blocks(README.read_text(encoding="utf-8")))
    env = dict(os.environ)
    env.update(PORT=str(service.port), ADMIN_PASSWORD=ADMIN_PASSWORD)
    walk = subprocess.run(
        ["bash", "-c", script],
        cwd=service.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=WALK_TIMEOUT,
    )
    assert walk.returncode == 0, (
        f"the README's walk failed (exit {walk.returncode})\n--- stdout\n{walk.stdout[-4000:]}"
        f"\n--- stderr\n{walk.stderr[-4000:]}\n--- run.log\n{tail(service.log, 40)}"
    )
    out = walk.stdout
    assert re.search(r"^retried: still XF-\d{4}-\d+$", out, re.M), out
    assert re.search(r"^304$", out, re.M), out

    log = service.log.read_text(encoding="utf-8", errors="replace")
    assert f"SMS links: http://127.0.0.1:{service.port}/a/" in log
    sms = [line for line in log.splitlines() if "worker.sms" in line and " SMS " in line]
    assert any("到位通知" in line and "+8613900000001" in line for line in sms), sms
    escalated = [line for line in sms if "到位超时督办" in line]
    # the village chief's reminders at 50 % and 80 % of the 10 s, naming the deadline once
    reminders = [line for line in sms if "时限提醒" in line]
    assert any("到位时限已过" in line for line in reminders), sms
    assert not any("时限时限" in line for line in sms), sms
    # the SMS lines are easy to find: no library's chatter (the PDF notice's font subsetting)
    assert "fontTools" not in log
    assert escalated and f"http://127.0.0.1:{service.port}/a/" in escalated[0], sms

    with httpx.Client(base_url=service.url, timeout=10) as http:
        token = http.post(
            "/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        cases = http.get("/v1/cases", params={"limit": 100}).json()["items"]
        titles = {c["title"] for c in cases}
        assert {"征地补偿款未兑现", "拖欠工资", "山林界址纠纷", "拆迁安置房迟迟未交付"} <= titles
        assert len(cases) == 4  # the retried registration made no second case
        [county] = [u for u in http.get("/v1/units").json()["items"] if u["level"] == "county"]
        visit = next(c for c in cases if c["title"] == "征地补偿款未兑现")
        escalations = http.get("/v1/escalations", params={"case_id": visit["id"]}).json()
        assert [e["status"] for e in escalations["items"]] == ["acknowledged"]
        month = datetime.now(CHINA).strftime("%Y-%m")
        bulletin = http.get(
            "/v1/reports/monthly", params={"month": month, "unit_id": county["id"]}
        ).json()
        assert bulletin["totals"]["cases"] == 4, bulletin["totals"]
        missed = bulletin["criticism"]["missed_arrivals"]
        assert [m["official_name"] for m in missed] == ["杨村长"], bulletin["criticism"]
    saved = service.workdir / "artifacts" / "walk"
    assert (saved / "bulletin.xlsx").read_bytes()[:2] == b"PK"
    assert "拖欠工资" in (saved / "bulletin.csv").read_text(encoding="utf-8-sig")
