"""Every Redis key and command smsworker uses.

Key layout (``Q`` is the queue name, ``sms_queue`` by default):

- ``Q``                       list. Producers ``LPUSH`` tasks; workers take from the right (FIFO).
- ``Q:dead``                  list. Dead-letter envelopes (JSON), newest on the left. The name is
                              configurable (``dead_letter_queue``).
- ``Q:processing:<worker>``   list. Tasks a worker has claimed and not yet settled. A task leaves it
                              only once every recipient is sent or dead-lettered, in the same
                              transaction that records the outcome.
- ``Q:workers``               set. Worker ids (``host:pid:token``) that may own a processing list.
- ``Q:heartbeat:<worker>``    string with a TTL (``heartbeat_ttl``), renewed every third of it.
- ``Q:progress:<key>``        hash. E.164 number -> 1 for each recipient the provider confirmed, so a
                              recovered task does not send them again. ``<key>`` is ``id:<id>`` when
                              the producer gave an idempotency ``id`` (kept a day after the task),
                              else ``d:<delivery>``, a token stamped on the claimed element (deleted
                              with the task). Stamping is what keeps two identical tasks pushed on
                              purpose apart.
- ``Q:ratelimit:<provider>``  string with a TTL. The GCRA state of ``--rate-limit``, shared by every
                              worker on this Redis (see ``ratelimit.py``).
- ``Q:stats``                 hash. Counters: ``sent`` and ``dead`` recipients, ``tasks`` settled,
                              ``segments`` (SMS parts, as the first provider counts them).

A stamped element is ``STAMP`` + delivery token + ``\\n`` + the producer's bytes, unchanged. Only
tasks that take more than one provider request are stamped: with a single request, a crash can only
duplicate the request in flight, which the guarantees allow anyway.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from smsworker import lua

STAMP = b"\x00smsworker:"
PROGRESS_TTL_S = 7 * 24 * 3600
IDEMPOTENCY_TTL_S = 24 * 3600


def _client_options(block_timeout_s: float, username: str | None, password: str | None) -> dict[str, Any]:
    """What every client of ours is built with, whichever way it finds its server."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 5,
        # Must outlast the blocking fetch, or every idle fetch would look like a dead server.
        "socket_timeout": block_timeout_s + 5,
        "health_check_interval": 30,
        # Errors surface at once: the worker owns reconnecting, with backoff and logs.
        "retry": Retry(NoBackoff(), 0),
    }
    if username:
        options["username"] = username
    if password is not None:
        options["password"] = password
    return options


def connect(
    url: str,
    *,
    block_timeout_s: float,
    username: str | None = None,
    password: str | None = None,
    tls: Mapping[str, str] | None = None,
) -> redis.Redis:
    """A client for ``url``. ``tls`` (for rediss:// only) holds redis-py's ``ssl_ca_certs``,
    ``ssl_certfile``, ``ssl_keyfile``."""
    extra: dict[str, Any] = dict(tls or {}) if url.startswith("rediss://") else {}
    return redis.Redis.from_url(url, **extra, **_client_options(block_timeout_s, username, password))


def connect_sentinel(
    sentinels: list[tuple[str, int]],
    master: str,
    *,
    block_timeout_s: float,
    db: int = 0,
    username: str | None = None,
    password: str | None = None,
) -> redis.Redis:
    """A client for whichever server the sentinels call primary; a failover is followed on reconnect."""
    # redis-py leaves Sentinel untyped.
    watcher: Any = Sentinel(sentinels, socket_timeout=2, socket_connect_timeout=2)  # type: ignore[no-untyped-call]
    client: redis.Redis = watcher.master_for(
        master, db=db, **_client_options(block_timeout_s, username, password)
    )
    return client


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def stamp(raw: bytes, token: str) -> bytes:
    return STAMP + token.encode() + b"\n" + raw


