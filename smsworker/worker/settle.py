"""Settling tasks: outcomes recorded, failures dead-lettered, one summary logged per task.

One thread commits for the whole worker: whatever finished while the previous commit was in flight
goes in the next one, so a busy worker pays one Redis round trip for many tasks and an idle one
pays no extra latency. Batches are numbered, so one retried after a lost reply is recognised in
Redis and recorded once (``lua.SETTLE``). A task another worker took over meanwhile (this one was
frozen past its heartbeat) is not recorded here: it is logged as ``task.settle_skipped``, and when
the worker found that out before settling, nothing about it is written to Redis at all.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from smsworker.deadletters import build_envelope
from smsworker.outcome import Failure
from smsworker.receipts import (
    change_json,
    queued_fields,
    receipt_records,
    recipient_states,
    waiting_states,
)
from smsworker.store.keys import RECEIPT_TTL_S
from smsworker.store.queue import SettleOp
from smsworker.task import SmsTask
from smsworker.worker.flight import FlightRegistry, Holdings, TaskInFlight
from smsworker.worker.guarded import RedisGaveUp, WorkerRedis
from smsworker.worker.intake import Rejected
from smsworker.worker.tally import Tally

# Bounds one transaction (and the envelopes it carries) under a flood of finished tasks.
MAX_BATCH = 256
# Finished tasks waiting to be recorded, past which the worker claims no more: when settles fail and
# claims do not (a dead-letter key of the wrong type), memory and the tasks held stay bounded.
MAX_BACKLOG = 4 * MAX_BATCH


@dataclass(frozen=True)
class _Pending:
    op: SettleOp
    log_event: str
    log_fields: dict[str, Any]
    flight: TaskInFlight | None = None  # None: an element dead-lettered whole
    reason: str = ""  # why, for an element dead-lettered whole


class Settler:
    """Commits outcomes; once one is recorded, the task leaves ``holdings`` and ``flights`` and is
    counted in ``tally``."""

    def __init__(
        self,
        redis: WorkerRedis,
        log: Any,
        *,
        holdings: Holdings,
        flights: FlightRegistry,
        tally: Tally,
        receipt_ttl_s: int = RECEIPT_TTL_S,
        changes_max: int = 0,
        keep_payloads: bool = False,
        lanes_declared: bool = False,
    ) -> None:
        self._lanes_declared = lanes_declared
        self._receipt_ttl_s = receipt_ttl_s
        self._keep_payloads = keep_payloads
        self._changes_max = changes_max
        self._redis = redis
        self.log = log
        self._holdings = holdings
        self._flights = flights
        self._tally = tally
        self._pending: list[_Pending] = []
        self._batches = 0
        self._committing = False
        self._closed = False
        self._cond = threading.Condition()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="smsworker-settle", daemon=True).start()

    def settle(self, flight: TaskInFlight) -> None:
        """Queue a finished task for the next commit.

        A task abandoned at shutdown (already put back on the queue) is not settled.
        """
        pending = _Pending(self._settle_op(flight), "task.settled", _summary(flight), flight=flight)
        with flight.lock:  # shutdown takes this lock to abandon the task: one or the other wins
            if flight.abandoned:
                return
        if flight.taken_over:
            # Nothing to write: the task is another worker's. Not even the LREM that a settle
            # skipped in Redis does: an equal element may be in our list again, claimed anew after
            # the other worker put it back, and removing it would lose that claim.
            self._report(pending, recorded=False)
        else:
            self._add(pending)

    def _settle_op(self, flight: TaskInFlight) -> SettleOp:
        """What SETTLE writes for ``flight``: counters, dead letters, states and receipts."""
        task, now, keys = flight.task, time.time(), self._redis.keys
        # Each recipient's state is kept for a task with an id: the producer can ask for it by it.
        status_key = self._redis.keys.status(task.task_id) if task.task_id is not None else None
        statuses = (
            recipient_states(flight.sent, flight.accepted, flight.failed, now, flight.skipped)
            + waiting_states(flight.later, flight.cancelled, now)
            if status_key and not flight.parked
            else ()
        )
        # What earlier runs of the task sent keeps its link to the reports, as what this one sent.
        accepted = {**flight.skipped, **flight.accepted}
        # Kept only when some recipient awaits a report that may dead-letter it.
        awaiting = any(a.message_id for a in accepted.values())
        payload_key = (
            self._redis.keys.payload(secrets.token_hex(8)) if self._keep_payloads and awaiting else ""
        )
        return SettleOp(
            element=flight.element,
            progress_key=flight.progress_key,
            keep_progress=task.task_id is not None,
            envelopes=tuple(self._envelopes(flight.raw, task, flight.failed)),
            sent=len(flight.sent) + _sent_uncounted(flight),
            dead=len(flight.failed),
            segments=flight.segments,
            status_key=status_key,
            statuses=statuses,
            status_drops=queued_fields(task) if status_key else (),
            changes=tuple(change_json(task.task_id, n, state) for n, state in statuses)
            if self._changes_max
            else (),
            receipts=receipt_records(
                self._redis.keys, task.task_id, accepted, now, payload_key, task.campaign
            ),
            payload=(payload_key, flight.raw) if payload_key else None,
            cancelled=len(flight.cancelled),
            later=tuple((due, member) for due, member, _, _ in flight.later),
            parked=self._parked(flight),
            campaign_key=keys.campaign(task.campaign) if task.campaign is not None else None,
            campaign_counts=_campaign_counts(flight),
        )

    def _parked(self, flight: TaskInFlight) -> tuple[str, bytes, str, str] | None:
        campaign = flight.task.campaign
        if not flight.parked or campaign is None:
            return None
        keys = self._redis.keys
        lane_key = keys.lane(flight.lane) if self._lanes_declared else keys.queue
        value = f"{flight.lane if self._lanes_declared else ''}\n".encode() + flight.element
        return (keys.parked(campaign), value, lane_key, f"campaign:{campaign}")

    def reject(self, rejected: Rejected) -> None:
        """Dead-letter an element that is not a sendable task, whole."""
        exc, raw = rejected.problem, rejected.raw
        envelopes = self._envelopes(raw, None, {"": Failure(exc.reason, exc.error)})
        op = SettleOp(element=rejected.element, envelopes=tuple(envelopes), dead=1)
        fields = {"reason": exc.reason, "error": exc.error, "payload_bytes": len(raw)}
        self._add(_Pending(op, "task.dead_lettered", fields, reason=exc.reason))

    def has_room(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the backlog to be under ``MAX_BACKLOG``."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._pending) < MAX_BACKLOG, timeout_s)

    def flush(self, timeout_s: float | None) -> bool:
        """Wait until everything queued so far is committed (or given up); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._committing, timeout_s)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _add(self, pending: _Pending) -> None:
        with self._cond:
            self._pending.append(pending)
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._committing = True
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._committing = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Pending]) -> None:
        self._batches += 1
        number = self._batches
        ops = [p.op for p in batch]
        try:
            applied = self._redis.settle(
                number, ops, receipt_ttl_s=self._receipt_ttl_s, changes_max=self._changes_max
            )
        except RedisGaveUp:
            return  # stopping with Redis away: the tasks stay in the processing list, recovered later
        except Exception:
            self.log.exception("settle.failed", tasks=len(batch))
            return
        for index, pending in enumerate(batch):
            self._report(pending, index < len(applied) and applied[index])

    def _report(self, pending: _Pending, recorded: bool) -> None:
        if not recorded:
            self.log.warning(
                "task.settle_skipped",
                note="no longer in this worker's processing list: recovered by another worker "
                "while this one was cut off; that worker settles it",
                **{k: pending.log_fields.get(k) for k in ("task_id", "sent", "dead")},
            )
        elif pending.log_event == "task.settled":
            self.log.info(pending.log_event, **pending.log_fields)
        else:
            self.log.warning(pending.log_event, **pending.log_fields)
        try:
            self._holdings.remove(pending.op.element)
            if pending.flight is None:
                self._tally.rejected(pending.reason)
            else:
                self._flights.remove(pending.flight)
                self._tally.settled(pending.flight)
        except Exception:  # bookkeeping must not stop the thread that settles
            self.log.exception("settle.bookkeeping_failed")

    def _envelopes(self, raw: bytes, task: SmsTask | None, failed: dict[str, Failure]) -> list[bytes]:
        if not failed:
            return []
        return build_envelope(
            raw=raw, task=task, failed=failed, worker=self._redis.worker_id, queue=self._redis.keys.queue
        )


