"""One worker's parts, wired from its options and collaborators: the one wiring there is.

``Worker`` runs them on its threads; the property tests drive the same parts one step at a time
(``tests/support/worker_rig.py``), so what they search is what runs. Each part gets the narrow
callables it needs, never the worker.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smsworker import __version__
from smsworker.providers.base import Provider
from smsworker.store.queue import RedisQueue
from smsworker.store.ratelimit import RateLimiter
from smsworker.task import TaskParser
from smsworker.worker.claiming import Claims
from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import Claimed, FlightRegistry, Holdings, TaskInFlight
from smsworker.worker.guarded import RedisGuard, WorkerRedis
from smsworker.worker.intake import Intake
from smsworker.worker.lanes import DEFAULT, LanePlanner
from smsworker.worker.liveness import Liveness, Ownership
from smsworker.worker.marks import ProgressMarks
from smsworker.worker.options import WorkerOptions
from smsworker.worker.pauses import PauseView
from smsworker.worker.reconcile import Reconciler
from smsworker.worker.send_pool import SendPool
from smsworker.worker.send_unit import UnitSender
from smsworker.worker.settle import Settler
from smsworker.worker.stopping import Stopping
from smsworker.worker.tally import Tally
from smsworker.worker.ticker import Ticker


@dataclass(frozen=True)
class Seams:
    """What a test may put in place of the worker's own waits and clock, to drive the parts one step
    at a time. The worker leaves each None: the real thing."""

    redis_wait: Callable[[float], object] | None = None  # between Redis retries (RedisGuard)
    sleep: Callable[[float], None] | None = None  # a unit's waits: Stopping.sleep
    lapsed_since: Callable[[float], bool] | None = None  # Liveness.lapsed_since
    settled: Callable[[TaskInFlight], None] | None = None  # told of each task handed to the settler


@dataclass(frozen=True)
class Parts:
    """Everything one worker is made of; which thread owns what is in ``docs/architecture.md``."""

    stopping: Stopping
    guard: RedisGuard
    redis: WorkerRedis
    pool: SendPool
    liveness: Liveness
    holdings: Holdings
    flights: FlightRegistry
    tally: Tally
    reconciler: Reconciler
    settler: Settler
    marks: ProgressMarks
    sender: UnitSender
    claims: Claims
    ticker: Ticker
    pauses: PauseView


def build_parts(
    queue: RedisQueue,
    providers: Sequence[Provider],
    parser: TaskParser,
    options: WorkerOptions,
    log: Any,
    *,
    worker_id: str,
    events: WorkerEvents,
    seams: Seams = Seams(),
) -> Parts:
    """``log`` is already bound to the worker; ``providers`` is a failover chain, the first sets
    the batch size."""
    lanes = {lane.name: lane for lane in options.lanes}
    queue.declare_lanes(list(lanes), {t: lane.name for lane in options.lanes for t in lane.templates})
    pauses = PauseView()
    stopping = Stopping(options.shutdown_timeout_s)
    guard = RedisGuard(
        log, stopping, events=events, drain_patience_s=options.drain_patience_s, wait=seams.redis_wait
    )
    redis = WorkerRedis(queue, guard, worker_id)
    reserved = {lane.name: lane.concurrency for lane in options.lanes if lane.concurrency}
    pool = SendPool(options.concurrency, stopping, log, reserved=reserved)
    liveness = _liveness(queue, worker_id, options, log, pool)
    holdings, flights, tally = Holdings(), FlightRegistry(), Tally(events)
    settler = _settler(redis, log, options, holdings, flights, tally)
    marks = ProgressMarks(redis)
    lapsed_since = seams.lapsed_since or liveness.lapsed_since
    sending = _Sending(
        lapsed_since=lapsed_since,
        still_ours=Ownership(lapsed_since, redis.holds, log).still_ours,
        settle=_observed(settler.settle, seams.settled),
        sleep=seams.sleep or stopping.sleep,
    )
    sender = _sender(queue, redis, providers, options, log, events, marks, sending, pauses)
    reconciler = Reconciler(redis, holdings, every_s=options.heartbeat_ttl_s, log=log)
    claims = Claims(
        redis,
        holdings=holdings,
        flights=flights,
        intake=Intake(
            redis,
            parser,
            providers[0],
            poison_after=options.poison_after,
            log=log,
            lanes=lanes,
            pauses=pauses,
            now=options.now,
        ),
        settler=settler,
        settle=sending.settle,
        still_ours=sending.still_ours,
        reconciler=reconciler,
        pool=pool,
        sender=sender,
        stopping=stopping,
        group_size=_group_size(providers, options),
        tick_s=options.fetch_block_s,
        planner=LanePlanner(options.lanes),
        pauses=pauses,
        lanes_declared=bool(lanes),
        chains={
            lane.name: [p.name for p in (lane.providers or providers)]
            for lane in (options.lanes or (DEFAULT,))
        },
    )
    ticker = Ticker(queue, pauses, log, now=options.now)
    state = (holdings, flights, tally, reconciler, settler, marks)
    return Parts(stopping, guard, redis, pool, liveness, *state, sender, claims, ticker, pauses)


@dataclass(frozen=True)
class _Sending:
    """What the senders and the fetch thread share: whether the lease lapsed, the ownership
    answer, the hand-over to the settler, and how a unit waits."""

    lapsed_since: Callable[[float], bool]
    still_ours: Callable[[Claimed], bool]
    settle: Callable[[TaskInFlight], None]
    sleep: Callable[[float], None]


def _sender(
    queue: RedisQueue,
    redis: WorkerRedis,
    providers: Sequence[Provider],
    options: WorkerOptions,
    log: Any,
    events: WorkerEvents,
    marks: ProgressMarks,
    sending: _Sending,
    pauses: PauseView,
) -> UnitSender:
    # The shared rate limit keeps its own Redis error policy: see WorkerRedis.
    limiter = RateLimiter(queue, options.rate_limits, log)
    lane_rates = {f"lane:{ln.name}": ln.rate_limit for ln in options.lanes if ln.rate_limit is not None}
    lane_limiter = RateLimiter(queue, lane_rates, log) if lane_rates else None
    return UnitSender(
        redis,
        providers,
        options.retry,
        events=events,
        pace=functools.partial(limiter.wait_turn, sleep=sending.sleep),
        sleep=sending.sleep,
        lease_lapsed=sending.lapsed_since,
        still_ours=sending.still_ours,
        settle=sending.settle,
        marks=marks,
        log=log,
        pauses=pauses,
        chains={ln.name: ln.providers for ln in options.lanes if ln.providers},
        lane_pace=(
            (lambda lane: lane_limiter.wait_turn(f"lane:{lane}", sending.sleep)) if lane_limiter else None
        ),
    )


def _group_size(providers: Sequence[Provider], options: WorkerOptions) -> int:
    """Units of different tasks that may share one request: up to the first provider's batch size."""
    return providers[0].max_batch_size if options.group_tasks else 1


