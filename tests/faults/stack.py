"""The API (uvicorn) and the worker (arq) as processes the suite can kill and restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from shared.settings import Settings
from tests.conftest import (
    ADMIN_PASSWORD,
    METRICS_TOKEN,
    PII_HASH_KEY,
    PII_KEYS,
    WORKER_TOKEN,
)
from tests.processes import api_command, stop, tail, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def suite_environment(
    database_url: str, redis_url: str, gateway_url: str, queue_prefix: str
) -> dict[str, str]:
    """The environment of a suite's API and worker processes: nothing of the machine's own
    configuration (DATABASE_URL, REDIS_URL, …), the tests' secrets, a queue of the run's own,
    SMS to the suite's gateway (a hanging one noticed within 3 s, a slow one answering in time),
    a sweep every second, and retries every few seconds, enough of them to outlast any fault."""
    inherited = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    return inherited | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": f"jwt-secret-for-{queue_prefix}-0123456789abcdef",
        "WORKER_TOKEN": WORKER_TOKEN,
        "PII_KEYS": PII_KEYS,
        "METRICS_TOKEN": METRICS_TOKEN,
        "PII_HASH_KEY": PII_HASH_KEY,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARQ_QUEUE": f"{queue_prefix}:{uuid.uuid4().hex[:8]}",
        "SMS_PROVIDER": "generic",
        "SMS_GATEWAY_URL": gateway_url,
        "SMS_TIMEOUT_SECONDS": "3",
        "SWEEP_INTERVAL_SECONDS": "1",
        "ALERT_RETRY_BASE_SECONDS": "0.2",
        "ALERT_RETRY_MAX_SECONDS": "2",
        "ALERT_MAX_ATTEMPTS": "100",
        "REQUESTS_PER_MINUTE": "1000000",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Service:
    """One process of the stack: how to start it, its log, its current incarnation."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or restart) the process; its output goes on the end of its log."""
        assert not self.running(), f"{self.name} is already running"
        with self.log.open("ab") as log:
            log.write(f"\n===== {self.name} starting at {time.time():.3f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def running(self) -> bool:
        """Whether the current incarnation is alive."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, whatever was in flight is cut off."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """Orderly stop (SIGTERM)."""
        stop(self.proc, timeout=15)


@dataclass
class Api(Service):
    """An API process on a fixed port."""

    port: int = 0

    @property
    def url(self) -> str:
        """Base URL of this process."""
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, within: float = 60) -> None:
        """Until /readyz answers 200 (database reachable and migrated)."""
        wait_ready(self.url, self.proc, self.log, within)


@dataclass
class Stack:
    """API processes and workers sharing one database, one Redis and one arq queue; worker
    `i` talks to API `i % len(apis)`."""

    env: dict[str, str]
    logs: Path
    apis: list[Api] = field(default_factory=list)
    workers: list[Service] = field(default_factory=list)

    def add_api(self, port: int) -> Api:
        """Declare (not start) one more API process on `port`."""
        n = len(self.apis) + 1
        api = Api(
            name=f"api{n}",
            argv=api_command(port, "--no-access-log"),
            env=self.env
            | {
                "API_URL": f"http://127.0.0.1:{port}",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            },
            log=self.logs / f"api{n}.log",
            port=port,
        )
        self.apis.append(api)
        return api

    def add_worker(self) -> Service:
        """Declare (not start) one more worker process."""
        n = len(self.workers) + 1
        api = self.apis[(n - 1) % len(self.apis)]
        worker = Service(
            name=f"worker{n}",
            argv=[sys.executable, "-m", "arq", "worker.main.WorkerSettings"],
            env=self.env | {"API_URL": api.url},
            log=self.logs / f"worker{n}.log",
        )
        self.workers.append(worker)
        return worker

    @property
    def api(self) -> Api:
        """The first API process (the one the tests talk to)."""
        return self.apis[0]

    @contextlib.asynccontextmanager
    async def supervised(self) -> AsyncIterator[Counter[str]]:
        """Restart any process that exits, as the deployment's supervisor does (compose
        `restart: unless-stopped`, Kubernetes); yields how often each was restarted."""
        restarts: Counter[str] = Counter()

        async def watch() -> None:
            while True:
                for service in [*self.apis, *self.workers]:
                    if service.proc is not None and service.proc.poll() is not None:
                        restarts[service.name] += 1
                        service.start()
                await asyncio.sleep(0.5)

        task = asyncio.create_task(watch())
        try:
            yield restarts
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def stop_all(self) -> None:
        """Stop every process (workers first)."""
        for service in [*self.workers, *self.apis]:
            service.stop()

    def logs_tail(self, lines: int = 40) -> str:
        """The end of every process's log, for a failure report."""
        return "\n".join(
            f"----- {s.name} ({s.log}) -----\n{tail(s.log, lines)}"
            for s in [*self.apis, *self.workers]
        )
