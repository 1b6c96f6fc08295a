"""Every Redis command smsworker runs, on the keys ``keys.py`` names.

Tasks move between lists only inside one Lua script or MULTI/EXEC (``scripts/*.lua`` say why each script
is shaped as it is), so a crash between two commands never loses or duplicates an element.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.cluster import RedisCluster

from smsworker.store import scripts
from smsworker.store.keys import IDEMPOTENCY_TTL_S, RECEIPT_TTL_S, SETTLE_MARKER_TTL_S, Keys
from smsworker.store.stamps import crashed_once_more


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
    # What each recipient became (number -> state JSON), in the task's status hash (a task with an id).
    # A state a delivery report wrote there first is kept.
    status_key: str | None = None
    statuses: tuple[tuple[str, bytes], ...] = ()
    # Fields of the status hash to remove: the numbers as pushed, where the producer wrote them
    # ``queued`` (the states are kept under E.164).
    status_drops: tuple[str, ...] = ()
    # With --receipts-list: for each of ``statuses``, the JSON pushed to the changes list when written.
    changes: tuple[bytes, ...] = ()
    # Receipt records for the numbers a vendor accepted with an id: (key, JSON). One that exists
    # already (the sender's, or one a report has marked) is kept.
    receipts: tuple[tuple[str, bytes], ...] = ()
    # With --dead-letter-undelivered: (key, the producer's bytes), kept with the receipts so that a
    # report of "undelivered" can dead-letter the recipient in a task that can be replayed.
    payload: tuple[str, bytes] | None = None


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
    # Delivery reports: recipients reported delivered / undelivered, and reports nothing was known of.
    delivered_total: int = 0
    undelivered_total: int = 0
    unmatched_reports: int = 0
    awaiting_receipt: int = 0  # accepted with a vendor id, no report yet (within the receipt TTL)
    held_reports: int = 0  # reports that came before their task settled, waiting for its receipt

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
        self.name = queue
        self.keys = Keys(queue, dead_letter_key)
        self._requeue = scripts.register(client, scripts.REQUEUE)
        self._requeue_orphans = scripts.register(client, scripts.REQUEUE_ORPHANS)
        self._claim_many = scripts.register(client, scripts.CLAIM_MANY)
        self._stamp = scripts.register(client, scripts.STAMP)
        self._settle = scripts.register(client, scripts.SETTLE)
        self._replay = scripts.register(client, scripts.REPLAY)
        self._rate_limit = scripts.register(client, scripts.RATE_LIMIT)
        self._head_age = scripts.register(client, scripts.HEAD_AGE)
        self._use_blmove = use_blmove
        self.in_cluster = isinstance(client, RedisCluster)

    def take_turn(self, provider: str, interval_ms: float) -> float:
        """One request's turn under ``--rate-limit``: 0 if it may go now, else how many ms to wait."""
        return float(self._rate_limit(keys=[self.keys.ratelimit(provider)], args=[interval_ms]))

    # -- fetching ---------------------------------------------------------------------------

    def cluster_primaries(self) -> int:
        return len(self._r.get_primaries()) if self.in_cluster else 0

    def supports_blmove(self) -> bool:
        if self._use_blmove is None:
            version = str(self._r.info("server").get("redis_version", "0"))
            self._use_blmove = tuple(int(p) for p in version.split(".")[:2]) >= (6, 2)
        return self._use_blmove

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
        """Up to ``count`` tasks at once, oldest first, without blocking."""
        claimed: list[bytes] = self._claim_many(
            keys=[self.keys.queue, self.keys.processing(worker_id)], args=[count]
        )
        return claimed

    def stamp_claimed(self, worker_id: str, element: bytes, stamped: bytes) -> bool:
        """Replace the element just claimed by its ``stamped`` form; safe to run again.

        False if the element is no longer where it was claimed to (Redis lost its data in between).
        """
        return bool(self._stamp(keys=[self.keys.processing(worker_id)], args=[element, stamped]))

    def holds(self, worker_id: str, element: bytes) -> bool:
        """Whether ``element`` is (still) in ``worker_id``'s processing list."""
        try:
            return self._r.lpos(self.keys.processing(worker_id), element) is not None
        except redis.ResponseError:  # LPOS needs Redis 6.0.6
            return element in self.processing(worker_id)

    def processing_length(self, worker_id: str) -> int:
        return int(self._r.llen(self.keys.processing(worker_id)))

    def processing(self, worker_id: str) -> list[bytes]:
        elements: list[bytes] = self._r.lrange(self.keys.processing(worker_id), 0, -1)
        return elements

    def requeue_orphans(self, worker_id: str, elements: Sequence[bytes]) -> int:
        """Put back at the front of the queue those of ``elements`` still in the processing list."""
        keys = [self.keys.processing(worker_id), self.keys.queue]
        return int(self._requeue_orphans(keys=keys, args=list(elements)))

    # -- settling ---------------------------------------------------------------------------------

    def settle(
        self,
        worker_id: str,
        batch: int,
        ops: Sequence[SettleOp],
        *,
        receipt_ttl_s: int = RECEIPT_TTL_S,
        changes_max: int = 0,
    ) -> list[bool]:
        """Record tasks' outcomes and drop them from the processing list, in one script.

        Returns, per task, whether it was recorded: False for a task no longer in the processing
        list (another worker recovered it and records it). ``batch`` numbers this worker's settle
        calls in order; running the same batch again (a lost reply) changes nothing and answers
        as the first run did.
        """
        keys = [
            self.keys.processing(worker_id),
            self.keys.dead,
            self.keys.stats,
            self.keys.settle_marker(worker_id),
            self.keys.awaiting,
            self.keys.changes,
            self.keys.minute(int(time.time() // 60)),
            self.keys.held,
            self.keys.held_due,
        ]
        hashes = [k for op in ops for k in (op.progress_key, op.status_key) if k is not None]
        strings = [key for op in ops for key, _ in op.receipts]
        strings += [op.payload[0] for op in ops if op.payload is not None]
        first_string = len(keys) + len(hashes) + 1
        keys += hashes + strings
        index = {key: n for n, key in enumerate(keys, start=1)}  # Lua counts from 1
        at: dict[str | None, int] = {None: 0}
        at.update(index)
        args: list[Any] = [batch, SETTLE_MARKER_TTL_S, IDEMPOTENCY_TTL_S, first_string, receipt_ttl_s]
        args += [time.time(), changes_max]
        for op in ops:
            args += [op.element, at[op.progress_key], int(op.keep_progress), op.sent, op.dead, op.segments]
            args += [len(op.envelopes), *op.envelopes]
            changes = op.changes if changes_max > 0 and op.changes else (b"",) * len(op.statuses)
            args += [at[op.status_key], len(op.statuses)]
            for (number, state), change in zip(op.statuses, changes, strict=True):
                args += [number, state, change]
            args += [len(op.status_drops), *op.status_drops]
            args += [len(op.receipts), *(item for key, value in op.receipts for item in (index[key], value))]
            args += [index[op.payload[0]], op.payload[1]] if op.payload is not None else [0]
        applied = self._settle(keys=keys, args=args)
        return [flag == ord("1") for flag in bytes(applied or b"")]

    # -- workers: heartbeats and recovery -------------------------------------------------------

    def heartbeat(self, worker_id: str, ttl_s: int, identity: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self.keys.workers, worker_id)
        pipe.set(self.keys.heartbeat(worker_id), identity, ex=ttl_s)
        pipe.execute()

    def requeue_worker(self, worker_id: str, *, crashed: bool = False) -> int:
        """Put everything in ``worker_id``'s processing list back at the front of the queue.

        ``crashed``: its owner died holding them; each element goes back with its crash count up.
        """
        keys = [
            self.keys.processing(worker_id),
            self.keys.queue,
            self.keys.workers,
            self.keys.heartbeat(worker_id),
            self.keys.settle_marker(worker_id),
        ]
        swaps: list[bytes] = []
        if crashed:
            for element in self._r.lrange(keys[0], 0, -1):
                swaps += [element, crashed_once_more(element)]
        return int(self._requeue(keys=keys, args=[worker_id, *swaps]))

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

    # -- inspection and the dead-letter list ----------------------------------------------------

    def stats(self) -> Stats:
        workers = sorted(self.known_workers())
        pipe = self._r.pipeline(transaction=False)
        pipe.llen(self.keys.queue)
        pipe.llen(self.keys.dead)
        pipe.hgetall(self.keys.stats)
        pipe.zcard(self.keys.awaiting)
        pipe.zcard(self.keys.held_since)
        for worker_id in workers:
            pipe.llen(self.keys.processing(worker_id))
        for worker_id in workers:
            pipe.exists(self.keys.heartbeat(worker_id))
        queue_len, dead_len, counters, awaiting, held, *rest = pipe.execute()
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
            delivered_total=count.get("delivered", 0),
            undelivered_total=count.get("undelivered", 0),
            unmatched_reports=count.get("unmatched", 0),
            awaiting_receipt=awaiting,
            held_reports=held,
        )

    def oldest_age_s(self, now: float | None = None) -> float | None:
        """How long the next task to be taken has waited, at least (``scripts.HEAD_AGE``); None: empty."""
        at = time.time() if now is None else now
        age = float(self._head_age(keys=[self.keys.queue, self.keys.head], args=[at, 7 * 24 * 3600]))
        return None if age < 0 else age

    def per_minute(self, minutes: int, now: float | None = None) -> list[tuple[int, int, int]]:
        """(minute start, sent, dead) for each of the last ``minutes`` minutes, oldest first."""
        last = int((time.time() if now is None else now) // 60)
        wanted = list(range(last - minutes + 1, last + 1))
        pipe = self._r.pipeline(transaction=False)
        for minute in wanted:
            pipe.hmget(self.keys.minute(minute), "sent", "dead")
        return [
            (minute * 60, int(sent or 0), int(dead or 0))
            for minute, (sent, dead) in zip(wanted, pipe.execute(), strict=True)
        ]

    def length(self) -> int:
        return int(self._r.llen(self.keys.queue))

    def dead_length(self) -> int:
        return int(self._r.llen(self.keys.dead))

    def push(self, *payloads: bytes) -> int:
        return int(self.client.lpush(self.keys.queue, *payloads))

    def dead_letters(self, limit: int | None = None) -> list[bytes]:
        """Newest first."""
        entries: list[bytes] = self._r.lrange(self.keys.dead, 0, -1 if limit is None else limit - 1)
        return entries

    def dead_letters_oldest_first(self, chunk: int = 500) -> Iterator[bytes]:
        """A snapshot of the dead-letter list, oldest first, read in chunks."""
        end = self._r.llen(self.keys.dead)
        while end > 0:
            start = max(0, end - chunk)
            yield from reversed(self._r.lrange(self.keys.dead, start, end - 1))
            end = start

    def replay(self, envelope: bytes, task: bytes) -> bool:
        """Move one envelope's task back to the queue; False if it was no longer in the list."""
        return bool(self._replay(keys=[self.keys.dead, self.keys.queue], args=[envelope, task]))

    def remove_dead(self, entry: bytes) -> bool:
        """Delete one dead-letter entry; False if it was no longer there."""
        return bool(self._r.lrem(self.keys.dead, 1, entry))

    def purge_dead(self) -> int:
        pipe = self._r.pipeline(transaction=True)
        pipe.llen(self.keys.dead)
        pipe.delete(self.keys.dead)
        return int(pipe.execute()[0])


def glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
