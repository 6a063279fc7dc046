"""Graceful shutdown, with the API (uvicorn) and the worker (arq) as real processes.

SIGTERM is how Kubernetes and compose stop a pod or a container (then SIGKILL after the grace
period): the API must finish the requests it is serving, the worker the sends it has started,
and neither may take new work meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.kit.db import create_engine
from shared.settings import Settings
from shared.webhooks import generate_secret
from tests.conftest import ADMIN_PASSWORD, County, letter_body, login, make_county, visit_body
from tests.fakes.webhook_receivers import Answer, FakeWebhookReceiver
from tests.processes import api_command, free_port, poll, stop, tail, wait_ready

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
# What the processes take over from the in-process app's settings (same database, keys,
# secrets); each test gets its own arq queue and API port on top.
SHARED_SETTINGS = (
    "database_url",
    "redis_url",
    "jwt_secret",
    "worker_token",
    "pii_keys",
    "pii_hash_key",
    "admin_password",
    "public_base_url",
    "webhooks_allow_private",
    "requests_per_minute",
)
RECEIVER_HOLD = 3.0


@dataclass
class Desk:
    """The API process of one test, the worker once started, and their logs."""

    port: int
    api: subprocess.Popen[bytes]
    env: dict[str, str]
    logs: Path
    # How long a stopped worker may take: arq waits for the jobs it runs up to the job
    # timeout + 1 s (`job_completion_wait`), then it closes its connections.
    worker_grace: float
    worker: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the API listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_log(self) -> Path:
        """Where the workers of this test write (one after the other)."""
        return self.logs / "worker.log"

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start an arq worker process against this API (the previous one must have exited)."""
        assert self.worker is None or self.worker.poll() is not None
        self.worker = _spawn(
            [sys.executable, "-m", "arq", "worker.main.WorkerSettings"], self.env, self.worker_log
        )
        return self.worker


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def desk(settings: Settings, tmp_path: Path) -> Iterator[Desk]:
    """The API as `uvicorn api.app:app` on a free port, ready; stopped (with any worker)
    after the test unless the test stopped them."""
    port = free_port()
    env = os.environ | {name.upper(): str(getattr(settings, name)) for name in SHARED_SETTINGS}
    env |= {
        "API_URL": f"http://127.0.0.1:{port}",
        "ARQ_QUEUE": f"pd-shutdown:{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",  # as deployed
    }
    # as deployed: at most 20 s for the requests in flight (deploy/k8s/base/api.yaml)
    api = _spawn(api_command(port, "--timeout-graceful-shutdown=20"), env, tmp_path / "api.log")
    # The processes inherit the environment `settings` read WORKER_JOB_TIMEOUT_SECONDS from.
    grace = settings.worker_job_timeout_seconds + 6
    running = Desk(port=port, api=api, env=env, logs=tmp_path, worker_grace=grace)
    try:
        wait_ready(running.url, api, tmp_path / "api.log", within=60)
        yield running
    finally:
        stop(running.worker, timeout=grace)
        stop(api)


@dataclass
class HoldingReceiver(FakeWebhookReceiver):
    """The verifying Standard Webhooks receiver, slow once: the first request it gets is
    answered (200) only `hold` seconds after it arrived. `arrivals` counts requests per
    webhook-id as they arrive, before any answer (a request the sender gave up on counts)."""

    hold: float = RECEIVER_HOLD
    arrived: threading.Event = field(default_factory=threading.Event)
    arrivals: Counter[str] = field(default_factory=Counter)

    def respond(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        """Count, hold the first request, then verify and answer as the base receiver."""
        with self._lock:
            self.arrivals[headers.get("webhook-id", "")] += 1
            first = not self.arrived.is_set()
            self.arrived.set()
        if first:
            time.sleep(self.hold)  # the slow receiver itself, in its own handler thread
        return super().respond(path, query, headers, body)


async def _exit_code(proc: subprocess.Popen[bytes], within: float) -> int | None:
    """The process's exit code, or None if it is still running after `within` seconds."""
    try:
        return await asyncio.to_thread(proc.wait, within)
    except subprocess.TimeoutExpired:
        return None


async def test_api_finishes_requests_in_flight_on_sigterm(desk: Desk, settings: Settings) -> None:
    """A registration the API is serving when SIGTERM comes is finished and answered 201 (the
    case is stored), while the API already refuses new connections; then the process ends
    through uvicorn's graceful shutdown (the application's shutdown runs)."""
    async with httpx.AsyncClient(base_url=desk.url, timeout=30) as http:
        admin = await login(http, "admin", ADMIN_PASSWORD)
        county = await make_county(http, admin)
        staff = await county.headers(http, "county_staff")
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        async with (
            engine.connect() as locker,
            httpx.AsyncClient(base_url=desk.url, timeout=60) as caller,
        ):
            # Registration inserts into `cases`: this lock holds it there, mid-request.
            locker_pid = (await locker.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await locker.execute(text("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE"))
            in_flight = asyncio.create_task(
                caller.post("/v1/cases", json=letter_body(county), headers=staff)
            )

            async def waiting_on_the_lock() -> bool:
                if in_flight.done():  # answered without waiting: show what it answered
                    response = in_flight.result()
                    raise AssertionError(f"not held: {response.status_code} {response.text}")
                async with engine.connect() as conn:  # a fresh pg_stat_activity snapshot
                    waiting = await conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE :pid = ANY(pg_blocking_pids(pid))"
                            " AND query ILIKE 'INSERT INTO cases%'"
                        ),
                        {"pid": locker_pid},
                    )
                    return bool(waiting.scalar_one())

            await poll(waiting_on_the_lock, 30, "the registration to wait on the lock")
            desk.api.send_signal(signal.SIGTERM)

            async def refused() -> bool:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", desk.port)
                except (ConnectionRefusedError, ConnectionResetError):
                    # reset: caught in the backlog as the socket closed, never served
                    return True
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return False

            signalled = time.monotonic()
            await poll(refused, 10, "the API to close its listening socket")
            print(f"\nnew connections refused {time.monotonic() - signalled:.2f} s after SIGTERM")
            assert desk.api.poll() is None, "the API exited with a request in flight"
            assert not in_flight.done()
            await locker.rollback()  # the lock goes: the registration proceeds
            response = await in_flight
        assert response.status_code == 201, response.text
        code = await _exit_code(desk.api, 15)
        assert code is not None, "the API did not exit within 15 s of the request's end"
        print(f"API exit code after SIGTERM: {code}")
        # uvicorn re-raises the signal it shut down for once it is done: the process ends as
        # SIGTERM's default would, after the graceful shutdown the log shows.
        assert code in (0, -signal.SIGTERM), code
        log = tail(desk.logs / "api.log", 200)
        assert "Application shutdown complete" in log, log
        assert "Finished server process" in log, log
        async with engine.connect() as conn:
            stored = await conn.execute(
                text("SELECT count(*) FROM cases WHERE id = :id"),
                {"id": uuid.UUID(response.json()["id"])},
            )
            assert stored.scalar_one() == 1
    finally:
        await engine.dispose()


