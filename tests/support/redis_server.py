"""A private redis-server for one test session, on a free port. Never the machine's shared 6379."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

# Each pytest-xdist worker takes its ports from a block of its own: the kernel's "any free port" may
# hand one worker the port it has just handed another, which has not bound it yet. Below the kernel's
# ephemeral range (32768-), so no client connection holds them either.
PORTS_PER_WORKER = 1_000
WORKERS_AT_MOST = 10


def _worker_block(base: int) -> range:
    """This test process's ports above ``base``: gw0 (or no xdist) the first block, gw1 the next..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(name) % WORKERS_AT_MOST if name.isdigit() else 0
    start = base + index * PORTS_PER_WORKER
    return range(start, start + PORTS_PER_WORKER)


def _bindable(*ports: int) -> bool:
    try:
        with socket.socket() as one, socket.socket() as two:
            one.bind(("127.0.0.1", ports[0]))
            if len(ports) > 1:
                two.bind(("127.0.0.1", ports[1]))
    except OSError:
        return False
    return True


def free_port() -> int:
    """A port nothing listens on, from this test process's own block (10,000-19,999 in all)."""
    block, rng = _worker_block(10_000), random.Random()
    while not _bindable(port := rng.choice(block)):
        pass
    return port


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10,000) is free and valid too (20,000-29,999 in all, the
    bus ports 30,000-39,999): an ephemeral port from the kernel may be above 55,535, and its bus port
    then does not exist."""
    block, rng = _worker_block(20_000), random.Random()
    while not _bindable(port := rng.choice(block), port + 10_000):
        pass
    return port


class RedisServer:
    def __init__(
        self,
        workdir: Path,
        *,
        appendonly: bool = False,
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        self.binary = binary
        self.workdir = workdir
        self.appendonly = appendonly
        self.extra_args = extra_args
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--dir",
            str(self.workdir),
            "--logfile",
            str(self.workdir / "redis.log"),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(args)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError as exc:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = self.workdir / "redis.log"
                    raise RuntimeError(f"redis-server did not start; see {log}") from exc
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)
