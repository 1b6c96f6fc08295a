"""The loop: claim -> intake -> send -> settle (sent | dead-lettered) or put back; drain; shutdown.

Threads (``docs/architecture.md`` draws them): the caller's thread runs the fetch loop here and is
the only one that claims (its claim rounds: ``claiming.py``); the send pool's threads send units
(``send_pool.py``, ``send_unit.py``); one thread commits outcomes (``settle.py``); one renews the
heartbeat and recovers dead workers (``liveness.py``). Every Redis call goes through one
``RedisGuard`` (``guarded.py``), and what the worker has to say goes out through one
``WorkerEvents`` (``events.py``). The parts are wired in one place, ``parts.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from smsworker.providers.base import Provider
from smsworker.store.queue import RedisQueue, new_worker_id
from smsworker.task import TaskParser
from smsworker.worker.claiming import first_claim_size
from smsworker.worker.events import WorkerEvents
from smsworker.worker.guarded import RedisGaveUp
from smsworker.worker.options import WorkerOptions
from smsworker.worker.parts import Seams, build_parts
from smsworker.worker.tally import Totals


class Worker:
    """One worker process's threads over its parts (``parts.py``): the fetch loop runs on the
    caller's thread. ``wait`` replaces the pause between Redis retries (tests)."""

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
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.queue = queue
        self.providers = providers  # a failover chain; the first sets the batch size
        self.options = options
        self.id = worker_id or new_worker_id()
        self.log = log.bind(worker=self.id)
        self._events = events or WorkerEvents()
        self._parts = build_parts(
            queue,
            providers,
            parser,
            options,
            self.log,
            worker_id=self.id,
            events=self._events,
            seams=Seams(redis_wait=wait),
        )

    @property
    def totals(self) -> Totals:
        return self._parts.tally.totals

    def units_in_flight(self) -> int:
        return self._parts.pool.units_in_flight()

    def request_stop(self) -> None:
        """Stop fetching and finish what is in flight. Safe to call from a signal handler."""
        self._parts.stopping.request()

    def run(self) -> Totals:
        """Process tasks until ``request_stop``."""
        return self._serve(drain=False)

    def drain(self) -> Totals:
        """Recover dead workers' tasks, process until the queue and in-flight work are empty."""
        return self._serve(drain=True)

    def _serve(self, *, drain: bool) -> Totals:
        parts = self._parts
        parts.guard.draining = drain
        parts.settler.start()
        parts.marks.start()
        try:
            parts.guard.read(parts.ticker.tick, "read pauses")  # nothing is sent before it is known
            parts.ticker.start()
            parts.guard.read(parts.liveness.beat, "register")
            parts.liveness.start(parts.stopping)
            self.log.info(
                "worker.started",
                mode="drain" if drain else "run",
                queue=self.queue.name,
                provider=",".join(p.name for p in self.providers),
                concurrency=self.options.concurrency,
            )
            parts.guard.read(parts.liveness.recover_dead, "recover")
            self._return_undeclared_lanes()
            self._events.started(f"fetching from {self.queue.name}")
            self._fetch_loop(drain)
        except RedisGaveUp:
            pass
        finally:
            self._shutdown()
        self.totals.gave_up = parts.guard.gave_up
        return self.totals

    def _return_undeclared_lanes(self) -> None:
        """Tasks left in the list of a lane no longer declared go back to the queue, not astray."""
        moved = self._parts.guard.write(self.queue.return_undeclared_lanes, "return lanes")
        for lane, tasks in moved.items():
            self.log.warning(
                "lane.undeclared", lane=lane, tasks=tasks, note="not declared here: back to the queue"
            )

    def _fetch_loop(self, drain: bool) -> None:
        parts, claims = self._parts, self._parts.claims
        while free := claims.wait_free():
            parts.reconciler.run_if_due()
            if not parts.settler.has_room(self.options.fetch_block_s):
                continue  # outcomes are not being recorded: claim nothing more until they are
            asked = first_claim_size(free, claims.group_size)
            elements = claims.claim(asked, block=not drain)
            self._events.fetch_returned()
            if elements:
                claims.start(elements, free, asked)
            elif drain and self._drained():
                return

    def _drained(self) -> bool:
        parts = self._parts
        while not parts.pool.wait_idle(self.options.fetch_block_s):
            if parts.stopping.requested:
                return True
            parts.reconciler.run_if_due()
        parts.settler.flush(None)
        recovered = parts.guard.read(parts.liveness.recover_dead, "recover")
        # What is paused stays queued: a drain ends with it (scheduled tasks, not due, stay too).
        held = {f"lane:{lane}" for lane in parts.claims.held_lanes()}
        empty = recovered == 0 and parts.redis.queued(held) == 0
        self.totals.drained = empty and not parts.stopping.requested
        return empty or parts.stopping.requested

    def _shutdown(self) -> None:
        parts = self._parts
        parts.stopping.request()
        self.log.info("worker.stopping", timeout_s=self.options.shutdown_timeout_s)
        self._events.stopping()
        idle = parts.pool.wait_idle(parts.stopping.left_s())
        if not idle:
            self.log.warning("worker.shutdown_timeout", timeout_s=self.options.shutdown_timeout_s)
        # Fence off what is unfinished, then commit what finished, then put the rest back: a
        # settle queued before the fence commits before the requeue, none can be queued after it.
        parts.flights.abandon_all()
        parts.settler.flush(parts.stopping.left_s())
        parts.settler.close()
        self.totals.requeued = parts.reconciler.put_back_all(claimed=parts.claims.claimed_any)
        self.totals.abandoned_sends = not idle
        parts.pool.shutdown(wait=idle)
        parts.marks.close()
        parts.ticker.close()
        for provider in self.providers:
            provider.close()
        parts.liveness.close()
        parts.guard.close()
        t = self.totals
        self.log.info("worker.stopped", tasks=t.tasks, sent=t.sent, dead=t.dead, requeued=t.requeued)