def unstamp(element: bytes) -> tuple[str | None, bytes]:
    """(delivery token or None, the producer's original bytes)."""
    if element.startswith(STAMP):
        token, sep, raw = element[len(STAMP) :].partition(b"\n")
        if sep:
            return token.decode("ascii", "replace"), raw
    return None, element


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
        self._claim_many = client.register_script(lua.CLAIM_MANY)
        self._stamp = client.register_script(lua.STAMP)
        self._replay = client.register_script(lua.REPLAY)
        self._use_blmove = use_blmove

    def processing_key(self, worker_id: str) -> str:
        return f"{self.queue}:processing:{worker_id}"

    def heartbeat_key(self, worker_id: str) -> str:
        return f"{self.queue}:heartbeat:{worker_id}"

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
        """Atomically move the oldest task into ``worker_id``'s processing list; None on timeout.

        ``timeout_s == 0`` does not block (used by ``drain``).
        """
        dest = self.processing_key(worker_id)
        element: bytes | None
        if timeout_s <= 0:
            if self.supports_blmove():
                element = self._r.lmove(self.queue, dest, "RIGHT", "LEFT")
            else:
                element = self._r.rpoplpush(self.queue, dest)
        elif self.supports_blmove():
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

    def stamp_claimed(self, worker_id: str, element: bytes) -> tuple[str, bytes] | None:
        """Give the element just claimed a delivery token: (token, the stamped element).

        None if the element is no longer where it was claimed to (Redis lost its data in between).
        """
        token = secrets.token_hex(8)
        stamped = stamp(element, token)
        if not self._stamp(keys=[self.processing_key(worker_id)], args=[element, stamped]):
            return None
        return token, stamped

    # -- progress and settling ----------------------------------------------------------------

    def sent_so_far(self, progress_key: str) -> set[str]:
        return {m.decode() for m in self._r.hkeys(progress_key)}

    def mark_sent(self, progress_key: str, mobiles: list[str]) -> None:
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(progress_key, mapping=dict.fromkeys(mobiles, 1))
        pipe.expire(progress_key, PROGRESS_TTL_S)
        pipe.execute()

    def settle(self, worker_id: str, ops: list[SettleOp]) -> None:
        """Record tasks' outcomes and drop them from the processing list, in one transaction.

        Many tasks per round trip when the worker is busy; each still leaves the processing list
        only together with its outcome.
        """
        processing = self.processing_key(worker_id)
        pipe = self._r.pipeline(transaction=True)
        for op in ops:
            if op.envelopes:
                pipe.lpush(self.dead_key, *op.envelopes)
            pipe.lrem(processing, 1, op.element)
            if op.progress_key is not None:
                if op.keep_progress:
                    pipe.expire(op.progress_key, IDEMPOTENCY_TTL_S)
                else:
                    pipe.delete(op.progress_key)
        pipe.hincrby(self.stats_key, "sent", sum(op.sent for op in ops))
        pipe.hincrby(self.stats_key, "dead", sum(op.dead for op in ops))
        pipe.hincrby(self.stats_key, "tasks", len(ops))
        pipe.hincrby(self.stats_key, "segments", sum(op.segments for op in ops))
        pipe.execute()

    # -- workers: heartbeats and recovery -------------------------------------------------------

    def heartbeat(self, worker_id: str, ttl_s: int) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self.workers_key, worker_id)
        pipe.set(self.heartbeat_key(worker_id), json.dumps({"at": time.time()}), ex=ttl_s)
        pipe.execute()

    def requeue_worker(self, worker_id: str) -> int:
        """Put everything in ``worker_id``'s processing list back at the front of the queue."""
        keys = [self.processing_key(worker_id), self.queue, self.workers_key, self.heartbeat_key(worker_id)]
        return int(self._requeue(keys=keys, args=[worker_id]))

    def known_workers(self) -> set[str]:
        ids = {w.decode() for w in self._r.smembers(self.workers_key)}
        # A processing list whose owner is not registered (it was judged dead while still running)
        # would otherwise never be looked at again.
        prefix = self.processing_key("")
        for key in self._r.scan_iter(match=_glob_escape(prefix) + "*", count=500):
            ids.add(key.decode()[len(prefix) :])
        return ids

    def dead_workers(self, me: str, *, hostname: str, pid_alive: Callable[[int], bool]) -> list[str]:
        """Workers that are gone: same host and no such pid, or heartbeat expired."""
        dead = []
        for worker_id in sorted(self.known_workers() - {me}):
            host, pid_text = _host_and_pid(worker_id)
            gone_locally = host == hostname and pid_text.isdigit() and not pid_alive(int(pid_text))
            if gone_locally or not self._r.exists(self.heartbeat_key(worker_id)):
                dead.append(worker_id)
        return dead

    # -- inspection and the dead-letter list ----------------------------------------------------

    def stats(self) -> Stats:
        workers = self.known_workers()
        pipe = self._r.pipeline(transaction=False)
        pipe.llen(self.queue)
        pipe.llen(self.dead_key)
        pipe.hgetall(self.stats_key)
        for worker_id in sorted(workers):
            pipe.llen(self.processing_key(worker_id))
        queue_len, dead_len, counters, *processing = pipe.execute()
        alive = sum(1 for w in workers if self._r.exists(self.heartbeat_key(w)))
        count = {k.decode(): int(v) for k, v in counters.items()}
        return Stats(
            queue=queue_len,
            processing=sum(processing),
            dead=dead_len,
            workers=alive,
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


def _host_and_pid(worker_id: str) -> tuple[str, str]:
    parts = worker_id.rsplit(":", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else ("", "")


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
