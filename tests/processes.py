"""Processes the tests and benchmarks start themselves (uvicorn, arq, servers): a free port,
waiting for the API to be ready, stopping, and the end of a log for the failure message."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_command(port: int, *extra: str, app: str = "api.app:app") -> list[str]:
    """The command line of the API as it runs in production: uvicorn serving `app`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file (empty if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(
    url: str, proc: subprocess.Popen[bytes] | None, log: Path | None = None, within: float = 60
) -> None:
    """Until `url`/readyz answers 200 (database reachable and migrated); RuntimeError with the
    end of `log` when the process exits first or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc is None or proc.poll() is not None:
            break
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    what = "exited during start-up" if proc is None or proc.poll() is not None else "not ready"
    raise RuntimeError(f"the API at {url} {what}:\n" + (tail(log) if log else ""))


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM a child, SIGKILL it if it lingers; nothing if it already exited."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


async def poll(
    check: Callable[[], Awaitable[T | None]], within: float, what: str, every: float = 0.05
) -> T:
    """Until `check()` gives something true, which it returns; AssertionError naming `what`
    after `within` seconds."""
    stop_at = time.monotonic() + within
    while not (value := await check()):
        if time.monotonic() > stop_at:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)
    return value
