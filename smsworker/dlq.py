"""Operator actions on the dead-letter list: read it, replay it, purge it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsworker.deadletter import parse_envelope, replayable_task
from smsworker.queue import RedisQueue


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


def purge(queue: RedisQueue, only: Chooser) -> int:
    """Delete the entries ``only`` chooses (each on its own: one that a replay took meanwhile is
    simply not there); how many were deleted."""
    deleted = 0
    for raw in queue.dead_letters_oldest_first():
        envelope = parse_envelope(raw) or {"reason": "unreadable"}
        if only(raw, envelope) and queue.remove_dead(raw):
            deleted += 1
    return deleted
