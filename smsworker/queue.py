"""Every Redis key and command smsworker uses.

Key layout (``Q`` is the queue name, ``sms_queue`` by default):

- ``Q``                       list. Producers ``LPUSH`` tasks; workers take from the right (FIFO).
- ``Q:dead``                  list. Dead-letter envelopes (JSON), newest on the left. The name is
                              configurable (``dead_letter_queue``).
- ``Q:processing:<worker>``   list. Tasks a worker has claimed and not yet settled. A task leaves it
                              only once every recipient is sent or dead-lettered, in the same
                              script that records the outcome.
- ``Q:workers``               set. Worker ids (``host:pid:token``) that may own a processing list.
- ``Q:heartbeat:<worker>``    string with a TTL (``heartbeat_ttl``), renewed every third of it. Its
                              value says which process beats (host, pid, boot id, pid namespace,
                              start time), so a worker on the same machine can tell a dead process
                              at once without mistaking one in another container for it.
- ``Q:settled:<worker>``      string with a TTL. The number of the worker's last settle batch, so a
                              settle run again after a lost reply writes nothing twice.
- ``Q:progress:<key>``        hash. E.164 number -> ``1`` once the provider confirmed it, or the
                              reservation (``r <worker> <flight>``) of the request about to send it.
                              A recovered task skips what is ``1``; a second claimant of the same
                              recipient waits for the holder, or takes over when it is dead.
                              ``<key>`` is ``id:<id>`` when the producer gave an idempotency ``id``
                              (kept a day after the task), else ``d:<delivery>``, the token stamped
                              on the claimed element (deleted with the task).
- ``Q:ratelimit:<provider>``  string with a TTL. The GCRA state of ``--rate-limit``, shared by every
                              worker on this Redis (see ``ratelimit.py``).
- ``Q:stats``                 hash. Counters: ``sent`` and ``dead`` recipients, ``tasks`` settled,
                              ``segments`` (SMS parts, as the first provider counts them).

Elements in processing lists may carry a stamp (``stamps.py``): a delivery token, a crash count and
a check. A task that takes more than one provider request is stamped when claimed; recovery from a
dead worker stamps every element it moves, counting the crash.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from smsworker import lua
from smsworker.stamps import crashed_once_more

PROGRESS_TTL_S = 7 * 24 * 3600
IDEMPOTENCY_TTL_S = 24 * 3600
SETTLE_MARKER_TTL_S = 7 * 24 * 3600


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class SettleOp:
    """One task's outcome, as ``settle`` records it."""

    element: bytes
    progress_key: str | None = None
    keep_progress: bool = False
    envelopes: tuple[bytes, ...] = ()
    sent: int = 0
    dead: int = 0
    segments: int = 0


