"""How a worker runs: the knobs ``app.py`` sets from ``Settings`` and tests set directly.

A knob that is a setting has no default of its own: it takes the setting's declared default, so a
``WorkerOptions()`` is the worker ``smsworker run`` starts with no settings given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from smsworker.config.schema import default_of
from smsworker.delivery import RetryPolicy
from smsworker.worker.lanes import Lane, with_default


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = default_of("concurrency")
    heartbeat_ttl_s: int = default_of("heartbeat_ttl")
    shutdown_timeout_s: float = default_of("shutdown_timeout")
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: Mapping[str, float] = field(default_factory=lambda: dict(default_of("rate_limits")))
    # Workers that may die holding one element before it is set aside as "poison".
    poison_after: int = default_of("poison_after")
    # A drain is a batch job: a Redis that keeps failing this long ends it, with a non-zero exit.
    drain_patience_s: float = 30.0
    # How long a fetch blocks on an empty queue, and how often an idle loop looks up.
    fetch_block_s: float = 1.0
    # How long each recipient's status and the vendor ids for delivery reports are kept.
    receipt_ttl_s: int = default_of("receipt_ttl")
    # With --receipts-list: how many status changes Q:changes keeps (0: the list is not written).
    changes_max: int = 0
    # With --dead-letter-undelivered: keep each task's bytes with its receipts (Q:payload:<token>).
    keep_payloads: bool = default_of("dead_letter_undelivered")
    # Shown on the dashboard's Workers page: how many processes this worker's parent runs.
    processes: int = default_of("processes")
    # Cross-task batching: claimed tasks with the same message share requests (worker/grouping.py).
    group_tasks: bool = default_of("group_tasks")
    # The lanes in priority order (``default`` among them); () = no lanes: the queue is the one lane.
    lanes: tuple[Lane, ...] = ()
    # The clock scheduled sending and quiet hours are judged by (unix s).
    now: Callable[[], float] = field(default_factory=lambda: time.time)

    def __post_init__(self) -> None:
        # Routing needs somewhere for what no lane takes: lanes without ``default`` get it last.
        object.__setattr__(self, "lanes", with_default(self.lanes))
