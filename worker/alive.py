"""The worker's liveness check: `python -m worker.alive` exits 0 while the worker's event loop
keeps touching its heartbeat file (WORKER_HEARTBEAT_FILE), 1 once the file is older than
`--max-age` seconds or missing. A Kubernetes exec probe runs it in the worker's container.

It speaks for this one process, which arq's own `--check` (a key per queue, kept by any
worker) cannot; and it ignores PostgreSQL, Redis and the API, whose outages a restart cannot
mend."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

from shared.settings import get_settings

HEARTBEAT_SECONDS = 5.0


async def keep_beating(path: Path, every: float = HEARTBEAT_SECONDS) -> None:
    """Touch `path` every `every` seconds for as long as the event loop runs this task."""
    while True:
        await asyncio.to_thread(path.touch)
        await asyncio.sleep(every)


def stop_beating(path: Path) -> None:
    """Remove the heartbeat (a worker that stopped cleanly is not alive)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def age(path: Path) -> float | None:
    """Seconds since the heartbeat was last touched; None when there is none."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Exit status for the probe."""
    parser = argparse.ArgumentParser(prog="python -m worker.alive", description=__doc__)
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--file", default=get_settings().worker_heartbeat_file)
    args = parser.parse_args(argv)
    if not args.file:
        print("WORKER_HEARTBEAT_FILE is not set", file=sys.stderr)
        return 1
    seconds = age(Path(args.file))
    if seconds is None or seconds > args.max_age:
        what = "no heartbeat" if seconds is None else f"last heartbeat {seconds:.0f} s ago"
        print(f"worker not alive: {what} ({args.file})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
