"""Heartbeats for one worker, and the recovery of workers that stopped beating."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from smsworker.queue import RedisQueue


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Liveness:
    def __init__(self, queue: RedisQueue, worker_id: str, ttl_s: int, log: Any) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self.ttl_s = ttl_s
        self.log = log
        self.hostname = socket.gethostname()
        self.stopped = threading.Event()

    def beat(self) -> None:
        self.queue.heartbeat(self.worker_id, self.ttl_s)

    def recover_dead(self) -> int:
        """Put dead workers' unfinished tasks back at the front of the queue; how many were moved."""
        total = 0
        for dead in self.queue.dead_workers(self.worker_id, hostname=self.hostname, pid_alive=pid_alive):
            moved = self.queue.requeue_worker(dead)
            self.log.warning("worker.recovered", dead_worker=dead, tasks=moved)
            total += moved
        return total

    def start(self, *, recover_while: Callable[[], bool]) -> None:
        """Beat every third of the TTL and, while ``recover_while()``, recover every TTL."""
        thread = threading.Thread(target=self._loop, args=(recover_while,), name="smsworker-heartbeat")
        thread.daemon = True
        thread.start()

    def _loop(self, recover_while: Callable[[], bool]) -> None:
        next_recovery = time.monotonic() + self.ttl_s
        # A beat at a third of the TTL survives two missed beats (a slow Redis, a GC pause).
        while not self.stopped.wait(self.ttl_s / 3):
            try:
                self.beat()
                if time.monotonic() >= next_recovery and recover_while():
                    next_recovery = time.monotonic() + self.ttl_s
                    self.recover_dead()
            except redis.RedisError as exc:
                self.log.warning("heartbeat.failed", error=str(exc))
