"""What a producer can read about each recipient, and what links a vendor's report back to it.

Written when a task settles (``store/scripts/settle.lua``, in the same script as the outcome): for a
task pushed with an ``id``, one state per number in ``Q:status:<id>`` (``sent`` with the provider and
its message id, or ``dead`` with the reason); for each number a vendor accepted with a message id, a
receipt record ``Q:receipt:<provider>:<message id>:<number>`` naming the task and the number. Both expire
after ``--receipt-ttl``. Every value is strict JSON (UTF-8, no NaN), whatever the texts hold.
Numbers a previous run of the task sent (a worker died after sending them) are recorded too, from
what their progress marks kept of who accepted them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from smsworker.outcome import Acceptance, Failure
from smsworker.store.keys import Keys
from smsworker.task import SmsTask

# 9999-12-31T23:59:59Z: the last moment a date can show. A report's time past it (or before 1970)
# is no time at all, and must not be stored where `smsworker status` would have to print it.
LATEST_TIME_S = 253_402_300_799


def is_time(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a unix time in seconds that a date can show."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= LATEST_TIME_S
    )


def state_json(state: str, at: float, **fields: Any) -> bytes:
    """One recipient's state: ``{"state", "at", ...}``; empty or None fields are left out."""
    shown = {k: _text(v) if isinstance(v, str) else v for k, v in fields.items() if v not in (None, "")}
    return json.dumps(
        {"state": state, "at": round(at, 3), **shown},
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    ).encode("utf-8")


def recipient_states(
    sent: Sequence[str],
    accepted: Mapping[str, Acceptance],
    failed: Mapping[str, Failure],
    at: float,
    skipped: Mapping[str, Acceptance] | None = None,
) -> tuple[tuple[str, bytes], ...]:
    """(number, state JSON) for each number sent or dead-lettered in this settle, and each
    ``skipped`` one (sent by an earlier run of the task)."""
    done = {**(skipped or {}), **{m: accepted.get(m, Acceptance("")) for m in sent}}
    states = [
        (m, state_json("sent", at, provider=a.provider, message_id=a.message_id)) for m, a in done.items()
    ]
    states += [
        (m, state_json("dead", at, reason=f.reason, error=f.error, code=f.provider_code))
        for m, f in failed.items()
    ]
    return tuple(states)


def receipt_records(
    keys: Keys,
    task_id: str | None,
    accepted: Mapping[str, Acceptance],
    at: float,
    payload_key: str = "",
    campaign: str | None = None,
) -> tuple[tuple[str, bytes], ...]:
    """(key, JSON) for each number a vendor accepted with a message id; ``payload_key``: where the
    task's bytes are kept for --dead-letter-undelivered ("" when they are not); ``campaign``: whose
    delivered and undelivered counts its report adds to."""
    extra: dict[str, str] = {"payload": payload_key} if payload_key else {}
    if campaign is not None:
        extra["campaign"] = campaign
    return tuple(
        (
            keys.receipt(a.provider, a.message_id, number),
            json.dumps(
                {"id": task_id, "number": number, "at": round(at, 3), **extra}, ensure_ascii=False
            ).encode(),
        )
        for number, a in accepted.items()
        if a.message_id
    )


def waiting_states(
    later: Sequence[tuple[float, bytes, tuple[str, ...], str]], cancelled: Sequence[str], at: float
) -> tuple[tuple[str, bytes], ...]:
    """(number, state JSON) for recipients that wait (``scheduled`` or ``deferred``, with ``until``)
    and those ``cancelled``."""
    states = [(m, state_json(kind, at, until=round(due, 3))) for due, _, ms, kind in later for m in ms]
    return tuple(states + [(m, state_json("cancelled", at)) for m in cancelled])


def parse_state(raw: bytes) -> dict[str, Any]:
    """A stored state, or ``{"state": "unreadable"}`` if it is not one (written by hand?)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return {"state": "unreadable"}
    return (
        value if isinstance(value, dict) and isinstance(value.get("state"), str) else {"state": "unreadable"}
    )


def _text(value: str) -> str:
    # A provider's error text may hold anything a lone surrogate included; a state must stay UTF-8.
    return value.encode("utf-8", "replace").decode("utf-8")


def parse_record(raw: Any) -> dict[str, Any] | None:
    """A receipt record as ``receipt_records`` wrote it; None when there is none (expired) or it is
    not a JSON object (written by hand?)."""
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def receipt_state(raw: Any) -> dict[str, Any] | None:
    """The state a receipt record tells, for a task pushed without an id (one with an id has its
    status hash): ``sent`` at acceptance, or what its report said. None for an expired or
    unreadable record, or one of a task with an id."""
    record = parse_record(raw)
    if record is None or record.get("id") is not None:
        return None
    reported = record.get("reported")
    if reported in ("delivered", "undelivered"):
        return {"state": reported, "at": record.get("reported_at")}
    return {"state": "sent", "at": record.get("at")}


def queued_fields(task: SmsTask) -> tuple[str, ...]:
    """The status-hash fields a producer may have written ``queued`` under: the numbers as pushed,
    where that is not their E.164 form (the states are kept under E.164)."""
    return tuple(sorted({written for e164, written in task.written_as.items() if written != e164}))


def change_json(task_id: str | None, number: str, state: bytes) -> bytes:
    """An entry of the changes list (--receipts-list): the state with its task id and number."""
    return json.dumps(
        {"id": task_id, "number": number, **parse_state(state)}, ensure_ascii=False, allow_nan=False
    ).encode()
