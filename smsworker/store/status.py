"""What became of each recipient, for the people who ask: the status hashes and receipt records.

The settle script (``scripts/settle.lua``) and ``ReceiptStore`` write them; this reads them for ``smsworker
status`` and writes the one state nobody else can: ``queued``, in the transaction that pushes a task
with an id (``enqueue --id``; PHP's ``SmsQueue::pushWithId`` does the same).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from smsworker.receipts import parse_state, receipt_state, state_json
from smsworker.store.queue import RedisQueue, glob_escape


class StatusBook:
    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client  # as in RedisQueue: redis-py's return types are too loose to narrow
        self.keys = queue.keys

    def statuses(self, task_id: str) -> dict[str, bytes]:
        """Each recipient's state JSON for the task pushed with ``task_id`` (empty when unknown)."""
        found: dict[bytes, bytes] = self._r.hgetall(self.keys.status(task_id))
        return {number.decode("utf-8", "replace"): state for number, state in sorted(found.items())}

    def states_of_number(self, number: str) -> list[tuple[str | None, dict[str, Any]]]:
        """Every state known for ``number`` (E.164), as (task id, state): from the status hashes of
        tasks pushed with an id, then from the receipt records of tasks pushed without one (state
        ``sent``, or the report's). A scan of the keyspace (SCAN, no index): an operator's question,
        not a hot path."""
        found: list[tuple[str | None, dict[str, Any]]] = []
        prefix = self.keys.status("")
        status_keys = [k.decode() for k in self._r.scan_iter(match=glob_escape(prefix) + "*", count=1000)]
        pipe = self._r.pipeline(transaction=False)
        for key in status_keys:
            pipe.hget(key, number)
        for key, state in zip(status_keys, pipe.execute(), strict=True):
            if state is not None:
                found.append((key[len(prefix) :], parse_state(state)))
        pattern = glob_escape(self.keys.receipt_prefix) + "*:" + glob_escape(number)
        receipt_keys = [k.decode() for k in self._r.scan_iter(match=pattern, count=1000)]
        records = self._r.mget(receipt_keys) if receipt_keys else []
        for key, raw in zip(receipt_keys, records, strict=True):
            parsed, state = self.keys.parse_receipt(key), receipt_state(raw)
            if parsed is not None and state is not None:  # None: expired, or a task with an id
                found.append((None, {**state, "provider": parsed[0], "message_id": parsed[1]}))
        return found

    def push_with_id(self, payload: bytes, task_id: str, mobiles: Sequence[str], ttl_s: int) -> int:
        """Push a task that has an ``id`` and mark each recipient ``queued`` in its status hash, under
        the number as written (the settle moves it to E.164). In one transaction; HSETNX, so a state
        already known for a number (the same id pushed again) stays. The queue's length after."""
        status_key = self.keys.status(task_id)
        queued = state_json("queued", time.time())
        pipe = self._r.pipeline(transaction=True)
        pipe.lpush(self.keys.queue, payload)
        for mobile in mobiles:
            pipe.hsetnx(status_key, mobile, queued)
        pipe.expire(status_key, ttl_s)
        return int(pipe.execute()[0])
