"""The read side of a queue, for ``stats``, the dashboard and the metrics: lengths, counters, the
per-minute send counts, and how long the next task has waited. Nothing here moves a task."""

from __future__ import annotations

import time
from dataclasses import dataclass

from smsworker.store import scripts
from smsworker.store.workers import Workers


@dataclass(frozen=True)
class Stats:
    queue: int
    processing: int
    dead: int
    workers: int
    sent_total: int
    dead_total: int
    tasks_total: int
    segments_total: int
    # Delivery reports: recipients reported delivered / undelivered, and reports nothing was known of.
    delivered_total: int = 0
    undelivered_total: int = 0
    unmatched_reports: int = 0
    awaiting_receipt: int = 0  # accepted with a vendor id, no report yet (within the receipt TTL)
    held_reports: int = 0  # reports that came before their task settled, waiting for its receipt
    scheduled: int = 0  # tasks waiting for their send_at (ZCARD of the scheduled set)
    cancelled_total: int = 0  # recipients ended as cancelled

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Inspection(Workers):
    def stats(self) -> Stats:
        workers = sorted(self.known_workers())
        pipe = self._r.pipeline(transaction=False)
        pipe.llen(self.keys.queue)
        pipe.llen(self.keys.dead)
        pipe.hgetall(self.keys.stats)
        pipe.zcard(self.keys.awaiting)
        pipe.zcard(self.keys.held_since)
        pipe.zcard(self.keys.scheduled)
        for worker_id in workers:
            pipe.llen(self.keys.processing(worker_id))
        for worker_id in workers:
            pipe.exists(self.keys.heartbeat(worker_id))
        for lane in self.lane_names:  # what waits in a lane is queued too
            pipe.llen(self.keys.lane(lane))
        queue_len, dead_len, counters, awaiting, held, scheduled, *rest = pipe.execute()
        queue_len += sum(rest[2 * len(workers) :])
        count = {k.decode(): int(v) for k, v in counters.items()}
        return Stats(
            queue=queue_len,
            processing=sum(rest[: len(workers)]),
            dead=dead_len,
            workers=sum(1 for alive in rest[len(workers) : 2 * len(workers)] if alive),
            sent_total=count.get("sent", 0),
            dead_total=count.get("dead", 0),
            tasks_total=count.get("tasks", 0),
            segments_total=count.get("segments", 0),
            delivered_total=count.get("delivered", 0),
            undelivered_total=count.get("undelivered", 0),
            unmatched_reports=count.get("unmatched", 0),
            awaiting_receipt=awaiting,
            held_reports=held,
            scheduled=scheduled,
            cancelled_total=count.get("cancelled", 0),
        )

    def paused_scopes(self) -> list[str]:
        """What is paused (``all``, ``lane:<name>``, ``provider:<name>``, ``campaign:<name>``), sorted."""
        return sorted(field.decode("utf-8", "replace") for field in self._r.hkeys(self.keys.paused))

    def figures(self, now: float | None = None) -> dict[str, int | float | None]:
        """What ``stats`` and the dashboard's overview show: ``stats()``'s counts and
        ``oldest_age_s``, how long the next task has waited (None when the queue is empty)."""
        return {**self.stats().as_dict(), "oldest_age_s": self.oldest_age_s(now)}

    def oldest_age_s(self, now: float | None = None) -> float | None:
        """How long the next task to be taken has waited, at least (``head_age.lua``): in the queue,
        or in any lane (paused ones too: their tasks wait all the same); None: all are empty."""
        at = time.time() if now is None else now
        head_age = self._script(scripts.HEAD_AGE)
        lists = [(self.keys.queue, self.keys.head)]
        lists += [(self.keys.lane(n), self.keys.lane_head(n)) for n in self.lane_names]
        ages = [float(head_age(keys=[key, note], args=[at, 7 * 24 * 3600])) for key, note in lists]
        found = [age for age in ages if age >= 0]
        return max(found) if found else None

    def per_minute(self, minutes: int, now: float | None = None) -> list[tuple[int, int, int]]:
        """(minute start, sent, dead) for each of the last ``minutes`` minutes, oldest first."""
        last = int((time.time() if now is None else now) // 60)
        wanted = list(range(last - minutes + 1, last + 1))
        pipe = self._r.pipeline(transaction=False)
        for minute in wanted:
            pipe.hmget(self.keys.minute(minute), "sent", "dead")
        return [
            (minute * 60, int(sent or 0), int(dead or 0))
            for minute, (sent, dead) in zip(wanted, pipe.execute(), strict=True)
        ]

    def length(self) -> int:
        return int(self._r.llen(self.keys.queue))

    def dead_length(self) -> int:
        return int(self._r.llen(self.keys.dead))