@dataclass(frozen=True)
class Stats:
    queue: int
    processing: int
    dead: int
    workers: int
    sent_total: int
    dead_total: int
    tasks_total: int
    segments_total: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class RedisQueue:
    """The queue's Redis side, for one queue name. Thread-safe (redis-py pools connections)."""

    def __init__(
        self, client: redis.Redis, queue: str, dead_letter_key: str, *, use_blmove: bool | None = None
    ) -> None:
        """``use_blmove`` None asks the server (BLMOVE needs Redis 6.2; older gets BRPOPLPUSH)."""
        self.client = client
        # redis-py's stubs type replies as "Awaitable | Any" unions that fit neither client; the
        # replies here are bytes, lists and ints, converted where they are used.
        self._r: Any = client
        self.queue = queue
        self.dead_key = dead_letter_key
        self.workers_key = f"{queue}:workers"
        self.stats_key = f"{queue}:stats"
        self._requeue = client.register_script(lua.REQUEUE)
        self._requeue_orphans = client.register_script(lua.REQUEUE_ORPHANS)
        self._claim_many = client.register_script(lua.CLAIM_MANY)
        self._stamp = client.register_script(lua.STAMP)
        self._settle = client.register_script(lua.SETTLE)
        self._replay = client.register_script(lua.REPLAY)
        self._use_blmove = use_blmove

    def processing_key(self, worker_id: str) -> str:
        return f"{self.queue}:processing:{worker_id}"

    def heartbeat_key(self, worker_id: str) -> str:
        return f"{self.queue}:heartbeat:{worker_id}"

    def settle_marker_key(self, worker_id: str) -> str:
        return f"{self.queue}:settled:{worker_id}"

    def progress_key(self, task_id: str | None, token: str | None) -> str | None:
        if task_id is not None:
            return f"{self.queue}:progress:id:{task_id}"
        if token is not None:
            return f"{self.queue}:progress:d:{token}"
        return None

    # -- fetching ---------------------------------------------------------------------------

    def supports_blmove(self) -> bool:
        if self._use_blmove is None:
            version = str(self._r.info("server").get("redis_version", "0"))
            self._use_blmove = tuple(int(p) for p in version.split(".")[:2]) >= (6, 2)
        return self._use_blmove

    def claim(self, worker_id: str, timeout_s: float) -> bytes | None:
        """Atomically move the oldest task into ``worker_id``'s processing list; None on timeout."""
        dest = self.processing_key(worker_id)
        element: bytes | None
        if self.supports_blmove():
            element = self._r.blmove(self.queue, dest, timeout_s, "RIGHT", "LEFT")
        else:
            element = self._r.brpoplpush(self.queue, dest, int(max(1, timeout_s)))
        return element

    def claim_many(self, worker_id: str, count: int) -> list[bytes]:
        """Up to ``count`` tasks at once, oldest first, without blocking."""
        claimed: list[bytes] = self._claim_many(
            keys=[self.queue, self.processing_key(worker_id)], args=[count]
        )
        return claimed

    def stamp_claimed(self, worker_id: str, element: bytes, stamped: bytes) -> bool:
        """Replace the element just claimed by its ``stamped`` form; safe to run again.

        False if the element is no longer where it was claimed to (Redis lost its data in between).
        """
        return bool(self._stamp(keys=[self.processing_key(worker_id)], args=[element, stamped]))

    def holds(self, worker_id: str, element: bytes) -> bool:
        """Whether ``element`` is (still) in ``worker_id``'s processing list."""
        try:
            return self._r.lpos(self.processing_key(worker_id), element) is not None
        except redis.ResponseError:  # LPOS needs Redis 6.0.6
            return element in self.processing(worker_id)

    def processing(self, worker_id: str) -> list[bytes]:
        elements: list[bytes] = self._r.lrange(self.processing_key(worker_id), 0, -1)
        return elements

    def requeue_orphans(self, worker_id: str, elements: Sequence[bytes]) -> int:
        """Put back at the front of the queue those of ``elements`` still in the processing list."""
        keys = [self.processing_key(worker_id), self.queue]
        return int(self._requeue_orphans(keys=keys, args=list(elements)))

    # -- settling ---------------------------------------------------------------------------------

    def settle(self, worker_id: str, batch: int, ops: Sequence[SettleOp]) -> list[bool]:
        """Record tasks' outcomes and drop them from the processing list, in one script.

        Returns, per task, whether it was recorded: False for a task no longer in the processing
        list (another worker recovered it and records it). ``batch`` numbers this worker's settle
        calls in order; running the same batch again (a lost reply) changes nothing and answers
        as the first run did.
        """
        keys = [
            self.processing_key(worker_id),
            self.dead_key,
            self.stats_key,
            self.settle_marker_key(worker_id),
        ]
        args: list[Any] = [batch, SETTLE_MARKER_TTL_S, IDEMPOTENCY_TTL_S]
        for op in ops:
            progress = 0
            if op.progress_key is not None:
                keys.append(op.progress_key)
                progress = len(keys)
            args += [op.element, progress, int(op.keep_progress), op.sent, op.dead, op.segments]
            args += [len(op.envelopes), *op.envelopes]
        applied = self._settle(keys=keys, args=args)
        return [flag == ord("1") for flag in bytes(applied or b"")]

    # -- workers: heartbeats and recovery -------------------------------------------------------

    def heartbeat(self, worker_id: str, ttl_s: int, identity: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self.workers_key, worker_id)
        pipe.set(self.heartbeat_key(worker_id), identity, ex=ttl_s)
        pipe.execute()

    def requeue_worker(self, worker_id: str, *, crashed: bool = False) -> int:
        """Put everything in ``worker_id``'s processing list back at the front of the queue.

        ``crashed``: its owner died holding them; each element goes back with its crash count up.
        """
        keys = [
            self.processing_key(worker_id),
            self.queue,
            self.workers_key,
            self.heartbeat_key(worker_id),
            self.settle_marker_key(worker_id),
        ]
        swaps: list[bytes] = []
        if crashed:
            for element in self._r.lrange(keys[0], 0, -1):
                swaps += [element, crashed_once_more(element)]
        return int(self._requeue(keys=keys, args=[worker_id, *swaps]))

    def known_workers(self) -> set[str]:
        ids = {w.decode() for w in self._r.smembers(self.workers_key)}
        # A processing list whose owner is not registered (it was judged dead while still running)
        # would otherwise never be looked at again.
        prefix = self.processing_key("")
        for key in self._r.scan_iter(match=_glob_escape(prefix) + "*", count=500):
            ids.add(key.decode()[len(prefix) :])
        return ids

    def heartbeats(self, worker_ids: Sequence[str]) -> dict[str, bytes | None]:
        """Each worker's heartbeat value, None where it has expired."""
        pipe = self._r.pipeline(transaction=False)
        for worker_id in worker_ids:
            pipe.get(self.heartbeat_key(worker_id))
        return dict(zip(worker_ids, pipe.execute(), strict=True))

    # -- inspection and the dead-letter list ----------------------------------------------------

    def stats(self) -> Stats:
        workers = sorted(self.known_workers())
        pipe = self._r.pipeline(transaction=False)
        pipe.llen(self.queue)
        pipe.llen(self.dead_key)
        pipe.hgetall(self.stats_key)
        for worker_id in workers:
            pipe.llen(self.processing_key(worker_id))
        for worker_id in workers:
            pipe.exists(self.heartbeat_key(worker_id))
        queue_len, dead_len, counters, *rest = pipe.execute()
        count = {k.decode(): int(v) for k, v in counters.items()}
        return Stats(
            queue=queue_len,
            processing=sum(rest[: len(workers)]),
            dead=dead_len,
            workers=sum(1 for alive in rest[len(workers) :] if alive),
            sent_total=count.get("sent", 0),
            dead_total=count.get("dead", 0),
            tasks_total=count.get("tasks", 0),
            segments_total=count.get("segments", 0),
        )

    def length(self) -> int:
        return int(self._r.llen(self.queue))

    def push(self, *payloads: bytes) -> int:
        return int(self.client.lpush(self.queue, *payloads))

    def dead_letters(self, limit: int | None = None) -> list[bytes]:
        """Newest first."""
        entries: list[bytes] = self._r.lrange(self.dead_key, 0, -1 if limit is None else limit - 1)
        return entries

    def dead_letters_oldest_first(self, chunk: int = 500) -> Iterator[bytes]:
        """A snapshot of the dead-letter list, oldest first, read in chunks."""
        end = self._r.llen(self.dead_key)
        while end > 0:
            start = max(0, end - chunk)
            yield from reversed(self._r.lrange(self.dead_key, start, end - 1))
            end = start

    def replay(self, envelope: bytes, task: bytes) -> bool:
        """Move one envelope's task back to the queue; False if it was no longer in the list."""
        return bool(self._replay(keys=[self.dead_key, self.queue], args=[envelope, task]))

    def purge_dead(self) -> int:
        pipe = self._r.pipeline(transaction=True)
        pipe.llen(self.dead_key)
        pipe.delete(self.dead_key)
        return int(pipe.execute()[0])


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
