"""How a worker runs: the knobs ``app.py`` sets from ``Settings`` and tests set directly.

A knob that is a setting has no default of its own: it takes the setting's declared default, so a
``WorkerOptions()`` is the worker ``smsworker run`` starts with no settings given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smsworker.config.schema import BY_NAME
from smsworker.delivery import RetryPolicy


def _declared(setting: str) -> Any:
    return BY_NAME[setting].default


def _retry() -> RetryPolicy:
    return RetryPolicy(_declared("max_attempts"), _declared("backoff_base"), _declared("backoff_max"))


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = _declared("concurrency")
    heartbeat_ttl_s: int = _declared("heartbeat_ttl")
    shutdown_timeout_s: float = _declared("shutdown_timeout")
    retry: RetryPolicy = field(default_factory=_retry)
    rate_limits: Mapping[str, float] = field(default_factory=lambda: dict(_declared("rate_limits")))
    # Workers that may die holding one element before it is set aside as "poison".
    poison_after: int = _declared("poison_after")
    # A drain is a batch job: a Redis that keeps failing this long ends it, with a non-zero exit.
    drain_patience_s: float = 30.0
    # How long a fetch blocks on an empty queue, and how often an idle loop looks up.
    fetch_block_s: float = 1.0
    # How long each recipient's status and the vendor ids for delivery reports are kept.
    receipt_ttl_s: int = _declared("receipt_ttl")
    # With --receipts-list: how many status changes Q:changes keeps (0: the list is not written).
    changes_max: int = 0
    # With --dead-letter-undelivered: keep each task's bytes with its receipts (Q:payload:<token>).
    keep_payloads: bool = _declared("dead_letter_undelivered")
    # Shown on the dashboard's Workers page: how many processes this worker's parent runs.
    processes: int = _declared("processes")
    # Cross-task batching: claimed tasks with the same message share requests (worker/grouping.py).
    group_tasks: bool = _declared("group_tasks")
