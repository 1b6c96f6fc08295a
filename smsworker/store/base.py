"""What every part of ``RedisQueue`` shares: the client, the queue's keys, its registered scripts."""

from __future__ import annotations

from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from smsworker.store import scripts
from smsworker.store.keys import Keys


class QueueBase:
    """One queue's client and keys; the parts of ``RedisQueue`` (claiming, settling, workers,
    inspection, dead letters) are mixins of it, so they share one client and one set of scripts."""

    def __init__(self, client: redis.Redis, queue: str, dead_letter_key: str) -> None:
        self.client = client
        # redis-py's stubs type replies as "Awaitable | Any" unions that fit neither client; the
        # replies here are bytes, lists and ints, converted where they are used.
        self._r: Any = client
        self.name = queue
        self.keys = Keys(queue, dead_letter_key)
        self.in_cluster = isinstance(client, RedisCluster)
        self._scripts: dict[str, Script] = {}

    def _script(self, source: str) -> Script:
        """The script ``source`` registered on this client (registering computes its SHA only; a
        race between two threads registers it twice, harmlessly)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = scripts.register(self.client, source)
        return script


def glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