def _sent_uncounted(flight: TaskInFlight) -> int:
    """Recipients an earlier run of this very element sent and never settled (it died first): its
    delivery token is its own, so nothing counted them. (Under an idempotency id they may be another
    task's, which counted them when it settled.)"""
    token_keyed = flight.progress_key is not None and flight.task.task_id is None
    return len(flight.skipped) if token_keyed else 0


def _campaign_counts(flight: TaskInFlight) -> tuple[int, int, int, int, int, int]:
    """What a settle adds to its campaign: tasks (one that ends something), sent, dead, cancelled,
    scheduled (recipients now waiting) and segments."""
    if flight.parked:
        return (0, 0, 0, 0, 0, 0)
    sent = len(flight.sent) + _sent_uncounted(flight)
    ended = sent + len(flight.failed) + len(flight.cancelled)
    waiting = sum(len(ms) for _, _, ms, _ in flight.later)
    return (
        int(ended > 0),
        sent,
        len(flight.failed),
        len(flight.cancelled),
        waiting,
        flight.segments,
    )


def _summary(flight: TaskInFlight) -> dict[str, Any]:
    """The task's one summary log line (``task.settled``)."""
    task = flight.task
    return {
        "task_id": task.task_id,
        "template_id": task.template_id,
        "recipients": len(task.mobiles) + len(task.invalid_mobiles),
        "sent": len(flight.sent),
        "dead": len(flight.failed),
        "skipped": len(flight.skipped),
        "segments": flight.segments,
        "attempts": flight.attempts,
        "tasks_per_request": flight.tasks_per_request,
        "reasons": sorted({f.reason for f in flight.failed.values()}) or None,
        "lane": flight.lane,
        "waiting": sum(len(ms) for _, _, ms, _ in flight.later) or None,
        "cancelled": len(flight.cancelled) or None,
        "parked": flight.parked or None,
        "duration_ms": round((time.monotonic() - flight.started) * 1000, 1),
    }
