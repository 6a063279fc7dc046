"""The API as a real process and a headless Chromium driving it (Playwright's client, Debian's
browser: nothing is downloaded). Without Chromium or the `browser` extra these tests skip
locally and fail under CI (`CI` set), so a CI machine cannot pass them by accident."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from shared.embedded import Services
from tests.conftest import ADMIN_PASSWORD, PII_HASH_KEY, PII_KEYS, WORKER_TOKEN
from tests.processes import api_command, free_port, stop, wait_ready

if TYPE_CHECKING:
    from playwright.async_api import Browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As the machine's notes say: no sandbox as root, and no background traffic to Google's hosts
# (the closed network refuses it, slowly).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Api:
    """The running API process: its URL and log."""

    url: str
    log: Path


@pytest.fixture(scope="module")
def api(services: Services, database_url: str, tmp_path_factory: Any) -> Iterator[Api]:
    """Start the API (uvicorn, the real `api.app:app`) against the test database."""
    port = free_port()
    logs = tmp_path_factory.mktemp("browser")
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "API_URL": f"http://127.0.0.1:{port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "JWT_SECRET": "jwt-secret-for-browser-0123456789abcdef",
        "WORKER_TOKEN": WORKER_TOKEN,
        "PII_KEYS": PII_KEYS,
        "PII_HASH_KEY": PII_HASH_KEY,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARQ_QUEUE": f"pd-browser:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "INFO",
    }
    log_path = logs / "api.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            api_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log_path, within=30)
        if httpx.get(f"{url}/dashboard", timeout=5).status_code != 200:
            pytest.fail("GET /dashboard is not served: api/app.py must include api.dashboard")
        yield Api(url=url, log=log_path)
    finally:
        stop(proc)
        if os.environ.get("E2E_SHOW_LOGS"):
            print(log_path.read_text())


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium executable, after checking that it and Playwright are installed."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("Playwright is not installed (pip install -e '.[browser]')")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Headless Debian Chromium under Playwright (a fresh temporary profile per launch)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go (`artifacts/`, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