def _settler(
    redis: WorkerRedis,
    log: Any,
    options: WorkerOptions,
    holdings: Holdings,
    flights: FlightRegistry,
    tally: Tally,
) -> Settler:
    return Settler(
        redis,
        log,
        holdings=holdings,
        flights=flights,
        tally=tally,
        receipt_ttl_s=options.receipt_ttl_s,
        changes_max=options.changes_max,
        keep_payloads=options.keep_payloads,
        lanes_declared=bool(options.lanes),
    )


def _liveness(
    queue: RedisQueue, worker_id: str, options: WorkerOptions, log: Any, pool: SendPool
) -> Liveness:
    started_at = time.time()
    return Liveness(
        queue,
        worker_id,
        options.heartbeat_ttl_s,
        log,
        describe=lambda: {
            "version": __version__,
            "concurrency": options.concurrency,
            "processes": options.processes,
            "started_at": started_at,
            "in_flight": pool.units_in_flight(),
            "ttl": options.heartbeat_ttl_s,
        },
    )


def _observed(
    settle: Callable[[TaskInFlight], None], observer: Callable[[TaskInFlight], None] | None
) -> Callable[[TaskInFlight], None]:
    if observer is None:
        return settle

    def observed(flight: TaskInFlight) -> None:
        observer(flight)
        settle(flight)

    return observed
