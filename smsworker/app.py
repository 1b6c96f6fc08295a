"""Wiring: from ``Settings`` to the objects that do the work (the queue on whichever Redis, the
parser, the worker's options), and waiting for a Redis that does not answer yet. The life of a worker
process is in ``process.py``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from smsworker.config.lanes import lane_order, route_table
from smsworker.config.settings import Settings
from smsworker.delivery import RetryPolicy
from smsworker.errors import StartupError
from smsworker.logs import make_logger
from smsworker.providers.registry import build_providers
from smsworker.quiet_hours import QuietHours
from smsworker.store.connect import connect, connect_cluster, connect_sentinel, is_cluster_node, same_slot
from smsworker.store.errors import AuthenticationError, RedisConnectionError, RedisTimeoutError
from smsworker.store.keys import default_dead_letter_key
from smsworker.store.queue import RedisQueue
from smsworker.store.upgrade import upgrade_layout
from smsworker.task import TaskParser
from smsworker.worker.events import WorkerEvents
from smsworker.worker.guarded import BACKOFF_FIRST_S, BACKOFF_MAX_S
from smsworker.worker.lanes import Lane
from smsworker.worker.options import WorkerOptions

T = TypeVar("T")
# How long a fetch blocks on an empty queue: long enough to cost nothing when idle, short enough
# that a stop is noticed within it. The socket timeout is sized from it (see redis_conn.py).
FETCH_BLOCK_S = 1.0


def build_logger(settings: Settings) -> Any:
    return make_logger(fmt=settings.log_format, level=settings.log_level, mask_mobiles=settings.mask_mobiles)


def open_queue(settings: Settings, log: Any | None = None) -> RedisQueue:
    """The queue for a command that uses Redis at once, its keys in this version's layout."""
    queue = build_queue(settings, log)
    upgrade_layout(queue, log or build_logger(settings))
    return queue


def build_queue(settings: Settings, log: Any | None = None) -> RedisQueue:
    """The queue on the Redis the settings name, with the lanes they declare. A server that turns
    out to be a node of a Redis Cluster is used as the cluster it belongs to (said in the log): a
    redis:// URL that names one node is enough. Asks the server at once: a Redis that does not
    answer raises."""
    queue = _connect_queue(settings, log)
    lanes = lane_order(settings.lanes)
    queue.declare_lanes([lane.name for lane in lanes], route_table(lanes))
    return queue


def _connect_queue(settings: Settings, log: Any | None) -> RedisQueue:
    tls = _tls(settings)
    if settings.sentinels:
        client = connect_sentinel(
            list(settings.sentinels),
            settings.sentinel_master,
            block_timeout_s=FETCH_BLOCK_S,
            db=settings.redis_db,
            username=settings.redis_username or None,
            password=settings.redis_password,
        )
        return RedisQueue(client, settings.queue, settings.dead_letter_key)
    if settings.redis_cluster:
        return _cluster_queue(settings, list(settings.redis_cluster), tls)
    client = connect(
        settings.redis_url,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password,
        tls=tls,
    )
    if not is_cluster_node(client):
        return RedisQueue(client, settings.queue, settings.dead_letter_key)
    node = client.connection_pool.connection_kwargs
    client.close()
    if settings.redis_db:
        raise StartupError(
            f"Redis at {settings.redacted_redis_url()} is a node of a Redis Cluster, which has only "
            f"database 0: remove /{settings.redis_db} from --redis-url"
        )
    if log is not None:
        log.info(
            "redis.cluster_detected",
            node=f"{node['host']}:{node['port']}",
            note="the server is a node of a Redis Cluster (cluster_enabled:1): using the cluster",
        )
    return _cluster_queue(settings, [(str(node["host"]), int(node["port"]))], tls)


def redis_mode(settings: Settings, queue: RedisQueue) -> str:
    """How this Redis is used, as ``check`` and ``stats`` say it: cluster, sentinel or single."""
    if queue.in_cluster:
        return "cluster"
    return "sentinel" if settings.sentinels else "single"


