"""What the dashboard shows, read from Redis, and its two actions (replay, purge) through ``dlq.py``.

Numbers are masked here, once, for a user who may not see them (``mask``): the templates and the
JSON API only ever get what this module hands them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smsworker import dlq
from smsworker.deadletter import parse_envelope
from smsworker.queue import RedisQueue
from smsworker.receipts import parse_state
from smsworker.redact import mask_numbers
from smsworker.status_book import StatusBook
from smsworker.task import normalise_mobile

PAGE = 50
_DETAILS = ("provider", "message_id", "reason", "code", "text", "error")
# Dead letters looked at for one filtered page: the newest this many (the CLI reaches the rest).
SCAN_LIMIT = 20_000


def entry_id(raw: bytes) -> str:
    """A dead letter's name in forms and URLs: its digest (entries have no other identity)."""
    return hashlib.sha256(raw).hexdigest()[:24]


def overview(queue: RedisQueue) -> dict[str, Any]:
    stats = queue.stats().as_dict()
    minutes = queue.per_minute(60)
    return {
        **stats,
        "oldest_age_s": queue.oldest_age_s(),
        "per_minute": [{"at": at, "sent": sent, "dead": dead} for at, sent, dead in minutes],
    }


def workers(queue: RedisQueue, now: float | None = None) -> list[dict[str, Any]]:
    """Every worker that may own a processing list, with what its heartbeat says; ``late`` when
    two beats were missed, ``gone`` when it has none (it is recovered at the next check)."""
    now = time.time() if now is None else now
    ids = sorted(queue.known_workers())
    beats = queue.heartbeats(ids)
    shown = []
    for worker_id in ids:
        beat = _json(beats[worker_id])
        at = beat.get("at") if isinstance(beat.get("at"), (int, float)) else None
        ttl = float(beat["ttl"]) if isinstance(beat.get("ttl"), (int, float)) else 30.0
        age = None if at is None else max(0.0, now - at)
        late = age is not None and age > ttl * 2 / 3  # two beats missed
        shown.append({
            "id": worker_id,
            "host": beat.get("host", worker_id.split(":")[0]),
            "pid": beat.get("pid"),
            "processes": beat.get("processes"),
            "concurrency": beat.get("concurrency"),
            "in_flight": beat.get("in_flight"),
            "started_at": beat.get("started_at"),
            "version": beat.get("version"),
            "heartbeat_age_s": age,
            "processing": queue.processing_length(worker_id),
            "state": "gone" if beats[worker_id] is None else ("late" if late else "ok"),
        })  # fmt: skip
    return shown


@dataclass
class DeadFilter:
    reason: str = ""
    code: str = ""
    number: str = ""  # digits the number ends with, or the whole number
    since: str = ""  # ISO date or time, UTC
    until: str = ""

    def matches(self, envelope: dict[str, Any]) -> bool:
        if self.reason and envelope.get("reason") != self.reason:
            return False
        if self.code and str(envelope.get("provider_code", "")) != self.code:
            return False
        if self.number and not any(
            _digits(str(m)).endswith(_digits(self.number)) for m in envelope.get("failed_mobiles") or []
        ):
            return False
        failed_at = str(envelope.get("failed_at", ""))
        if self.since and failed_at < self.since:
            return False
        return not (self.until and failed_at[: len(self.until)] > self.until)

    @property
    def any(self) -> bool:
        return bool(self.reason or self.code or self.number or self.since or self.until)


@dataclass
class DeadPage:
    entries: list[dict[str, Any]] = field(default_factory=list)
    matching: int = 0
    page: int = 1
    pages: int = 1


