"""The loop: claim -> intake -> send -> settle (sent | dead-lettered) or put back; drain; shutdown.

Threads (``docs/architecture.md`` draws them): the caller's thread runs the fetch loop here and is
the only one that claims; the send pool's threads send units (``send_pool.py``, ``send_unit.py``);
one thread commits outcomes (``settle.py``); one renews the heartbeat and recovers dead workers
(``liveness.py``). Every Redis call goes through one ``RedisGuard`` (``guarded.py``), and what the
worker has to say goes out through one ``WorkerEvents`` (``events.py``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

from smsworker import __version__
from smsworker.providers.base import Provider
from smsworker.store.queue import RedisQueue, new_worker_id
from smsworker.store.ratelimit import RateLimiter
from smsworker.store.stamps import unstamp
from smsworker.task import TaskParser
from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import Claim, FlightRegistry, Holdings
from smsworker.worker.grouping import Grouper, Member
from smsworker.worker.guarded import RedisGaveUp, RedisGuard, WorkerRedis
from smsworker.worker.intake import Intake, Rejected
from smsworker.worker.liveness import Liveness, Ownership
from smsworker.worker.marks import ProgressMarks
from smsworker.worker.options import WorkerOptions
from smsworker.worker.reconcile import Reconciler
from smsworker.worker.send_pool import SendPool
from smsworker.worker.send_unit import UnitSender
from smsworker.worker.settle import Settler
from smsworker.worker.stopping import Stopping
from smsworker.worker.tally import Tally, Totals

# Elements one claim round may gather for grouping: bounds what a worker holds unsent at once.
ROUND_MAX = 5000


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
        events: WorkerEvents | None = None,
    ) -> None:
        self.queue = queue
        self.providers = providers  # a failover chain; the first sets the batch size
        self.options = options
        self.id = worker_id or new_worker_id()
        self.log = log.bind(worker=self.id)
        self._events = events or WorkerEvents()
        self._stopping = Stopping(options.shutdown_timeout_s)
        self._guard = RedisGuard(
            self.log, self._stopping, events=self._events, drain_patience_s=options.drain_patience_s
        )
        self._redis = WorkerRedis(queue, self._guard, self.id)
        self._pool = SendPool(options.concurrency, self._stopping, self.log)
        started_at = time.time()
        self._liveness = Liveness(
            queue,
            self.id,
            options.heartbeat_ttl_s,
            self.log,
            describe=lambda: {
                "version": __version__,
                "concurrency": options.concurrency,
                "processes": options.processes,
                "started_at": started_at,
                "in_flight": self._pool.units_in_flight(),
                "ttl": options.heartbeat_ttl_s,
            },
        )
        self._ownership = Ownership(self._liveness.lapsed_since, self._redis.holds, self.log)
        self._flights = FlightRegistry()
        self._holdings = Holdings()
        self._tally = Tally(self._events)
        self._reconciler = Reconciler(
            self._redis, self._holdings, every_s=options.heartbeat_ttl_s, log=self.log
        )
        self._settler = Settler(
            self._redis,
            self.log,
            holdings=self._holdings,
            flights=self._flights,
            tally=self._tally,
            receipt_ttl_s=options.receipt_ttl_s,
            changes_max=options.changes_max,
            keep_payloads=options.keep_payloads,
        )
        self._intake = Intake(
            self._redis, parser, providers[0], poison_after=options.poison_after, log=self.log
        )
        self._marks = ProgressMarks(self._redis)
        self._sender = self._unit_sender(RateLimiter(queue, options.rate_limits, self.log))
        # Units of different tasks that may share one request: up to the first provider's batch size.
        self._group_size = providers[0].max_batch_size if options.group_tasks else 1
        self._claimed = False  # nothing claimed, nothing to put back at shutdown
        self._claimed_at = time.monotonic()  # when the elements being started were claimed

    def _unit_sender(self, limiter: RateLimiter) -> UnitSender:
        return UnitSender(
            self._redis,
            self.providers,
            self.options.retry,
            events=self._events,
            pace=functools.partial(limiter.wait_turn, sleep=self._stopping.sleep),
            sleep=self._stopping.sleep,
            lease_lapsed=self._liveness.lapsed_since,
            still_ours=self._ownership.still_ours,
            settle=self._settler.settle,
            marks=self._marks,
            log=self.log,
        )

    @property
    def totals(self) -> Totals:
        return self._tally.totals

    def units_in_flight(self) -> int:
        return self._pool.units_in_flight()

    def request_stop(self) -> None:
        """Stop fetching and finish what is in flight. Safe to call from a signal handler."""
        self._stopping.request()

    def run(self) -> Totals:
        """Process tasks until ``request_stop``."""
        return self._serve(drain=False)

    def drain(self) -> Totals:
        """Recover dead workers' tasks, process until the queue and in-flight work are empty."""
        return self._serve(drain=True)

    def _serve(self, *, drain: bool) -> Totals:
        self._guard.draining = drain
        self._settler.start()
        self._marks.start()
        try:
            self._guard.read(self._liveness.beat, "register")
            self._liveness.start(self._stopping)
            self.log.info(
                "worker.started",
                mode="drain" if drain else "run",
                queue=self.queue.name,
                provider=",".join(p.name for p in self.providers),
                concurrency=self.options.concurrency,
            )
            self._guard.read(self._liveness.recover_dead, "recover")
            self._events.started(f"fetching from {self.queue.name}")
            self._fetch_loop(drain)
        except RedisGaveUp:
            pass
        finally:
            self._shutdown()
        self.totals.gave_up = self._guard.gave_up
        return self.totals

    def _fetch_loop(self, drain: bool) -> None:
        while self._acquire_slot():
            free = 1 + self._pool.take_free()
            self._pool.release(free)
            self._reconciler.run_if_due()
            if not self._settler.has_room(self.options.fetch_block_s):
                continue  # outcomes are not being recorded: claim nothing more until they are
            # Grouping: a lone free sender asks for two, to learn whether the queue's tasks share.
            asked = free if self._group_size == 1 else max(free, 2)
            elements = self._claim(asked, block=not drain)
            self._events.fetch_returned()
            if elements:
                self._start_claimed(elements, free, asked)
            elif drain and self._drained():
                return

    def _claim(self, count: int, *, block: bool) -> list[bytes]:
        """As many tasks as there are idle senders, in one round trip; with none queued and
        ``block``, wait for one, so an idle worker still answers a push at once."""
        self._claimed_at = time.monotonic()
        elements = self._redis.claim_many(count)
        if not elements and block:
            element = self._redis.claim(self.options.fetch_block_s)
            elements = [element] if element is not None else []
        if elements:
            self._claimed = True
        for element in elements:  # held before any is started: see reconcile.py
            self._holdings.add(element)
        return elements

    def _start_claimed(self, elements: list[bytes], free: int, asked: int) -> None:
        """Start what was claimed; an element a worker already died holding is started alone.

        Alone means nothing else held: the rest of the claim goes back to the front of the queue
        and what is in flight finishes first. If it kills this worker too, it is the only element
        whose crash count goes up, so tasks claimed beside a poison pill are not quarantined with it.
        """
        suspect = next((i for i, e in enumerate(elements) if self._suspect(e)), None)
        if suspect is None:
            self._start_round(elements, free, asked)
            return
        self._put_back(elements[:suspect] + elements[suspect + 1 :])
        self._quiesce()
        self._start_round([elements[suspect]], 1, 1)
        self._quiesce()

    def _suspect(self, element: bytes) -> bool:
        # At poison_after it is set aside unread, which cannot kill anything: no need to isolate it.
        return 0 < unstamp(element).crashes < self.options.poison_after

    def _start_round(self, elements: list[bytes], free: int, asked: int) -> None:
        """Take the claimed elements in, group their units (``grouping.py``) and hand each group to a
        sender, a free slot each.

        While the queue is deep (a claim brought all it asked for) and what came shares requests,
        claim more, doubling, up to ``free`` full requests' worth: so there is something to group.
        It stops at the first claim whose tasks did not group once there are as many requests as
        free senders, so lone tasks (one-time codes) are held back by one claim at most. A group
        that is full goes out at once; the rest go out at the end of the round: nothing waits to
        fill a request.
        """
        grouper = Grouper(self._group_size)
        claimed, total, last = elements, 0, False
        while True:
            before = grouper.taken + grouper.pending()
            for element in claimed:
                self._take(element, grouper)
            if not self._submit(grouper.take_full()):
                return  # stopping: what was not handed out stays unsettled, and is put back
            total += len(claimed)
            groups = grouper.taken + grouper.pending()
            grouped = groups - before < len(claimed)
            room = min(free * self._group_size, ROUND_MAX) - total
            more = groups < free or (groups == free and grouped)
            if last or len(claimed) < asked or room <= 0 or not more or self._stopping.requested:
                break
            asked = min(total, room)
            claimed, last = self._claim_more(asked)
            if not claimed:
                break
        self._submit(grouper.take_all())

    def _claim_more(self, count: int) -> tuple[list[bytes], bool]:
        """More elements for this round, and whether it is the last claim of it: a suspect among
        them goes back, to be started alone, and the rest of the claim is started with this round,
        which claims no more."""
        elements = self._redis.claim_many(count)
        for element in elements:
            self._holdings.add(element)
        suspects: list[bytes] = []
        rest: list[bytes] = []
        for element in elements:
            (suspects if self._suspect(element) else rest).append(element)
        if not suspects:
            return rest, False
        self._put_back(suspects)
        return rest, True

    def _put_back(self, elements: list[bytes]) -> None:
        """Unclaim ``elements`` to the front of the queue: claimed beside a suspect, or suspects
        claimed beside others, to be started alone."""
        for element in elements:
            self._holdings.remove(element)
        if elements:
            self._reconciler.put_back(elements, why="claimed beside a task a worker died holding")

    def _quiesce(self) -> None:
        """Wait until no unit is being sent and every outcome is recorded."""
        self._pool.wait_idle(None)
        self._settler.flush(None)

    def _take(self, element: bytes, grouper: Grouper) -> None:
        """Take a claimed element in: its units go to ``grouper``; or dead-letter it."""
        try:
            if not self._ownership.still_ours(Claim(element, self._claimed_at)):
                # A frozen process receives a claim's reply only on waking: sending it would send it twice.
                self._holdings.remove(element)
                return
            taken = self._intake.take(element)
        except RedisGaveUp:
            return  # stopping with Redis away: the element stays in the processing list
        if isinstance(taken, Rejected):
            self._settler.reject(taken)
            return
        flight = taken.flight
        if flight.element != element:
            self._holdings.replace(element, flight.element)
        self._flights.add(flight)
        if not taken.units:
            self._settler.settle(flight)
        for unit in taken.units:
            grouper.add(flight, unit)

    def _submit(self, groups: list[list[Member]]) -> bool:
        """Hand each group to a sender, in a slot of its own; False once stopping."""
        for members in groups:
            if not self._acquire_slot():
                return False  # stopping: the unsent rest keeps its tasks unsettled, and they are requeued
            self._pool.submit(functools.partial(self._sender.run_group, members))
        return True

    def _acquire_slot(self) -> bool:
        return self._pool.acquire(tick_s=self.options.fetch_block_s, on_tick=self._reconciler.run_if_due)

    def _drained(self) -> bool:
        while not self._pool.wait_idle(self.options.fetch_block_s):
            if self._stopping.requested:
                return True
            self._reconciler.run_if_due()
        self._settler.flush(None)
        recovered = self._guard.read(self._liveness.recover_dead, "recover")
        empty = recovered == 0 and self._redis.length() == 0
        self.totals.drained = empty and not self._stopping.requested
        return empty or self._stopping.requested

    def _shutdown(self) -> None:
        self._stopping.request()
        self.log.info("worker.stopping", timeout_s=self.options.shutdown_timeout_s)
        self._events.stopping()
        idle = self._pool.wait_idle(self._stopping.left_s())
        if not idle:
            self.log.warning("worker.shutdown_timeout", timeout_s=self.options.shutdown_timeout_s)
        # Fence off what is unfinished, then commit what finished, then put the rest back: a
        # settle queued before the fence commits before the requeue, none can be queued after it.
        self._flights.abandon_all()
        self._settler.flush(self._stopping.left_s())
        self._settler.close()
        self.totals.requeued = self._reconciler.put_back_all(claimed=self._claimed)
        self.totals.abandoned_sends = not idle
        self._pool.shutdown(wait=idle)
        self._marks.close()
        for provider in self.providers:
            provider.close()
        self._liveness.close()
        self._guard.close()
        t = self.totals
        self.log.info("worker.stopped", tasks=t.tasks, sent=t.sent, dead=t.dead, requeued=t.requeued)
