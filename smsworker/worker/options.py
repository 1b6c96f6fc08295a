"""How a worker runs: the knobs ``app.py`` sets from ``Settings`` and tests set directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from smsworker.delivery import RetryPolicy
from smsworker.store.keys import RECEIPT_TTL_S


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 8
    heartbeat_ttl_s: int = 30
    shutdown_timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    # Workers that may die holding one element before it is set aside as "poison".
    poison_after: int = 3
    # A drain is a batch job: a Redis that keeps failing this long ends it, with a non-zero exit.
    drain_patience_s: float = 30.0
    # How long a fetch blocks on an empty queue, and how often an idle loop looks up.
    fetch_block_s: float = 1.0
    # How long each recipient's status and the vendor ids for delivery reports are kept.
    receipt_ttl_s: int = RECEIPT_TTL_S
    # With --receipts-list: how many status changes Q:changes keeps (0: the list is not written).
    changes_max: int = 0
    # With --dead-letter-undelivered: keep each task's bytes with its receipts (Q:payload:<token>).
    keep_payloads: bool = False
    # Shown on the dashboard's Workers page: how many processes this worker's parent runs.
    processes: int = 1
    # Cross-task batching: claimed tasks with the same message share requests (worker/grouping.py).
    group_tasks: bool = True
