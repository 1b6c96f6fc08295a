"""The loop: claim -> deliver -> settle (sent | dead-lettered) or requeue; drain mode; shutdown.

Threads: the caller's thread fetches; a pool of ``concurrency`` threads sends; one thread renews the
heartbeat and recovers dead workers. A semaphore with one permit per sending thread is taken before
each fetch and each unit, so the worker never claims more than it can start, and one task with
10,000 recipients is spread over every sending thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis

from smsworker.deadletter import Failure, build_envelope
from smsworker.delivery import RetryPolicy, deliver
from smsworker.errors import InvalidTask, ShutdownRequested
from smsworker.inflight import FlightRegistry, TaskInFlight
from smsworker.providers.base import OutgoingMessage, Provider
from smsworker.queue import RedisQueue, new_worker_id, unstamp
from smsworker.task import TaskParser

T = TypeVar("T")
# Long enough to cost nothing when idle, short enough that a stop is noticed within it.
FETCH_BLOCK_S = 1.0
REDIS_BACKOFF_MAX_S = 10.0
_OUTAGES = (redis.ConnectionError, redis.TimeoutError)


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 8
    heartbeat_ttl_s: int = 30
    shutdown_timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class Totals:
    tasks: int = 0
    sent: int = 0
    dead: int = 0
    requeued: int = 0
    # Provider calls still running when the shutdown timeout ran out; the caller should exit hard.
    abandoned_sends: bool = False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Worker:
    def __init__(
        self,
        queue: RedisQueue,
        provider: Provider,
        parser: TaskParser,
        options: WorkerOptions,
        log: Any,
        *,
        worker_id: str | None = None,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.provider = provider
        self.parser = parser
        self.options = options
        self.id = worker_id or new_worker_id()
        self.log = log.bind(worker=self.id)
        self.totals = Totals()
        self._on_settled = on_settled or (lambda: None)
        self._hostname = socket.gethostname()
        self._stop = threading.Event()
        self._heartbeat_stop = threading.Event()
        self._deadline = float("inf")
        self._slots = threading.Semaphore(options.concurrency)
        self._flights = FlightRegistry()
        self._totals_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(options.concurrency, thread_name_prefix="smsworker-send")

    # -- public ---------------------------------------------------------------------------------

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

    def recover_dead_workers(self) -> int:
        total = 0
        for dead in self.queue.dead_workers(self.id, hostname=self._hostname, pid_alive=pid_alive):
            moved = self.queue.requeue_worker(dead)
            self.log.warning("worker.recovered", dead_worker=dead, tasks=moved)
            total += moved
        return total

    # -- the loop -------------------------------------------------------------------------------

    def _serve(self, *, drain: bool) -> Totals:
        self._redis(lambda: self.queue.heartbeat(self.id, self.options.heartbeat_ttl_s), "register")
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="smsworker-heartbeat", daemon=True)
        heartbeat.start()
        self.log.info(
            "worker.started",
            mode="drain" if drain else "run",
            provider=self.provider.name,
            queue=self.queue.queue,
            concurrency=self.options.concurrency,
        )
        try:
            self._redis(self.recover_dead_workers, "recover")
            self._fetch_loop(drain)
        except _GaveUp:
            pass
        finally:
            self._shutdown()
            self._heartbeat_stop.set()
        return self.totals

    def _fetch_loop(self, drain: bool) -> None:
        block_s = 0.0 if drain else FETCH_BLOCK_S
        while not self._stop.is_set():
            if not self._acquire_slot():
                return
            try:
                element = self._redis(lambda: self.queue.claim(self.id, block_s), "claim")
            except BaseException:
                self._slots.release()
                raise
            if element is not None:
                self._start(element)
                continue
            self._slots.release()
            if drain and self._drained():
                return

    def _drained(self) -> bool:
        while not self._flights.wait_idle(timeout_s=FETCH_BLOCK_S):
            if self._stop.is_set():
                return True
        recovered = self._redis(self.recover_dead_workers, "recover")
        return recovered == 0 and self._redis(lambda: self.queue.client.llen(self.queue.queue), "llen") == 0

    def _acquire_slot(self) -> bool:
        while not self._slots.acquire(timeout=FETCH_BLOCK_S):
            if self._stop.is_set():
                return False
        if self._stop.is_set():
            self._slots.release()
            return False
        return True

    def _start(self, element: bytes) -> None:
        """Parse a claimed element and hand its units to the senders. Holds one slot on entry."""
        token, raw = unstamp(element)
        try:
            task = self.parser.parse(raw)
        except InvalidTask as exc:
            self._slots.release()
            self._settle_invalid(element, raw, exc)
            return
        except Exception as exc:  # a parser bug must cost one task, not the worker
            self.log.exception("task.parse_crashed")
            self._slots.release()
            self._settle_invalid(element, raw, InvalidTask("invalid_task", f"parser error: {exc!r}"))
            return
        progress_key = self.queue.progress_key(task.task_id, token)
        done_before: set[str] = set()
        if progress_key is not None:
            key = progress_key
            done_before = self._redis(lambda: self.queue.sent_so_far(key), "read progress")
        todo = [m for m in task.mobiles if m not in done_before]
        size = self.provider.max_batch_size
        units = [todo[i : i + size] for i in range(0, len(todo), size)]
        if len(units) > 1 and progress_key is None:
            claimed = element
            stamped = self._redis(lambda: self.queue.stamp_claimed(self.id, claimed), "stamp")
            if stamped is None:
                self.log.warning("task.not_stamped", note="progress is not recorded for this task")
            else:
                token, element = stamped
                progress_key = self.queue.progress_key(None, token)
        invalid = {
            m: Failure(
                "invalid_mobile",
                f"{m} is not a valid phone number (default region {self.parser.default_region})",
            )
            for m in task.invalid_mobiles
        }
        flight = TaskInFlight(
            element,
            raw,
            task,
            progress_key,
            len(units),
            skipped=len(task.mobiles) - len(todo),
            failed=invalid,
        )
        if not units:
            self._slots.release()
            self._settle(flight)
            return
        self._flights.add(flight)
        for index, unit in enumerate(units):
            if index > 0 and not self._acquire_slot():
                return  # stopping: the unsent rest keeps the task unsettled, and it is requeued
            self._flights.unit_started()
            self._pool.submit(self._send, flight, unit)

    def _send(self, flight: TaskInFlight, mobiles: list[str]) -> None:
        task = flight.task
        try:
            message = OutgoingMessage(
                task.template_id, task.content, tuple(mobiles), task.params, task.task_id
            )
            outcome = deliver(
                self.provider, message, self.options.retry, sleep=self._backoff_sleep, log=self.log
            )
            key = flight.progress_key
            if outcome.sent and key is not None:
                self._redis(lambda: self.queue.mark_sent(key, outcome.sent), "mark sent")
            if flight.record(outcome):
                self._settle(flight)
        except _GaveUp:
            pass  # Redis stayed away past the shutdown deadline; the task is recovered later.
        except Exception:
            self.log.exception("worker.send_failed")
        finally:
            self._flights.unit_finished()
            self._slots.release()

    # -- settling -------------------------------------------------------------------------------

    def _settle(self, flight: TaskInFlight) -> None:
        task = flight.task
        envelopes = (
            build_envelope(
                raw=flight.raw, task=task, failed=flight.failed, worker=self.id, queue=self.queue.queue
            )
            if flight.failed
            else []
        )
        with flight.lock:
            if flight.abandoned:
                return
            self._redis(
                lambda: self.queue.settle(
                    self.id,
                    flight.element,
                    progress_key=flight.progress_key,
                    keep_progress=task.task_id is not None,
                    envelopes=envelopes,
                    sent=len(flight.sent),
                    dead=len(flight.failed),
                ),
                "settle",
            )
        self._flights.remove(flight)
        self._count(sent=len(flight.sent), dead=len(flight.failed))
        self.log.info(
            "task.settled",
            task_id=task.task_id,
            template_id=task.template_id,
            recipients=len(task.mobiles) + len(task.invalid_mobiles),
            sent=len(flight.sent),
            dead=len(flight.failed),
            skipped=flight.skipped,
            attempts=flight.attempts,
            reasons=sorted({f.reason for f in flight.failed.values()}) or None,
            duration_ms=round((time.monotonic() - flight.started) * 1000, 1),
        )

    def _settle_invalid(self, element: bytes, raw: bytes, exc: InvalidTask) -> None:
        envelopes = build_envelope(
            raw=raw,
            task=None,
            failed={"": Failure(exc.reason, exc.error)},
            worker=self.id,
            queue=self.queue.queue,
        )
        self._redis(
            lambda: self.queue.settle(
                self.id, element, progress_key=None, keep_progress=False, envelopes=envelopes, sent=0, dead=1
            ),
            "settle",
        )
        self._count(sent=0, dead=1)
        self.log.warning("task.dead_lettered", reason=exc.reason, error=exc.error, payload_bytes=len(raw))

    def _count(self, *, sent: int, dead: int) -> None:
        with self._totals_lock:
            self.totals.tasks += 1
            self.totals.sent += sent
            self.totals.dead += dead
        self._on_settled()

    # -- shutdown, heartbeats, Redis outages ----------------------------------------------------

    def _shutdown(self) -> None:
        self.request_stop()
        self.log.info("worker.stopping", timeout_s=self.options.shutdown_timeout_s)
        idle = self._flights.wait_idle(max(0.0, self._deadline - time.monotonic()))
        if not idle:
            self.log.warning("worker.shutdown_timeout", timeout_s=self.options.shutdown_timeout_s)
        self._flights.abandon_all()
        try:
            requeued = self._redis(lambda: self.queue.requeue_worker(self.id), "requeue")
        except _GaveUp:
            requeued = 0
            self.log.error(
                "worker.requeue_failed", note="tasks stay in the processing list and are recovered"
            )
        self.totals.requeued = requeued
        self.totals.abandoned_sends = not idle
        self._pool.shutdown(wait=idle, cancel_futures=True)
        self.provider.close()
        self.log.info(
            "worker.stopped",
            tasks=self.totals.tasks,
            sent=self.totals.sent,
            dead=self.totals.dead,
            requeued=requeued,
        )

    def _heartbeat_loop(self) -> None:
        every_s = self.options.heartbeat_ttl_s / 3
        next_recovery = time.monotonic() + self.options.heartbeat_ttl_s
        while not self._heartbeat_stop.wait(every_s):
            try:
                self.queue.heartbeat(self.id, self.options.heartbeat_ttl_s)
                if time.monotonic() >= next_recovery and not self._stop.is_set():
                    next_recovery = time.monotonic() + self.options.heartbeat_ttl_s
                    self.recover_dead_workers()
            except redis.RedisError as exc:
                self.log.warning("heartbeat.failed", error=str(exc))

    def _backoff_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise ShutdownRequested()

    def _redis(self, call: Callable[[], T], action: str) -> T:
        """Run a Redis call, riding out outages with backoff.

        While running it retries forever; once stopping, the fetch gives up at once and writes keep
        trying until the shutdown deadline (a write given up leaves the task to be recovered).
        """
        delay_s = 0.5
        failed = False
        while True:
            try:
                result = call()
            except redis.RedisError as exc:
                stopping = self._stop.is_set()
                if stopping and (action == "claim" or time.monotonic() >= self._deadline):
                    raise _GaveUp() from exc
                event = "redis.unavailable" if isinstance(exc, _OUTAGES) else "redis.command_failed"
                self.log.warning(event, action=action, error=str(exc), retry_in_s=delay_s)
                failed = True
                self._heartbeat_stop.wait(delay_s)
                delay_s = min(delay_s * 2, REDIS_BACKOFF_MAX_S)
                continue
            if failed:
                self.log.info("redis.reconnected", action=action)
            return result


class _GaveUp(Exception):
    """A Redis call was abandoned because the worker is stopping."""
