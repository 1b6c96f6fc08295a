"""Who may own a processing list: registration, heartbeats, and putting back a dead worker's tasks."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence

from smsworker.store import scripts
from smsworker.store.base import glob_escape
from smsworker.store.lanes import Lanes
from smsworker.store.stamps import crashed_once_more


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Workers(Lanes):
    def heartbeat(self, worker_id: str, ttl_s: int, identity: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self.keys.workers, worker_id)
        pipe.set(self.keys.heartbeat(worker_id), identity, ex=ttl_s)
        pipe.execute()

    def requeue_worker(self, worker_id: str, *, crashed: bool = False) -> int:
        """Put everything in ``worker_id``'s processing list back at the front of its lanes (the
        queue without lanes, or for an element whose lane is not known).

        ``crashed``: its owner died holding them; each element goes back with its crash count up.
        """
        keys = [
            self.keys.processing(worker_id),
            self.keys.queue,
            self.keys.workers,
            self.keys.heartbeat(worker_id),
            self.keys.settle_marker(worker_id),
        ]
        origin_keys, names = self.origin_args(worker_id)
        keys += origin_keys
        swaps: list[bytes] = []
        if crashed:
            for element in self._r.lrange(keys[0], 0, -1):
                swaps += [element, crashed_once_more(element)]
        args: list[str | int | bytes] = [worker_id, len(names), *names, *swaps]
        return int(self._script(scripts.REQUEUE)(keys=keys, args=args))

    def known_workers(self) -> set[str]:
        ids = {w.decode() for w in self._r.smembers(self.keys.workers)}
        # A processing list whose owner is not registered (it was judged dead while still running)
        # would otherwise never be looked at again.
        prefix = self.keys.processing("")
        for key in self._r.scan_iter(match=glob_escape(prefix) + "*", count=500):
            ids.add(key.decode()[len(prefix) :])
        return ids

    def heartbeats(self, worker_ids: Sequence[str]) -> dict[str, bytes | None]:
        """Each worker's heartbeat value, None where it has expired."""
        pipe = self._r.pipeline(transaction=False)
        for worker_id in worker_ids:
            pipe.get(self.keys.heartbeat(worker_id))
        return dict(zip(worker_ids, pipe.execute(), strict=True))
