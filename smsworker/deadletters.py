"""The dead-letter envelope: what an operator sees for every message that could not be sent.

One envelope per task and reason: ``payload`` (the element exactly as pushed, or ``payload_b64`` when
it is not UTF-8), ``task`` (the seed-format task reduced to the failed recipients, or null when it
could not be parsed), ``failed_mobiles``, ``reason``, ``error``, ``attempts``, ``failed_at``,
``worker``, ``queue`` and, when the provider gave one, ``provider_code``.

The operators' actions (the CLI's and the dashboard's) are here too: read the list, replay it, purge
it.

Entries have no identity but their bytes: ``entry_id`` names one by its digest. An action on a
chosen set (the dashboard's, confirmed first) is one on exactly what was counted: ``select`` counts
the entries a chooser takes over the whole list, ``exactly`` acts on those (identical entries
counted as many times as they were there) and nothing added since.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smsworker.outcome import WHOLE_ELEMENT_REASONS, Failure
from smsworker.store.queue import RedisQueue
from smsworker.task import SmsTask, encode_task


def build_envelope(
    *,
    raw: bytes,
    task: SmsTask | None,
    failed: dict[str, Failure],
    worker: str,
    queue: str,
    now: datetime | None = None,
) -> list[bytes]:
    """Envelopes for one task's failures, one per reason. ``failed`` maps mobile -> Failure.

    With ``task`` None, ``failed`` holds a single entry under the key "" (the whole element failed).
    Never raises, and every envelope is strict JSON (RFC 8259, UTF-8, no NaN): when anything in the
    task cannot be encoded, the one envelope is ``fallback_envelope`` with the original bytes.
    """
    failed_at = utc_text(now or datetime.now(UTC))
    try:
        return _envelopes(raw, task, failed, {"failed_at": failed_at, "worker": worker, "queue": queue})
    except Exception as exc:  # containment: whatever the element holds, it still gets a dead letter
        return [fallback_envelope(raw, exc, failed_at=failed_at, worker=worker, queue=queue, failed=failed)]


def _envelopes(
    raw: bytes, task: SmsTask | None, failed: dict[str, Failure], where: dict[str, str]
) -> list[bytes]:
    by_reason: dict[str, list[tuple[str, Failure]]] = {}
    for mobile, failure in failed.items():
        by_reason.setdefault(failure.reason, []).append((mobile, failure))
    out = []
    for reason, items in by_reason.items():
        # Without a task, "" is the whole element; with one, "" is a recipient written as "".
        written = task.as_written([m for m, _ in items]) if task is not None else []
        envelope: dict[str, Any] = _payload_fields(raw)
        envelope.update(
            task=task.reduced_to(written) if task is not None else None,
            failed_mobiles=written,
            reason=reason,
            error=_summarise(f.error for _, f in items),
            attempts=max(f.attempts for _, f in items),
            **where,
        )
        codes = sorted({f.provider_code for _, f in items if f.provider_code})
        if codes:
            envelope["provider_code"] = codes[0] if len(codes) == 1 else codes
        out.append(strict_json(envelope))
    return out


def utc_text(when: datetime) -> str:
    """How smsworker writes a moment for people: ``2026-11-21T15:35:35Z``."""
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def strict_json(value: Any) -> bytes:
    """RFC 8259 JSON in UTF-8: raises rather than write NaN, Infinity or an unpaired surrogate."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def fallback_envelope(
    raw: bytes, exc: BaseException, *, failed_at: str, worker: str, queue: str, failed: dict[str, Failure]
) -> bytes:
    """The dead letter that cannot fail: the original bytes in base64, ASCII text only."""
    reasons = sorted({_ascii(f.reason) for f in failed.values()}) or ["unknown"]
    envelope: dict[str, Any] = {
        "payload_b64": base64.b64encode(raw).decode("ascii"),
        "task": None,
        "failed_mobiles": [],
        "recipients": sum(1 for mobile in failed if mobile) or len(failed),
        "reason": "internal_error",
        "error": _ascii(
            f"{type(exc).__name__} while writing the dead letter for {', '.join(reasons)}: "
            "the original element is in payload_b64"
        ),
        "attempts": max((f.attempts for f in failed.values()), default=0),
        "failed_at": _ascii(failed_at),
        "worker": _ascii(worker),
        "queue": _ascii(queue),
    }
    return json.dumps(envelope, ensure_ascii=True).encode("ascii")


def _ascii(text: str) -> str:
    return str(text).encode("ascii", "backslashreplace").decode("ascii")[:500]


def original_payload(envelope: dict[str, Any]) -> bytes:
    """The element exactly as it was pushed."""
    if "payload_b64" in envelope:
        try:
            return base64.b64decode(envelope["payload_b64"], validate=True)
        except (binascii.Error, ValueError):
            return b""
    return str(envelope.get("payload", "")).encode("utf-8")


def replayable_task(envelope: dict[str, Any]) -> bytes | None:
    """The failed part of the task, ready to push again; None when nothing can be replayed.

    An element quarantined whole (``poison``, or an ``internal_error`` before it was understood) is
    pushed again exactly as it was first pushed.
    """
    task = envelope.get("task")
    if isinstance(task, dict) and task.get("mobiles"):
        try:
            return encode_task(task)
        except (ValueError, TypeError, RecursionError):
            return None
    if envelope.get("reason") in WHOLE_ELEMENT_REASONS:
        return original_payload(envelope) or None
    return None


def parse_envelope(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _payload_fields(raw: bytes) -> dict[str, Any]:
    try:
        return {"payload": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"payload_b64": base64.b64encode(raw).decode("ascii")}


def _summarise(errors: Any) -> str:
    distinct = list(dict.fromkeys(errors))
    if len(distinct) == 1:
        return str(distinct[0])
    return f"{distinct[0]} (and {len(distinct) - 1} other errors)"


@dataclass
class ReplayResult:
    replayed: int = 0
    recipients: int = 0
    # Envelopes of unparseable tasks (invalid_json, invalid_task): there is no task to push again.
    not_replayable: int = 0
    # Taken by someone else (another replay, a purge) between reading and moving.
    vanished: int = 0


Chooser = Callable[[bytes, dict[str, Any]], bool]  # (raw entry, envelope) -> whether it is meant


@dataclass
class Listing:
    """What ``dlq list`` shows: some entries, newest first, and how many there were to show."""

    entries: list[dict[str, Any]]
    matching: int  # entries the chooser took, over the whole list (all of them without one)
    total: int  # entries in the list


def list_dead(queue: RedisQueue, limit: int | None, only: Chooser | None = None) -> Listing:
    """The newest ``limit`` entries ``only`` chooses (all without it), newest first; an unreadable
    entry is shown as such rather than hidden. With a chooser the whole list is read, in chunks."""
    if only is None:
        raws, total = queue.dead_letters_counted(limit)
        return Listing([_readable(raw) for raw in raws], total, total)
    kept: deque[dict[str, Any]] = deque(maxlen=limit)  # oldest first: the newest matches stay
    matching = total = 0
    for raw in queue.dead_letters_oldest_first():
        total += 1
        envelope = _readable(raw)
        if only(raw, envelope):
            matching += 1
            kept.append(envelope)
    return Listing(list(reversed(kept)), matching, total)


def _readable(raw: bytes) -> dict[str, Any]:
    return parse_envelope(raw) or {"reason": "unreadable", "error": raw[:200].decode("utf-8", "replace")}


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
