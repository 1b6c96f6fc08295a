"""The worker's Redis calls for a test: ``WorkerRedis`` under a guard that never sleeps, and a pace
for the retries of a whole ``Worker``."""

from __future__ import annotations

import time
from typing import Any

from smsworker.store.queue import RedisQueue
from smsworker.worker.guarded import RedisGuard, WorkerRedis
from smsworker.worker.stopping import Stopping
from tests.support.logs import LogCapture


def worker_redis(queue: RedisQueue, worker_id: str = "me:1:m", *, log: Any | None = None) -> WorkerRedis:
    """``WorkerRedis`` for ``worker_id``, its retries not waiting at all (nothing here fails for long)."""
    guard = RedisGuard(log or LogCapture().logger, Stopping(5.0), wait=lambda s: None)
    return WorkerRedis(queue, guard, worker_id)


def tenth_of_backoff(seconds: float) -> None:
    """A worker's wait between Redis retries (``Worker(wait=...)``), ten times shorter: a test does
    not sleep through the real backoff, and a Redis that keeps failing is still not asked in a
    busy loop (each retry logs)."""
    time.sleep(seconds / 10)
