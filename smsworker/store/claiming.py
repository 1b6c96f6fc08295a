"""Claiming: tasks move from the queue into a worker's processing list, and back when orphaned.

Every move is one LMOVE (BRPOPLPUSH before Redis 6.2) or one script, so an element is in exactly
one list at every moment and a worker that dies mid-claim leaves its tasks where recovery looks.
"""

from __future__ import annotations

from collections.abc import Sequence

from smsworker.store import scripts
from smsworker.store.errors import ResponseError
from smsworker.store.lanes import DEFAULT_LANE, Lanes


class Claiming(Lanes):
    def cluster_primaries(self) -> int:
        return len(self._r.get_primaries()) if self.in_cluster else 0

    def claim(self, worker_id: str, timeout_s: float) -> bytes | None:
        """Atomically move the oldest task into ``worker_id``'s processing list; None on timeout."""
        dest = self.keys.processing(worker_id)
        element: bytes | None
        if self.supports_blmove():
            element = self._r.blmove(self.keys.queue, dest, timeout_s, "RIGHT", "LEFT")
        else:
            element = self._r.brpoplpush(self.keys.queue, dest, int(max(1, timeout_s)))
        return element

    def claim_many(self, worker_id: str, count: int) -> list[bytes]:
        """Up to ``count`` tasks at once, oldest first, without blocking: ``take`` over every lane
        in priority order (pauses obeyed), for callers that have no plan of their own."""
        lanes = self.lane_names or (DEFAULT_LANE,)
        return [element for _, element in self.take(worker_id, [(n, count) for n in lanes], count).elements]

    def stamp_claimed(self, worker_id: str, element: bytes, stamped: bytes) -> bool:
        """Replace the element just claimed by its ``stamped`` form; safe to run again.

        False if the element is no longer where it was claimed to (Redis lost its data in between).
        """
        stamp = self._script(scripts.STAMP)
        keys = [self.keys.processing(worker_id), self.keys.origin(worker_id)]
        return bool(stamp(keys=keys, args=[element, stamped]))

    def holds(self, worker_id: str, element: bytes) -> bool:
        """Whether ``element`` is (still) in ``worker_id``'s processing list."""
        try:
            return self._r.lpos(self.keys.processing(worker_id), element) is not None
        except ResponseError:  # LPOS needs Redis 6.0.6
            return element in self.processing(worker_id)

    def processing_length(self, worker_id: str) -> int:
        return int(self._r.llen(self.keys.processing(worker_id)))

    def processing(self, worker_id: str) -> list[bytes]:
        elements: list[bytes] = self._r.lrange(self.keys.processing(worker_id), 0, -1)
        return elements

    def requeue_orphans(self, worker_id: str, elements: Sequence[bytes]) -> int:
        """Put back at the front of their lanes (the queue without lanes) those of ``elements``
        still in the processing list."""
        origin_keys, names = self.origin_args(worker_id)
        keys = [self.keys.processing(worker_id), self.keys.queue, *origin_keys]
        args: list[str | int | bytes] = [len(names), *names, *elements]
        return int(self._script(scripts.REQUEUE_ORPHANS)(keys=keys, args=args))
