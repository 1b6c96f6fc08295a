"""Operator actions on the dead-letter list: read it, replay it, purge it.

Entries have no identity but their bytes: ``entry_id`` names one by its digest. An action on a
chosen set (the dashboard's, confirmed first) is one on exactly what was counted: ``select`` counts
the entries a chooser takes over the whole list, ``exactly`` acts on those (identical entries
counted as many times as they were there) and nothing added since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smsworker.deadletters import parse_envelope, replayable_task
from smsworker.store.queue import RedisQueue


@dataclass
class ReplayResult:
    replayed: int = 0
    recipients: int = 0
    # Envelopes of unparseable tasks (invalid_json, invalid_task): there is no task to push again.
    not_replayable: int = 0
    # Taken by someone else (another replay, a purge) between reading and moving.
    vanished: int = 0


def list_dead(queue: RedisQueue, limit: int | None) -> list[dict[str, Any]]:
    """Newest first; an unreadable entry is shown as such rather than hidden."""
    entries = []
    for raw in queue.dead_letters(limit):
        entries.append(
            parse_envelope(raw) or {"reason": "unreadable", "error": raw[:200].decode("utf-8", "replace")}
        )
    return entries


Chooser = Callable[[bytes, dict[str, Any]], bool]  # (raw entry, envelope) -> whether it is meant


def replay(
    queue: RedisQueue,
    *,
    limit: int | None,
    reason: str | None,
    on_each: Callable[[], None] = lambda: None,
    only: Chooser | None = None,
) -> ReplayResult:
    """Push the failed part of dead tasks back onto the queue, oldest first.

    Each move is one Lua call (remove the envelope, push the task), so a crash half-way loses and
    duplicates nothing.
    """
    result = ReplayResult()
    for raw in queue.dead_letters_oldest_first():
        if limit is not None and result.replayed >= limit:
            break
        envelope = parse_envelope(raw)
        if envelope is None or (reason is not None and envelope.get("reason") != reason):
            continue
        if only is not None and not only(raw, envelope):
            continue
        task = replayable_task(envelope)
        if task is None:
            result.not_replayable += 1
            continue
        if queue.replay(raw, task):
            result.replayed += 1
            result.recipients += _recipients(envelope)
        else:
            result.vanished += 1
        on_each()
    return result


def _recipients(envelope: dict[str, Any]) -> int:
    task = envelope.get("task")
    if isinstance(task, dict) and isinstance(task.get("mobiles"), list):
        return len(task["mobiles"])
    count = envelope.get("recipients")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def entry_id(raw: bytes) -> str:
    """A dead letter's name in forms and URLs: its digest."""
    return hashlib.sha256(raw).hexdigest()[:24]


@dataclass
class Selection:
    """Entries chosen for an action: entry id -> how many identical entries were there."""

    counts: dict[str, int] = field(default_factory=dict)
    replayable: int = 0  # of them, those with a task to push again

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class TooMany(Exception):
    """More entries chose than one action may take."""


def select(queue: RedisQueue, choose: Chooser, *, at_most: int) -> Selection:
    """The entries of the whole list ``choose`` takes; ``TooMany`` past ``at_most``."""
    chosen = Selection()
    for raw in queue.dead_letters_oldest_first():
        envelope = parse_envelope(raw) or {"reason": "unreadable"}
        if not choose(raw, envelope):
            continue
        key = entry_id(raw)
        chosen.counts[key] = chosen.counts.get(key, 0) + 1
        chosen.replayable += replayable_task(envelope) is not None
        if chosen.total > at_most:
            raise TooMany()
    return chosen


def exactly(selection: Selection) -> Chooser:
    """A chooser that takes the selected entries, each as many times as it was counted, once."""
    left = dict(selection.counts)

    def choose(raw: bytes, envelope: dict[str, Any]) -> bool:
        key = entry_id(raw)
        if left.get(key, 0) <= 0:
            return False
        left[key] -= 1
        return True

    return choose


def purge(queue: RedisQueue, only: Chooser) -> int:
    """Delete the entries ``only`` chooses (each on its own: one that a replay took meanwhile is
    simply not there); how many were deleted."""
    deleted = 0
    for raw in queue.dead_letters_oldest_first():
        envelope = parse_envelope(raw) or {"reason": "unreadable"}
        if only(raw, envelope) and queue.remove_dead(raw):
            deleted += 1
    return deleted
