"""The loop: claim -> deliver -> settle (sent | dead-lettered) or requeue; drain mode; shutdown.

Threads: the caller's thread fetches; a pool of ``concurrency`` threads sends; one thread renews the
heartbeat and recovers dead workers. A semaphore with one permit per sending thread is taken before
each fetch and each unit, so the worker never claims more than it can start, and one task with
10,000 recipients is spread over every sending thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from smsworker.delivery import Hooks, RetryPolicy
from smsworker.errors import InvalidTask, ShutdownRequested
from smsworker.inflight import FlightRegistry, Holdings, TaskInFlight
from smsworker.intake import Intake, Rejected, Unit
from smsworker.liveness import Liveness
from smsworker.metrics import Metrics, NoMetrics
from smsworker.notify import Notifier
from smsworker.outages import OutageGuard, RedisGaveUp
from smsworker.providers.base import Provider
from smsworker.queue import RedisQueue, new_worker_id
from smsworker.ratelimit import RateLimiter
from smsworker.reconcile import Reconciler
from smsworker.sending import UnitSender
from smsworker.settle import Settler
from smsworker.stamps import unstamp
from smsworker.task import TaskParser

# Long enough to cost nothing when idle, short enough that a stop is noticed within it.
FETCH_BLOCK_S = 1.0
# Redis calls that settle nothing: once stopping, they are not worth waiting for Redis.
_READS = frozenset({"register", "recover", "claim", "length", "unregister", "reconcile"})


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


@dataclass
class Totals:
    tasks: int = 0
    sent: int = 0
    dead: int = 0
    requeued: int = 0
    # Provider calls still running when the shutdown timeout ran out; the caller should exit hard.
    abandoned_sends: bool = False
    # Drain only: the queue was seen empty with nothing left in flight.
    drained: bool = False
    # Why the worker gave up on Redis, when it did.
    gave_up: str = ""


class Worker:
    def __init__(
        self,
        queue: RedisQueue,
        providers: Sequence[Provider],
        parser: TaskParser,
        options: WorkerOptions,
        log: Any,
        *,
        worker_id: str | None = None,
        on_settled: Callable[[], None] | None = None,
        notifier: Notifier | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.queue = queue
        self.providers = providers  # a failover chain; the first sets the batch size
        self.parser = parser
        self.options = options
        self.id = worker_id or new_worker_id()
        self.log = log.bind(worker=self.id)
        self.totals = Totals()
        self._on_settled = on_settled or (lambda: None)
        self._notify = notifier or Notifier()
        self.metrics: Metrics = metrics or NoMetrics()
        self._stop = threading.Event()
        self._drain = False
        self._claimed = False  # nothing claimed, nothing to put back at shutdown
        self._claimed_at = time.monotonic()  # when the elements being started were claimed
        self._deadline = float("inf")
        self._liveness = Liveness(queue, self.id, options.heartbeat_ttl_s, self.log)
        # Retries pace on the heartbeat's event: a stop must not cut short the writes that settle tasks.
        self._redis = OutageGuard(
            self.log,
            give_up=self._give_up,
            wait=self._liveness.stopped.wait,
            on_outage=lambda error: self._notify.status(f"waiting for Redis: {error}"[:200]),
        )
        self._settler = Settler(queue, self.id, self.log, self._redis)
        self._slots = threading.Semaphore(options.concurrency)
        self._flights = FlightRegistry()
        self._holdings = Holdings()
        self._reconciler = Reconciler(
            queue, self._redis, self._holdings, self.id, every_s=options.heartbeat_ttl_s, log=self.log
        )
        self.metrics.track_in_flight(self._flights.units_in_flight)
        self._totals_lock = threading.Lock()
        self._limiter = (
            RateLimiter(queue.client, queue.queue, options.rate_limits, self.log)
            if options.rate_limits
            else None
        )
        self._intake = Intake(
            queue, self._redis, parser, providers[0], worker_id=self.id,
            poison_after=options.poison_after, log=self.log,
        )  # fmt: skip
        hooks = Hooks(
            before_send=self._wait_turn, on_request=self.metrics.request, on_retry=self.metrics.retry
        )
        self._sender = UnitSender(
            queue, self._redis, providers, options.retry, worker_id=self.id, hooks=hooks,
            sleep=self._backoff_sleep, lease_lapsed=self._liveness.lapsed_since, log=self.log,
        )  # fmt: skip
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="smsworker-send")

    def request_stop(self) -> None:
        """Stop fetching and finish what is in flight. Safe to call from a signal handler."""
        if not self._stop.is_set():
            self._deadline = time.monotonic() + self.options.shutdown_timeout_s
            self._stop.set()

    def run(self) -> Totals:
        """Process tasks until ``request_stop``."""
        return self._serve(drain=False)

    def drain(self) -> Totals:
        """Recover dead workers' tasks, process until the queue and in-flight work are empty."""
        return self._serve(drain=True)

    # -- the loop -------------------------------------------------------------------------------

    def _serve(self, *, drain: bool) -> Totals:
        self._drain = drain
        try:
            self._redis.call(self._liveness.beat, "register")
            self._liveness.start(recover_while=lambda: not self._stop.is_set())
            self.log.info(
                "worker.started",
                mode="drain" if drain else "run",
                provider=",".join(p.name for p in self.providers),
                queue=self.queue.queue,
                concurrency=self.options.concurrency,
            )
            self._redis.call(self._liveness.recover_dead, "recover")
            self._notify.ready(f"fetching from {self.queue.queue}")
            self._fetch_loop(drain)
        except RedisGaveUp:
            pass
        finally:
            self._shutdown()
            self._liveness.stopped.set()
        return self.totals

    def _fetch_loop(self, drain: bool) -> None:
        while self._acquire_slot():
            # Claim as many tasks as there are idle senders, in one round trip; block for one only
            # when the queue is empty, so an idle worker still answers a push at once.
            free = 1 + self._take_free_slots()
            self._release(free)
            self._reconciler.run_if_due()
            if not self._settler.has_room(FETCH_BLOCK_S):
                continue  # outcomes are not being recorded: claim nothing more until they are

            def claim_free(count: int = free) -> list[bytes]:
                return self.queue.claim_many(self.id, count)

            self._claimed_at = time.monotonic()
            elements = self._redis.call(claim_free, "claim")
            if not elements and not drain:
                element = self._redis.call(lambda: self.queue.claim(self.id, FETCH_BLOCK_S), "claim")
                elements = [element] if element is not None else []
            self._notify.fetch_came_back()
            if elements:
                self._claimed = True
                for element in elements:  # held before any is started: see reconcile.py
                    self._holdings.add(element)
                self._start_claimed(elements)
            elif drain and self._drained():
                return

    def _start_claimed(self, elements: list[bytes]) -> None:
        """Start what was claimed; an element a worker already died holding is started alone.

        Alone means nothing else held: the rest of the claim goes back to the front of the queue
        and what is in flight finishes first. If it kills this worker too, it is the only element
        whose crash count goes up, so tasks claimed beside a poison pill are not quarantined with it.
        """
        crashes = [unstamp(e).crashes for e in elements]
        # At poison_after it is set aside unread, which cannot kill anything: no need to isolate it.
        suspect = next((i for i, n in enumerate(crashes) if 0 < n < self.options.poison_after), None)
        if suspect is None:
            for element in elements:
                self._start(element)
            return
        others = elements[:suspect] + elements[suspect + 1 :]
        for element in others:
            self._holdings.remove(element)
        if others:
            self._reconciler.put_back(others, why="claimed beside a task a worker died holding")
        self._flights.wait_idle(None)
        self._settler.flush(None)
        self._start(elements[suspect])
        self._flights.wait_idle(None)
        self._settler.flush(None)

    def _take_free_slots(self) -> int:
        taken = 0
        while self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _drained(self) -> bool:
        while not self._flights.wait_idle(timeout_s=FETCH_BLOCK_S):
            if self._stop.is_set():
                return True
            self._reconciler.run_if_due()
        self._settler.flush(None)
        recovered = self._redis.call(self._liveness.recover_dead, "recover")
        empty = recovered == 0 and self._redis.call(lambda: self.queue.length(), "length") == 0
        self.totals.drained = empty and not self._stop.is_set()
        return empty or self._stop.is_set()

    def _acquire_slot(self) -> bool:
        while not self._slots.acquire(timeout=FETCH_BLOCK_S):
            if self._stop.is_set():
                return False
            self._reconciler.run_if_due()
        if self._stop.is_set():
            self._slots.release()
            return False
        return True

    def _start(self, element: bytes) -> None:
        """Read a claimed element and hand its units to the senders, a free slot for each.

        Whatever the element holds ends here as a task in flight or a dead letter: an exception
        from reading it is contained as ``internal_error``.
        """
        try:
            if self._liveness.lapsed_since(self._claimed_at) and not self._reconciler.still_listed([element]):
                self._holdings.remove(element)
                return  # claimed before this worker's heartbeat lapsed, and taken over since
            taken = self._intake.take(element)
        except RedisGaveUp:
            return  # stopping with Redis away: the element stays in the processing list
        except Exception as exc:
            self.log.exception("task.intake_failed")
            error = f"{type(exc).__name__} while reading the task: {exc}"[:500]
            taken = Rejected(element, unstamp(element).raw, InvalidTask("internal_error", error))
        if isinstance(taken, Rejected):
            self._reject(taken)
            return
        flight, units = taken.flight, taken.units
        if flight.element != element:
            self._holdings.replace(element, flight.element)
        self._flights.add(flight)
        if not units:
            self._settle(flight)
            return
        for unit in units:
            if not self._acquire_slot():
                return  # stopping: the unsent rest keeps the task unsettled, and it is requeued
            self._flights.unit_started()
            self._pool.submit(self._send, flight, unit)

    def _reject(self, rejected: Rejected) -> None:
        problem = rejected.problem

        def done() -> None:
            self._holdings.remove(rejected.element)
            self.metrics.task_invalid(problem.reason)
            self._count(sent=0, dead=1)

        self._settler.settle_invalid(rejected.element, rejected.raw, problem, done)

    def _send(self, flight: TaskInFlight, unit: Unit) -> None:
        try:
            outcome = self._sender.send(flight, unit)
            if flight.record(outcome):
                self._settle(flight)
        except RedisGaveUp:
            pass  # Redis stayed away past the shutdown deadline; the task is recovered later.
        except Exception:
            self.log.exception("worker.send_failed")
        finally:
            self._flights.unit_finished()
            self._slots.release()

    def _settle(self, flight: TaskInFlight) -> None:
        def done() -> None:
            self._flights.remove(flight)
            self._holdings.remove(flight.element)
            self.metrics.task_settled(
                sent=len(flight.sent),
                dead_reasons=[f.reason for f in flight.failed.values()],
                segments=flight.segments,
            )
            self._count(sent=len(flight.sent), dead=len(flight.failed))

        self._settler.settle(flight, done)

    def _count(self, *, sent: int, dead: int) -> None:
        with self._totals_lock:
            self.totals.tasks += 1
            self.totals.sent += sent
            self.totals.dead += dead
            status = f"sent {self.totals.sent}, dead {self.totals.dead}"
        self._notify.status(status)
        self._on_settled()

    # -- stopping -------------------------------------------------------------------------------

    def _give_up(self, action: str, failing_for_s: float, permanent: bool) -> bool:
        """Running, Redis calls are retried for ever; stopping, reads give up at once and writes at
        the shutdown deadline (a write given up leaves its task to be recovered). A drain, being a
        batch job, stops on an answer waiting cannot change, or after ``drain_patience_s``."""
        if (
            self._drain
            and not self._stop.is_set()
            and (permanent or failing_for_s >= self.options.drain_patience_s)
        ):
            waited = "" if permanent else f" for {failing_for_s:.0f} s"
            self.totals.gave_up = f"Redis kept failing{waited}: {self._redis.last_error}"
            self.request_stop()
        if not self._stop.is_set():
            return False
        return action in _READS or time.monotonic() >= self._deadline

    def _wait_turn(self, provider: Provider) -> None:
        if self._limiter is not None:
            self._limiter.wait_turn(provider.name, self._backoff_sleep)

    def _backoff_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise ShutdownRequested()

    def _shutdown(self) -> None:
        self.request_stop()
        self.log.info("worker.stopping", timeout_s=self.options.shutdown_timeout_s)
        self._notify.stopping()
        idle = self._flights.wait_idle(max(0.0, self._deadline - time.monotonic()))
        if not idle:
            self.log.warning("worker.shutdown_timeout", timeout_s=self.options.shutdown_timeout_s)
        # Fence off what is unfinished, then commit what finished, then put the rest back: a
        # settle queued before the fence commits before the requeue, none can be queued after it.
        self._flights.abandon_all()
        self._settler.flush(max(0.0, self._deadline - time.monotonic()))
        self._settler.close()
        try:
            # Requeuing also unregisters; with nothing claimed it is not worth waiting for Redis.
            action = "requeue" if self._claimed else "unregister"
            self.totals.requeued = self._redis.call(lambda: self.queue.requeue_worker(self.id), action)
            self._holdings.clear()
        except RedisGaveUp:
            self.log.error(
                "worker.requeue_failed", note="tasks stay in the processing list and are recovered"
            )
        self.totals.abandoned_sends = not idle
        self._pool.shutdown(wait=idle, cancel_futures=True)
        for provider in self.providers:
            provider.close()
        self._notify.close()
        self.log.info(
            "worker.stopped",
            tasks=self.totals.tasks,
            sent=self.totals.sent,
            dead=self.totals.dead,
            requeued=self.totals.requeued,
        )