async def _register_visit(http: httpx.AsyncClient, staff: dict[str, str], county: County) -> str:
    """A small visit to the town from the village under it: its chief is summoned."""
    resp = await http.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _summons(http: httpx.AsyncClient, admin: dict[str, str], case_id: str) -> dict[str, Any]:
    """The case's only summons, as the API has it."""
    resp = await http.get("/v1/alerts", params={"case_id": case_id}, headers=admin)
    assert resp.status_code == 200, resp.text
    summons = [a for a in resp.json()["items"] if a["purpose"] == "summons"]
    assert len(summons) == 1, summons
    assert summons[0]["channel"] == "webhook"
    return dict(summons[0])


async def test_worker_finishes_the_send_in_flight_on_sigterm(desk: Desk) -> None:
    """A worker told to stop while a receiver is slow to answer its webhook takes no new job
    but finishes that send: one request for the message id, the alert reported `sent` after
    one attempt before the process ends (code 0, within the grace). The job it did not take
    stays queued, and the next worker delivers it."""
    receiver = HoldingReceiver(secret=generate_secret()).start()
    try:
        async with httpx.AsyncClient(base_url=desk.url, timeout=30) as http:
            admin = await login(http, "admin", ADMIN_PASSWORD)
            county = await make_county(http, admin)
            chief = county.officials["village2_chief"]
            contacts = [{"channel": "webhook", "address": receiver.url, "secret": receiver.secret}]
            patched = await http.patch(
                f"/v1/officials/{chief['id']}", json={"contacts": contacts}, headers=admin
            )
            assert patched.status_code == 200, patched.text
            staff = await county.headers(http, "town_staff")

            worker = desk.start_worker()
            first_case = await _register_visit(http, staff, county)
            arrived = await asyncio.to_thread(receiver.arrived.wait, 30)
            assert arrived, "the summons never reached the receiver:\n" + tail(desk.worker_log)
            worker.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            async def signal_handled() -> bool:
                # arq logs "shutdown on SIGTERM ..." from its signal handler, in either mode
                return "shutdown on SIGTERM" in tail(desk.worker_log, 200) or (
                    worker.poll() is not None
                )

            await poll(signal_handled, 10, "the worker to handle SIGTERM")
            second_case = await _register_visit(http, staff, county)  # queued while it drains

            code = await _exit_code(worker, desk.worker_grace)
            took = time.monotonic() - signalled
            assert code is not None, f"the worker still runs {desk.worker_grace} s after SIGTERM"
            print(f"\nworker exited {took:.2f} s after SIGTERM (receiver holds {RECEIVER_HOLD} s)")
            assert code == 0, tail(desk.worker_log)

            # Nothing runs now: what the API has is what the worker reported before it ended.
            first = await _summons(http, admin, first_case)
            assert (first["status"], first["attempts"]) == ("sent", 1), (
                first,
                tail(desk.worker_log),
            )
            assert first["last_error"] is None
            assert receiver.arrivals[first["id"]] == 1
            assert not receiver.duplicates
            second = await _summons(http, admin, second_case)
            assert (second["status"], second["attempts"]) == ("pending", 0), second
            assert receiver.arrivals[second["id"]] == 0

            desk.start_worker()

            async def second_sent() -> bool:
                return bool((await _summons(http, admin, second_case))["status"] == "sent")

            await poll(second_sent, 30, "the next worker to deliver the job left queued")
            assert receiver.arrivals == Counter({first["id"]: 1, second["id"]: 1})
    finally:
        receiver.stop()
