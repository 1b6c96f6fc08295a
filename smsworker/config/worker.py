"""The worker's settings (run, drain, check): the provider, the pace, retries, limits, metrics.

Bounds are what the code can honour, and generous for anything real.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smsworker.config import addresses, values, vendors
from smsworker.config.declare import RECEIPTS, WORKER, setting
from smsworker.redact import redact_url
from smsworker.store.keys import RECEIPT_TTL_S

# Filled in by the CLI from the provider registry, which itself reads Settings.
PROVIDERS = "{providers}"


@dataclass(frozen=True)
class WorkerSettings:
    provider: str = setting(
        "log",
        vendors.provider_chain,
        WORKER,
        f"SMS provider: {PROVIDERS} (log is a dry run).",
    )
    http_url: str = setting(
        "",
        addresses.http_url,
        WORKER,
        "Webhook the http provider POSTs each message to.",
        reveal=lambda v: f" {redact_url(str(v), query=True)!r}",
    )
    http_headers: tuple[tuple[str, str], ...] = setting(
        (),
        values.headers,
        WORKER,
        "Extra header for the http provider, 'Name: value'; repeatable.",
        flag="--http-header",
        repeatable=True,
        env_form="one a line",
        reveal=lambda v: "",
    )
    http_timeout: float = setting(
        10.0, values.seconds(3600), WORKER, "Seconds before an http request counts as failed (transient)."
    )
    http_batch_size: int = setting(
        1,
        values.number(int, 1, 10_000),
        WORKER,
        'Numbers per http request; above 1 they go as "mobiles": [...].',
    )
    group_tasks: bool = setting(
        True,
        values.to_bool,
        WORKER,
        "Send claimed tasks that carry the same template, content and params (and no id) in one request, "
        "up to the provider's batch size (Alibaba 1,000, Tencent 200, --http-batch-size); each task still "
        "settles on its own. Nothing waits to fill a request.",
    )
    concurrency: int = setting(
        8, values.number(int, 1, 1024), WORKER, "Provider requests sent in parallel (per process)."
    )
    processes: int = setting(
        1,
        values.processes,
        WORKER,
        "Worker processes, to use more than one core; auto: one per core.",
    )
    # The receiver paces its pull APIs with the same limits (aliyun.pull, tencent.pull).
    rate_limits: Mapping[str, float] = setting(
        {},
        values.rate_limits,
        WORKER + RECEIPTS,
        "Requests per second a provider may take, shared by every worker on this Redis: 'aliyun=500/s', "
        "or '500/s' for all ('aliyun.pull=10/s' paces the receiver's pulls); repeatable.",
        flag="--rate-limit",
        repeatable=True,
        env_form="comma-separated",
    )
    max_attempts: int = setting(
        5, values.number(int, 1, 1000), WORKER, "Attempts per message in all, retries included."
    )
    backoff_base: float = setting(
        1.0,
        values.seconds(3600),
        WORKER,
        "Seconds of the first retry backoff; doubles each time, full jitter.",
    )
    backoff_max: float = setting(
        60.0,
        values.seconds(values.DAY_S),
        WORKER,
        "Longest wait between attempts, Retry-After included.",
    )
    # Renewed every third of it: 1 s at least.
    heartbeat_ttl: int = setting(
        30,
        values.number(int, 3, int(values.DAY_S)),
        WORKER,
        "Seconds without a heartbeat before a worker counts as dead.",
    )
    shutdown_timeout: float = setting(
        30.0, values.seconds(values.DAY_S), WORKER, "Seconds to finish in-flight sends after SIGTERM."
    )
    default_region: str = setting(
        "CN", values.region, WORKER, "Region for numbers written without +country code."
    )
    # Redis refuses strings over 512 MB.
    max_payload_bytes: int = setting(
        1_048_576,
        values.number(int, 1, 512 * 1024 * 1024),
        WORKER,
        "Larger tasks are dead-lettered as too_large.",
    )
    max_recipients: int = setting(
        10_000,
        values.number(int, 1, 1_000_000),
        WORKER,
        "Tasks with more recipients are dead-lettered as too_large.",
    )
    poison_after: int = setting(
        3,
        values.number(int, 1, 1000),
        WORKER,
        "Workers that may die (killed, out of memory) holding one task before it is dead-lettered unread "
        "as poison, so it cannot take down the next one.",
    )
    receipt_ttl: int = setting(
        RECEIPT_TTL_S,
        values.number(int, 60, int(30 * values.DAY_S)),
        WORKER,
        "Seconds to keep each recipient's status (tasks with an id) and the vendor ids that delivery "
        "reports will name.",
    )
    metrics_port: int = setting(
        0,
        addresses.port,
        WORKER,
        "Serve Prometheus metrics on this port; 0 is off. With --processes, the parent serves every "
        "process's on it.",
    )
    # The receiver serves its own metrics (--receipts-metrics-port) on the same address.
    metrics_address: str = setting(
        "127.0.0.1", values.nonempty, WORKER + RECEIPTS, "Address the metrics endpoints listen on."
    )
    mask_mobiles: bool = setting(True, values.to_bool, WORKER, "Mask phone numbers in logs (+86138****8000).")