def dead_page(queue: RedisQueue, wanted: DeadFilter, page: int, *, mask: bool) -> DeadPage:
    """One page of the dead letters ``wanted`` chooses, newest first."""
    chosen = [(raw, env) for raw, env in _newest(queue) if wanted.matches(env)]
    pages = max(1, -(-len(chosen) // PAGE))
    page = min(max(1, page), pages)
    shown = [_shown(raw, env, mask) for raw, env in chosen[(page - 1) * PAGE : page * PAGE]]
    return DeadPage(shown, len(chosen), page, pages)


def dead_entry(queue: RedisQueue, wanted_id: str, *, mask: bool) -> dict[str, Any] | None:
    for raw, envelope in _newest(queue):
        if entry_id(raw) == wanted_id:
            return _shown(raw, envelope, mask, whole=True)
    return None


def chooser(wanted: DeadFilter, ids: set[str] | None) -> dlq.Chooser:
    """The entries an action is for: the ``ids`` ticked, or else all that ``wanted`` shows."""
    if ids is not None:
        return lambda raw, envelope: entry_id(raw) in ids
    return lambda raw, envelope: wanted.matches(envelope)


def count_chosen(queue: RedisQueue, choose: dlq.Chooser) -> int:
    return sum(1 for raw, envelope in _newest(queue) if choose(raw, envelope))


def replay(queue: RedisQueue, choose: dlq.Chooser) -> dlq.ReplayResult:
    return dlq.replay(queue, limit=None, reason=None, only=choose)


def purge(queue: RedisQueue, choose: dlq.Chooser) -> int:
    return dlq.purge(queue, choose)


def lookup(queue: RedisQueue, task_id: str, mobile: str, region: str, *, mask: bool) -> list[dict[str, Any]]:
    """Each recipient's states, by task id or by number, newest state last in its history."""
    book = StatusBook(queue)
    found: list[tuple[str | None, str, dict[str, Any]]] = []
    if task_id:
        found = [(task_id, number, parse_state(raw)) for number, raw in book.statuses(task_id).items()]
    elif mobile:
        number = normalise_mobile(mobile.strip(), region)
        if number is not None:
            found = [(tid, number, state) for tid, state in book.states_of_number(number)]
    hide: Callable[[str], str] = mask_numbers if mask else (lambda text: text)
    return [
        {
            "id": tid,
            "number": hide(number),
            "state": state.get("state"),
            "at": when(state.get("at")),
            "detail": {k: state[k] for k in _DETAILS if k in state},
            "history": [
                {"state": h.get("state"), "at": when(h.get("at"))}
                for h in state.get("history", []) if isinstance(h, dict)
            ],
        }
        for tid, number, state in found
    ]  # fmt: skip


def _newest(queue: RedisQueue) -> list[tuple[bytes, dict[str, Any]]]:
    return [
        (raw, parse_envelope(raw) or {"reason": "unreadable", "error": raw[:200].decode("utf-8", "replace")})
        for raw in queue.dead_letters(SCAN_LIMIT)
    ]


def _shown(raw: bytes, envelope: dict[str, Any], mask: bool, *, whole: bool = False) -> dict[str, Any]:
    mobiles = [str(m) for m in envelope.get("failed_mobiles") or []]
    shown = {
        "id": entry_id(raw),
        "reason": envelope.get("reason"),
        "code": envelope.get("provider_code"),
        "error": _hide(str(envelope.get("error", "")), mask),
        "failed_at": envelope.get("failed_at"),
        "recipients": len(mobiles) or envelope.get("recipients", 0),
        "mobiles": [mask_numbers(m) if mask else m for m in mobiles[:5]],
        "more": max(0, len(mobiles) - 5),
    }
    if whole:
        payload = envelope.get("payload")
        shown["payload"] = (
            _hide(payload, mask)
            if isinstance(payload, str)
            else "(binary, base64 in the CLI's dlq list --json)"
        )
        shown["attempts"] = envelope.get("attempts")
        shown["worker"] = envelope.get("worker")
        shown["mobiles"] = [mask_numbers(m) if mask else m for m in mobiles]
        shown["more"] = 0
    return shown  # fmt: skip


def _hide(text: str, mask: bool) -> str:
    return mask_numbers(text) if mask else text


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _json(raw: bytes | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def when(at: object) -> str:
    if isinstance(at, (int, float)) and not isinstance(at, bool) and 0 <= at < 10**11:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return ""