def _tls(settings: Settings) -> dict[str, str]:
    return {
        name: path
        for name, path in (
            ("ssl_ca_certs", settings.redis_tls_ca_file),
            ("ssl_certfile", settings.redis_tls_cert_file),
            ("ssl_keyfile", settings.redis_tls_key_file),
        )
        if path
    }


def _cluster_queue(settings: Settings, nodes: list[tuple[str, int]], tls: dict[str, str]) -> RedisQueue:
    dead, queue = settings.dead_letter_key, settings.queue
    if not same_slot(dead, queue):
        raise StartupError(
            f"invalid dead_letter_queue {dead!r} for a Redis Cluster: it must share the slot of the "
            f"queue {queue!r}; leave it unset, or name it with the queue's hash tag, like "
            f"{default_dead_letter_key(queue)}"
        )
    client = connect_cluster(
        nodes,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password,
        tls=tls if settings.redis_url.startswith("rediss://") else None,
    )
    return RedisQueue(client, queue, dead)


def build_parser(settings: Settings) -> TaskParser:
    return TaskParser(
        default_region=settings.default_region,
        max_payload_bytes=settings.max_payload_bytes,
        max_recipients=settings.max_recipients,
    )


def worker_options(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
        concurrency=settings.concurrency,
        heartbeat_ttl_s=settings.heartbeat_ttl,
        shutdown_timeout_s=settings.shutdown_timeout,
        retry=RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_max),
        rate_limits=settings.rate_limits,
        fetch_block_s=FETCH_BLOCK_S,
        poison_after=settings.poison_after,
        receipt_ttl_s=settings.receipt_ttl,
        changes_max=settings.receipts_list_max if settings.receipts_list else 0,
        keep_payloads=settings.dead_letter_undelivered,
        processes=settings.processes,
        group_tasks=settings.group_tasks,
    )


def build_lanes(settings: Settings, logger: Any) -> tuple[Lane, ...]:
    """The lanes as the worker serves them, in priority order: each with its own provider chain
    built (when it names one) and its quiet hours read; () when none is declared."""
    lanes = []
    for lane in lane_order(settings.lanes):
        chain = ",".join(lane.providers)
        providers = build_providers(dataclasses.replace(settings, provider=chain), logger) if chain else []
        quiet = QuietHours.parse(lane.quiet_hours) if lane.quiet_hours else None
        lanes.append(
            Lane(
                lane.name,
                min_share=lane.min_share,
                concurrency=lane.concurrency,
                rate_limit=lane.rate_limit,
                providers=tuple(providers),
                quiet_until=quiet.until if quiet is not None else None,
                templates=lane.templates,
            )
        )
    return tuple(lanes)


def wait_for_redis(
    connect: Callable[[], T],
    log: Any,
    *,
    stop: threading.Event,
    patience_s: float | None = None,
    events: WorkerEvents | None = None,
) -> T | None:
    """``connect()`` once Redis answers: a worker started before its Redis (or while a cluster fails
    over) waits, as it would for an outage later, and says so in the same words: ``redis.unavailable``
    while it waits, ``redis.reconnected`` when Redis answers. None when stopped meanwhile, or after
    ``patience_s`` (a drain gives up, as it does on an outage). Refused credentials raise at once."""
    delay_s = BACKOFF_FIRST_S  # the pace of the worker's own outage handling
    deadline = None if patience_s is None else time.monotonic() + patience_s
    waited = False
    while not stop.is_set():
        try:
            connected = connect()
        except AuthenticationError:
            raise
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            waited = True
            log.warning("redis.unavailable", action="connect", error=str(exc), retry_in_s=delay_s)
            if events is not None:
                events.redis_waiting(str(exc))
            stop.wait(delay_s)
            delay_s = min(delay_s * 2, BACKOFF_MAX_S)
            continue
        if waited:
            log.info("redis.reconnected", action="connect")
        return connected
    return None
