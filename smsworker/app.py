"""Wiring: from ``Settings`` to the objects that do the work. The only place that knows them all."""

from __future__ import annotations

from typing import Any

from smsworker.config import Settings
from smsworker.delivery import RetryPolicy
from smsworker.logs import make_logger
from smsworker.metrics import Metrics, NoMetrics
from smsworker.providers.registry import build_providers
from smsworker.queue import RedisQueue
from smsworker.ratelimit import parse_rate_limits
from smsworker.redis_conn import connect, connect_sentinel
from smsworker.task import TaskParser
from smsworker.worker import FETCH_BLOCK_S, Worker, WorkerOptions


def build_logger(settings: Settings) -> Any:
    return make_logger(fmt=settings.log_format, level=settings.log_level, mask_mobiles=settings.mask_mobiles)


def build_queue(settings: Settings) -> RedisQueue:
    tls = {
        name: path
        for name, path in (
            ("ssl_ca_certs", settings.redis_tls_ca_file),
            ("ssl_certfile", settings.redis_tls_cert_file),
            ("ssl_keyfile", settings.redis_tls_key_file),
        )
        if path
    }
    if settings.sentinels:
        client = connect_sentinel(
            [(host, int(port)) for host, _, port in (s.rpartition(":") for s in settings.sentinels)],
            settings.sentinel_master,
            block_timeout_s=FETCH_BLOCK_S,
            db=settings.redis_db,
            username=settings.redis_username or None,
            password=settings.redis_password(),
        )
        return RedisQueue(client, settings.queue, settings.dead_letter_key)
    client = connect(
        settings.redis_url,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password(),
        tls=tls,
    )
    return RedisQueue(client, settings.queue, settings.dead_letter_key)


def build_parser(settings: Settings) -> TaskParser:
    return TaskParser(
        default_region=settings.default_region,
        max_payload_bytes=settings.max_payload_bytes,
        max_recipients=settings.max_recipients,
    )


def build_worker(settings: Settings, log: Any, **kwargs: Any) -> Worker:
    options = WorkerOptions(
        concurrency=settings.concurrency,
        heartbeat_ttl_s=settings.heartbeat_ttl,
        shutdown_timeout_s=settings.shutdown_timeout,
        retry=RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_max),
        rate_limits=parse_rate_limits(settings.rate_limits),
        poison_after=settings.poison_after,
    )
    queue = build_queue(settings)
    return Worker(
        queue,
        build_providers(settings, log),
        build_parser(settings),
        options,
        log,
        metrics=build_metrics(settings, queue),
        **kwargs,
    )


def build_metrics(settings: Settings, queue: RedisQueue) -> Metrics:
    if not settings.metrics_port:
        return NoMetrics()
    from smsworker.prometheus import PrometheusMetrics  # only now: it costs RSS (see prometheus.py)

    return PrometheusMetrics(queue)
