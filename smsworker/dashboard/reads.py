"""What the dashboard shows, read from Redis: the overview, the workers, dead letters, states.

Anything a dead letter or a state holds is the producer's or a vendor's text, and may be of any
shape: each is turned into a view of known types here (an entry that is not an envelope is shown
raw, never a 500). For a user who may not see numbers, a view is masked here, whole
(``masked``, through the one masking function): the templates and the JSON API only ever get what
this module hands them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smsworker import dead_filter, deadletters
from smsworker.deadletters import parse_envelope
from smsworker.receipts import parse_state
from smsworker.redact import mask_numbers
from smsworker.store.queue import RedisQueue
from smsworker.store.status import StatusBook
from smsworker.task import normalise_mobile

PAGE = 50
_DETAILS = ("provider", "message_id", "reason", "code", "text", "error")
# Dead letters looked at for one page: the newest this many (the CLI reaches the rest).
SCAN_LIMIT = 20_000
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?Z?")
MAX_FIELD = 64  # characters of a filter field


class BadQuery(ValueError):
    """A page was asked for with a parameter it cannot take; the message says which (a 400)."""


def overview(queue: RedisQueue) -> dict[str, Any]:
    minutes = queue.per_minute(60)
    return {
        **queue.figures(),
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
        shown.append(
            {
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
            }
        )
    return shown


class DeadFilter(dead_filter.DeadFilter):
    """The dead letters' filter (``dead_filter.py``), as a page's query or form gives it."""

    @classmethod
    def from_args(cls, args: Any, *, whole_number: bool, region: str) -> DeadFilter:
        """The filter a query or form asks for; ``BadQuery`` saying what is wrong."""
        given = {
            name: str(args.get(name, "")).strip() for name in ("reason", "code", "number", "since", "until")
        }
        for name, value in given.items():
            if len(value) > MAX_FIELD:
                raise BadQuery(f"{name} is longer than {MAX_FIELD} characters")
        for name in ("since", "until"):
            if given[name] and not _WHEN.fullmatch(given[name]):
                raise BadQuery(f"{name} must be a date or time like 2026-11-21 or 2026-11-21T10")
        if whole_number and given["number"] and normalise_mobile(given["number"], region) is None:
            raise BadQuery("number must be a whole phone number (viewers search by whole numbers)")
        return cls(**given, whole_number=whole_number, region=region)


@dataclass
class DeadPage:
    entries: list[dict[str, Any]] = field(default_factory=list)
    matching: int = 0
    page: int = 1
    pages: int = 1


def page_number(text: str | None) -> int:
    """``?page=``: a whole number from 1; ``BadQuery`` otherwise."""
    if text is None or text == "":
        return 1
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) < 1:
        raise BadQuery("page must be a whole number from 1")
    return int(text)


def dead_page(queue: RedisQueue, wanted: DeadFilter, page: int, *, mask: bool) -> DeadPage:
    """One page of the dead letters ``wanted`` chooses, newest first."""
    chosen = [(raw, env) for raw, env in newest(queue) if wanted.matches(env)]
    pages = max(1, -(-len(chosen) // PAGE))
    page = min(max(1, page), pages)
    shown = [view(raw, env, mask=mask) for raw, env in chosen[(page - 1) * PAGE : page * PAGE]]
    return DeadPage(shown, len(chosen), page, pages)


def dead_entry(queue: RedisQueue, wanted_id: str, *, mask: bool) -> dict[str, Any] | None:
    for raw, envelope in newest(queue):
        if deadletters.entry_id(raw) == wanted_id:
            return view(raw, envelope, mask=mask, whole=True)
    return None


def lookup(queue: RedisQueue, task_id: str, mobile: str, region: str, *, mask: bool) -> list[dict[str, Any]]:
    """Each recipient's states, by task id or by number, newest state last in its history."""
    book = StatusBook(queue)
    found: list[tuple[str | None, str, dict[str, Any]]] = []
    if task_id:
        found = [(task_id, number, parse_state(raw)) for number, raw in book.statuses(task_id).items()]
    elif mobile:
        number = normalise_mobile(mobile, region)
        if number is not None:
            found = [(tid, number, state) for tid, state in book.states_of_number(number)]
    views = [
        {
            "id": tid,
            "number": number,
            "state": _text(state.get("state")),
            "at": when(state.get("at")),
            "detail": {k: _text(state[k]) for k in _DETAILS if k in state},
            "history": [
                {"state": _text(h.get("state")), "at": when(h.get("at"))}
                for h in _list(state.get("history"))
                if isinstance(h, dict)
            ],
        }
        for tid, number, state in found
    ]
    return [masked(v) for v in views] if mask else views


def newest(queue: RedisQueue) -> list[tuple[bytes, dict[str, Any]]]:
    """The newest ``SCAN_LIMIT`` dead letters, each with its envelope (or what stands for one)."""
    return [(raw, envelope_of(raw)) for raw in queue.dead_letters(SCAN_LIMIT)]


def envelope_of(raw: bytes) -> dict[str, Any]:
    """The envelope in an entry, or, for one that is not an envelope, an ``unreadable`` stand-in
    that carries the entry as text: shown raw, never a 500."""
    envelope = parse_envelope(raw)
    if envelope is not None and _is_envelope(envelope):
        return envelope
    return {"reason": "unreadable", "error": raw[:500].decode("utf-8", "replace")}


def view(raw: bytes, envelope: dict[str, Any], *, mask: bool, whole: bool = False) -> dict[str, Any]:
    """What a page shows of one dead letter: every value of a known type."""
    mobiles = [_text(m) for m in _list(envelope.get("failed_mobiles"))]
    recipients = envelope.get("recipients")
    shown: dict[str, Any] = {
        "id": deadletters.entry_id(raw),
        "reason": _text(envelope.get("reason")),
        "code": _text(envelope.get("provider_code")),
        "error": _text(envelope.get("error")),
        "failed_at": _text(envelope.get("failed_at")),
        "recipients": len(mobiles) or (recipients if isinstance(recipients, int) else 0),
        "mobiles": mobiles if whole else mobiles[:5],
        "more": 0 if whole else max(0, len(mobiles) - 5),
    }
    if whole:
        payload = envelope.get("payload")
        shown["payload"] = (
            payload if isinstance(payload, str) else "(binary, base64 in the CLI's dlq list --json)"
        )
        shown["attempts"] = _text(envelope.get("attempts"))
        shown["worker"] = _text(envelope.get("worker"))
    return masked(shown, keep=("id",)) if mask else shown


def masked(value: Any, keep: tuple[str, ...] = ()) -> Any:
    """``value`` with every text in it masked (``redact.mask_numbers``), but the keys in ``keep``
    (ids of our own making) at its top."""
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in keep else masked(v) for k, v in value.items()}
    return value


def _is_envelope(envelope: dict[str, Any]) -> bool:
    """The fields the pages read have the types the worker writes."""
    texts = ("reason", "error", "failed_at", "provider_code", "payload", "worker")
    return (
        isinstance(envelope.get("reason"), str)
        and all(envelope.get(k) is None or isinstance(envelope.get(k), str) for k in texts)
        and (envelope.get("failed_mobiles") is None or isinstance(envelope.get("failed_mobiles"), list))
    )


def _text(value: Any) -> str:
    """A value as text to show: text as it is, anything else as JSON, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)[:500]
    except (TypeError, ValueError):
        return repr(value)[:500]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


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
