"""Recording finished tasks: one ``settle.lua`` call per batch, its arguments written by a cursor.

``settle.lua``'s header lists what it reads; ``_put_op`` writes one task's share of it in the same
order, through ``ScriptArgs`` (a key as its index in KEYS, a list as its count and its items).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from smsworker.store import scripts
from smsworker.store.args import ScriptArgs
from smsworker.store.base import QueueBase
from smsworker.store.keys import IDEMPOTENCY_TTL_S, RECEIPT_TTL_S, SETTLE_MARKER_TTL_S, Keys


@dataclass(frozen=True)
class SettleOp:
    """One task's outcome, as ``settle`` records it."""

    element: bytes
    progress_key: str | None = None
    keep_progress: bool = False
    envelopes: tuple[bytes, ...] = ()
    sent: int = 0
    dead: int = 0
    segments: int = 0
    # What each recipient became (number -> state JSON), in the task's status hash (a task with an id).
    # A state a delivery report wrote there first is kept.
    status_key: str | None = None
    statuses: tuple[tuple[str, bytes], ...] = ()
    # Fields of the status hash to remove: the numbers as pushed, where the producer wrote them
    # ``queued`` (the states are kept under E.164).
    status_drops: tuple[str, ...] = ()
    # With --receipts-list: for each of ``statuses``, the JSON pushed to the changes list when written.
    changes: tuple[bytes, ...] = ()
    # Receipt records for the numbers a vendor accepted with an id: (key, JSON). One that exists
    # already (the sender's, or one a report has marked) is kept.
    receipts: tuple[tuple[str, bytes], ...] = ()
    # With --dead-letter-undelivered: (key, the producer's bytes), kept with the receipts so that a
    # report of "undelivered" can dead-letter the recipient in a task that can be replayed.
    payload: tuple[str, bytes] | None = None
    # Recipients cancelled (counted; their states are among ``statuses``).
    cancelled: int = 0
    # Due later: (unix s, the scheduled set's member), added to ``{Q}:scheduled``.
    later: tuple[tuple[float, bytes], ...] = ()
    # A task of a paused campaign: its parked list, lane + "\n" + element, the lane's list (where it
    # goes instead if the campaign was resumed meanwhile) and the pause's field in ``{Q}:paused``.
    parked: tuple[str, bytes, str, str] | None = None
    # The task's campaign counters key and what to add: tasks, sent, dead, cancelled, scheduled, segments.
    campaign_key: str | None = None
    campaign_counts: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)


class Settling(QueueBase):
    def settle(
        self,
        worker_id: str,
        batch: int,
        ops: Sequence[SettleOp],
        *,
        receipt_ttl_s: int = RECEIPT_TTL_S,
        changes_max: int = 0,
    ) -> list[bool]:
        """Record tasks' outcomes and drop them from the processing list, in one script.

        Returns, per task, whether it was recorded: False for a task no longer in the processing
        list (another worker recovered it and records it). ``batch`` numbers this worker's settle
        calls in order; running the same batch again (a lost reply) changes nothing and answers
        as the first run did.
        """
        keys, first_string, first_list = _settle_keys(self.keys, worker_id, ops)
        call = ScriptArgs(keys)
        call.put(batch, SETTLE_MARKER_TTL_S, IDEMPOTENCY_TTL_S, first_string, first_list, receipt_ttl_s)
        call.put(time.time(), changes_max, self.keys.campaign(""))
        for op in ops:
            _put_op(call, op, changes_max)
        applied = self._script(scripts.SETTLE)(keys=call.keys, args=call.args)
        return [flag == ord("1") for flag in bytes(applied or b"")]


def _settle_keys(keys: Keys, worker_id: str, ops: Sequence[SettleOp]) -> tuple[list[str], int, int]:
    """KEYS for ``settle.lua``: the fixed ones, the hashes, the strings, the lists; and the first
    string's and the first list's index (the script checks each key's type before writing, and
    learns it from where it stands)."""
    fixed = [
        keys.processing(worker_id),
        keys.dead,
        keys.stats,
        keys.settle_marker(worker_id),
        keys.awaiting,
        keys.changes,
        keys.minute(int(time.time() // 60)),
        keys.held,
        keys.held_due,
        keys.origin(worker_id),
        keys.scheduled,
        keys.campaigns,
        keys.paused,
    ]
    hashes = [k for op in ops for k in (op.progress_key, op.status_key, op.campaign_key) if k is not None]
    strings = [key for op in ops for key, _ in op.receipts]
    strings += [op.payload[0] for op in ops if op.payload is not None]
    lists = [key for op in ops if op.parked is not None for key in (op.parked[0], op.parked[2])]
    first_string = len(fixed) + len(hashes) + 1
    return fixed + hashes + strings + lists, first_string, first_string + len(strings)


def _put_op(call: ScriptArgs, op: SettleOp, changes_max: int) -> None:
    """One task's arguments, in the order ``settle.lua`` takes them."""
    call.put(op.element)
    call.key(op.progress_key)
    call.put(int(op.keep_progress), op.sent, op.dead, op.segments)
    call.items(op.envelopes)
    call.key(op.status_key)
    changes = op.changes if changes_max > 0 and op.changes else (b"",) * len(op.statuses)
    call.rows([(number, state, change) for (number, state), change in zip(op.statuses, changes, strict=True)])
    call.items(op.status_drops)
    call.rows([(call.index(key), value) for key, value in op.receipts])
    if op.payload is None:
        call.key(None)
    else:
        call.key(op.payload[0])
        call.put(op.payload[1])
    call.put(op.cancelled)
    call.rows(op.later)
    call.key(op.parked[0] if op.parked else None)
    if op.parked:
        call.put(op.parked[1])
        call.key(op.parked[2])
        call.put(op.parked[3])
    call.key(op.campaign_key)
    if op.campaign_key:
        call.put(*op.campaign_counts)
