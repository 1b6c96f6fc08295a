"""A private Redis Sentinel on a free port, watching a primary the test started. Never 26379."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import redis

from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until


class LocalSentinel:
    def __init__(self, workdir: Path, primary: RedisServer, *, master: str = "mymaster") -> None:
        self.workdir = workdir
        self.primary = primary
        self.master = master
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "sentinel.conf"  # a sentinel rewrites its file: one of its own
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {self.master} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {self.master} 1000\n"
            f"sentinel failover-timeout {self.master} 5000\n"
        )
        self.process = subprocess.Popen(
            [self.primary.binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL
        )
        wait_until(self._knows_the_primary, timeout_s=30, what="the sentinel to answer for its primary")

    def _knows_the_primary(self) -> bool:
        client: Any = self.client()
        try:
            return client.sentinel_get_master_addr_by_name(self.master) is not None
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
