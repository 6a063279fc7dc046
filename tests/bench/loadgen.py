"""An open-loop load generator: requests start at a fixed rate whatever the server does, and
each latency counts from the request's scheduled start (a server that falls behind is charged
for the queue it causes, which a closed loop like wrk hides).

    python -m tests.bench.loadgen CONFIG.json OUT.json

CONFIG: {"base", "rate", "duration", "mix": {"case": w, "list": w, "summary": w}, "tag",
"territory": {Territory fields}, "max_connections", "seed"}. OUT: {"sent", "late_max",
"samples": [[scheduled offset s, kind, status, latency s], ...]}; status 0 is a connection
error or a timeout. HTTP/1.1 keep-alive over asyncio streams, a pool of connections that grows
while the server is slow (up to `max_connections`), so the generator itself stays cheap.

`run_generator` starts it as a process of its own, pinned away from the server when asked.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.bench.common import LOGS, ROOT, TOPICS, Territory, case_body, pinned

TIMEOUT = 30.0
# A kept-alive connection idle this long may be closed by uvicorn (timeout_keep_alive 5 s).
MAX_IDLE = 3.0


@dataclass
class Result:
    """What one generator run measured."""

    sent: int
    late_max: float
    samples: list[tuple[float, str, int, float]]

    def of(
        self, kind: str | None = None, after: float = 0.0
    ) -> list[tuple[float, str, int, float]]:
        """Samples of one kind (all when None) scheduled at or after `after` seconds."""
        return [s for s in self.samples if (kind is None or s[1] == kind) and s[0] >= after]


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.idle_since = reader, writer, time.monotonic()

    async def request(self, raw: bytes) -> tuple[int, bool]:
        """Send one request; its status and whether the server keeps the connection."""
        self.writer.write(raw)
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        status = int(line.split()[1])
        length, chunked, keep = -1, False, True
        while True:
            header = await self.reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = b"close" not in value.lower()
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
        elif length >= 0:
            await self.reader.readexactly(length)
        elif status not in (204, 304):
            await self.reader.read()
            keep = False
        return status, keep

    def close(self) -> None:
        self.writer.close()


class _Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[_Conn] = []
        self.slots = asyncio.Semaphore(limit)

    async def send(self, raw: bytes) -> int:
        async with self.slots:
            conn = None
            while self.idle and conn is None:
                candidate = self.idle.pop()  # the most recent: the rest go idle and are dropped
                if time.monotonic() - candidate.idle_since < MAX_IDLE:
                    conn = candidate
                else:
                    candidate.close()
            if conn is None:
                conn = _Conn(*await asyncio.open_connection(self.host, self.port))
            try:
                status, keep = await conn.request(raw)
            except BaseException:
                conn.close()
                raise
            if keep:
                conn.idle_since = time.monotonic()
                self.idle.append(conn)
            else:
                conn.close()
            return status


def _request(
    method: str, host: str, path: str, token: str, body: Any = None, key: bool = False
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
    if key:
        head += f"Idempotency-Key: {uuid.uuid4()}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    data = json.dumps(body, ensure_ascii=False).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def generate(config: dict[str, Any]) -> Result:
    """Send at `rate` per second for `duration` seconds; every request's status and latency."""
    url = urlsplit(config["base"])
    host = url.netloc
    pool = _Pool(url.hostname or "127.0.0.1", url.port or 80, config.get("max_connections", 256))
    territory = Territory(**config["territory"])
    token = territory.staff_token
    rng = random.Random(config.get("seed", 0))
    kinds = list(config["mix"])
    weights = [config["mix"][k] for k in kinds]
    rate, duration, tag = float(config["rate"]), float(config["duration"]), config["tag"]
    samples: list[tuple[float, str, int, float]] = []
    loop = asyncio.get_running_loop()

    async def one(kind: str, raw: bytes, at: float) -> None:
        try:
            status = await asyncio.wait_for(pool.send(raw), TIMEOUT)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            status = 0
        samples.append((at - start, kind, status, loop.time() - at))

    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.2
    late_max = 0.0
    n = 0
    while (at := start + n / rate) < start + duration:
        kind = rng.choices(kinds, weights)[0]
        if kind == "case":
            title = f"{rng.choice(TOPICS)}（{tag}-{n}）"
            body = case_body(rng, territory, title)
            raw = _request("POST", host, "/v1/cases", token, body, key=n % 2 == 0)
        elif kind == "list":
            raw = _request("GET", host, "/v1/cases?limit=20", token)
        else:
            raw = _request("GET", host, f"/v1/stats/summary?unit_id={territory.town}", token)
        if (delay := at - loop.time()) > 0:
            await asyncio.sleep(delay)
        else:
            late_max = max(late_max, -delay)
        task = loop.create_task(one(kind, raw, at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(tasks)
    return Result(n, late_max, sorted(samples))


def run_generator(
    name: str, config: dict[str, Any], cpus: set[int] | None
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the generator as a process of its own (pinned to `cpus`); its result file."""
    LOGS.mkdir(parents=True, exist_ok=True)
    config_path, out = LOGS / f"{name}-loadgen.json", LOGS / f"{name}-result.json"
    config_path.write_text(json.dumps(config))
    out.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.loadgen", str(config_path), str(out)],
        cwd=ROOT,
        preexec_fn=pinned(cpus),
    )
    return proc, out


def read_result(proc: subprocess.Popen[bytes], out: Path) -> Result:
    """Wait for a generator process and read what it measured."""
    if proc.wait() != 0 or not out.exists():
        raise SystemExit("the load generator failed")
    data = json.loads(out.read_text())
    return Result(data["sent"], data["late_max"], [tuple(s) for s in data["samples"]])


def config(
    base: str, rate: float, duration: float, territory: Territory, mix: dict[str, float]
) -> dict[str, Any]:
    """A generator configuration with a fresh tag (titles stay unique across runs)."""
    return {
        "base": base,
        "rate": rate,
        "duration": duration,
        "mix": mix,
        "tag": uuid.uuid4().hex[:6],
        "territory": asdict(territory),
        "max_connections": 256,
        "seed": random.randrange(1 << 30),
    }


def main() -> None:
    """Run one configuration and write the result."""
    cfg = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop

        result = uvloop.run(generate(cfg))
    except ImportError:
        result = asyncio.run(generate(cfg))
    Path(sys.argv[2]).write_text(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
