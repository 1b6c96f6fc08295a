"""The moving parts a benchmark or chaos run needs: a private Redis, the fake API, worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until as wait_for

ROOT = Path(__file__).resolve().parent.parent
# glibc's malloc arenas, as systemd/smsworker.service sets them (one per core by default, each
# holding freed memory): what the memory figures are measured with.
MALLOC_ARENA_MAX = os.environ.get("MALLOC_ARENA_MAX", "2")
__all__ = ["SIGTERM", "Api", "Proc", "Rig", "mobiles", "percentile", "php_task", "rig", "wait_for"]


def php_task(template_id: int, mobiles: list[str], content: str = "Test SMS") -> bytes:
    """Exactly what the seed's json_encode writes."""
    return json.dumps(
        {"template_id": template_id, "mobiles": mobiles, "content": content}, separators=(",", ":")
    ).encode()


def mobiles(start: int, count: int) -> list[str]:
    return [f"138{n:08d}" for n in range(start, start + count)]


class Api:
    """The fake provider in its own process, so it does not share the GIL with what it measures."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/sms"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.fakeapi",
                "--port",
                str(self.port),
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=ROOT,
        )
        self._session = requests.Session()
        wait_for(lambda: self._ping(), timeout_s=10, what="the fake API")

    def _ping(self) -> bool:
        try:
            return self._session.get(self.base("/stats"), timeout=1).ok
        except requests.RequestException:
            return False

    def base(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._session.get(self.base("/stats"), timeout=30).json()
        return result

    def received(self) -> dict[str, list[float]]:
        result: dict[str, list[float]] = self._session.get(self.base("/received"), timeout=60).json()
        return result

    def set_mode(self, mode: str, latency_ms: float | None = None) -> None:
        change: dict[str, Any] = {"mode": mode}
        if latency_ms is not None:
            change["latency_ms"] = latency_ms
        self._session.post(self.base("/mode"), json=change, timeout=5)

    def stop(self) -> None:
        """Idempotent: a scenario stops its API when done, the rig again when it closes."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        self._session.close()


class Proc:
    """A child process whose peak RSS we can read when it exits (wait4's rusage)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=self._log)
        self.returncode: int | None = None
        self.peak_rss_mb: float | None = None
        # User + system CPU of the process and of the children it waited for (--processes).
        self.cpu_s: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS:")

    def _status_mb(self, field: str) -> float:
        try:
            lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        except OSError:  # exited meanwhile
            return 0.0
        for line in lines:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        return 0.0

    def signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def wait(self, timeout_s: float = 600) -> int:
        """Wait for the exit; meanwhile note the process's own peak RSS (VmHWM). Not wait4's
        ru_maxrss: Linux carries the high-water mark across exec, and a child forked from this
        (large) process starts with this process's."""
        deadline = time.monotonic() + timeout_s
        peak = 0.0
        while self.returncode is None:
            peak = max(peak, self._status_mb("VmHWM:"))
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self.peak_rss_mb = peak or None
                self.cpu_s = usage.ru_utime + usage.ru_stime
                self.process.returncode = self.returncode
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.process.args!r} did not exit in {timeout_s} s; see {self.log}")
            time.sleep(0.01)
        self._log.close()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None and self.process.poll() is None:
            self.process.kill()
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                self.wait(10)


class Rig:
    """One private redis-server plus the processes started against it."""

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        self.workdir = workdir
        self.redis_server = RedisServer(workdir / "redis", appendonly=appendonly)
        self.redis_server.start()
        self.redis = self.redis_server.client()
        self.procs: list[Proc] = []
        self.apis: list[Api] = []

    def api(self, latency_ms: float = 0.0) -> Api:
        """A fake provider stopped with the rig, even when a scenario fails half-way."""
        api = Api(latency_ms)
        self.apis.append(api)
        return api

    def fill(self, payloads: list[bytes], chunk: int = 2000) -> None:
        for i in range(0, len(payloads), chunk):
            self.redis.lpush("sms_queue", *payloads[i : i + chunk])

    def smsworker(self, command: str, *args: str, **env: str) -> Proc:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMSWORKER_")}
        full_env.update(SMSWORKER_REDIS_URL=self.redis_server.url, SMSWORKER_LOG_FORMAT="json")
        # The allocator setting the systemd units ship with, unless the caller chose another.
        full_env.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
        full_env.update(env)  # may point the worker elsewhere, e.g. at a fault proxy
        proc = Proc(
            [sys.executable, "-m", "smsworker", command, *args],
            full_env,
            self.workdir / f"smsworker-{len(self.procs)}.log",
        )
        self.procs.append(proc)
        return proc

    def bareloop(self, api: Api, *args: str) -> Proc:
        proc = Proc(
            [
                sys.executable,
                "-m",
                "bench.bareloop",
                "--url",
                api.url,
                "--redis-url",
                self.redis_server.url,
                *args,
            ],
            dict(os.environ),
            self.workdir / f"bare-{len(self.procs)}.log",
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for api in self.apis:
            api.stop()
        self.redis.close()
        self.redis_server.stop()


@contextmanager
def rig(workdir: Path, **kwargs: Any) -> Iterator[Rig]:
    workdir.mkdir(parents=True, exist_ok=True)
    # Many sockets at concurrency 256, plus the fake API's: lift the soft limit where we may.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    current = Rig(workdir, **kwargs)
    try:
        yield current
    finally:
        current.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


SIGTERM = signal.SIGTERM
