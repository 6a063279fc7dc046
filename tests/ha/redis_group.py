"""A Redis master, its replica and three Sentinels (quorum 2) on spare ports of 127.0.0.1, all
the `redis-server` the embedded package ships (`--sentinel` makes it a Sentinel)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.embedded import redis_executable
from tests.processes import free_port

MASTER_NAME = "petition-desk"
SENTINELS = 3
QUORUM = 2


def _serve(args: list[str], where: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(redis_executable()), *args],
        cwd=where,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis on {port} did not answer")


async def role(port: int) -> str:
    """`master` or `slave`, as the server on `port` says of itself."""
    redis = Redis(port=port)
    try:
        info = await redis.info("replication")
        return str(info["role"])
    finally:
        await redis.aclose()


async def ask(sentinel: Redis, command: str) -> Any:
    """`SENTINEL <command> <master name>`."""
    return await sentinel.execute_command("SENTINEL", command, MASTER_NAME)  # type: ignore[no-untyped-call]


@dataclass
class RedisGroup:
    """The servers' ports and processes; `start` waits until every Sentinel knows the replica
    and the other Sentinels, so a failover can be decided from the first second."""

    where: Path
    master: int = field(default_factory=free_port)
    replica: int = field(default_factory=free_port)
    sentinels: list[int] = field(default_factory=lambda: [free_port() for _ in range(SENTINELS)])
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sentinel_setting(self) -> str:
        """`REDIS_SENTINELS` of the group."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinels)

    def start(self) -> None:
        """Start the five servers (nothing persisted) and wait for them to know each other."""
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.procs[self.master] = _serve(["--port", str(self.master), *common], self.where)
        self.procs[self.replica] = _serve(
            ["--port", str(self.replica), *common, "--replicaof", "127.0.0.1", str(self.master)],
            self.where,
        )
        for port in self.sentinels:
            conf = self.where / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master} {QUORUM}\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            )
            self.procs[port] = _serve([str(conf), "--sentinel"], self.where)
        for port in self.procs:
            _wait(port)
        asyncio.run(self._acquainted())

    async def _acquainted(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            known = []
            for port in self.sentinels:
                sentinel = Redis(port=port, decode_responses=True)
                try:
                    fields = await ask(sentinel, "MASTER")
                finally:
                    await sentinel.aclose()
                state = dict(zip(fields[::2], fields[1::2], strict=True))
                known.append(
                    int(state["num-slaves"]) == 1
                    and int(state["num-other-sentinels"]) == SENTINELS - 1
                )
            if all(known):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the Sentinels did not find the replica and each other")
            await asyncio.sleep(0.3)

    def kill(self, port: int) -> None:
        """SIGKILL the server on `port`: what it had not passed on to its replica is lost."""
        proc = self.procs[port]
        proc.kill()
        proc.wait()

    async def fail_over(self) -> None:
        """Ask a Sentinel to promote the replica (once it knows it), and wait until it has."""
        sentinel = Redis(port=self.sentinels[0])
        try:
            deadline = time.monotonic() + 40
            while True:  # until the Sentinel has heard from the replica itself
                try:
                    await ask(sentinel, "FAILOVER")
                    break
                except ResponseError as error:
                    if "NOGOODSLAVE" not in str(error) or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
            await self.until_master_is(self.replica, deadline - time.monotonic())
        finally:
            await sentinel.aclose()

    async def until_master_is(self, port: int, within: float) -> float:
        """Wait until every Sentinel names the server on `port` as the master; the seconds
        it took."""
        began = time.monotonic()
        while time.monotonic() - began < within:
            named = set()
            for sentinel_port in self.sentinels:
                sentinel = Redis(port=sentinel_port)
                try:
                    named.add(int((await ask(sentinel, "GET-MASTER-ADDR-BY-NAME"))[1]))
                except RedisError:
                    named.add(-1)
                finally:
                    await sentinel.aclose()
            if named == {port} and await role(port) == "master":
                return time.monotonic() - began
            await asyncio.sleep(0.2)
        raise AssertionError(f"the Sentinels did not name {port} the master in {within:.0f} s")

    def stop(self) -> None:
        """Stop every server still running."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
