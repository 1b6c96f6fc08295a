"""The dead-letter envelope: what an operator sees for every message that could not be sent.

One envelope per task and reason: ``payload`` (the element exactly as pushed, or ``payload_b64`` when
it is not UTF-8), ``task`` (the seed-format task reduced to the failed recipients, or null when it
could not be parsed), ``failed_mobiles``, ``reason``, ``error``, ``attempts``, ``failed_at``,
``worker``, ``queue`` and, when the provider gave one, ``provider_code``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smsworker.task import SmsTask, encode_task

REASONS = (
    "invalid_json",
    "invalid_task",
    "invalid_mobile",
    "provider_rejected",
    "retries_exhausted",
    "too_large",
)


@dataclass(frozen=True)
class Failure:
    """Why one recipient could not be sent."""

    reason: str
    error: str
    attempts: int = 0
    provider_code: str | None = None
    recipient_fault: bool = False  # the number's own problem: no other provider would take it


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
    """
    by_reason: dict[str, list[tuple[str, Failure]]] = {}
    for mobile, failure in failed.items():
        by_reason.setdefault(failure.reason, []).append((mobile, failure))
    failed_at = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    out = []
    for reason, items in by_reason.items():
        mobiles = [m for m, _ in items if m]
        written = task.as_written(mobiles) if task is not None else []
        envelope: dict[str, Any] = _payload_fields(raw)
        envelope.update(
            task=task.reduced_to(written) if task is not None else None,
            failed_mobiles=written,
            reason=reason,
            error=_summarise(f.error for _, f in items),
            attempts=max(f.attempts for _, f in items),
            failed_at=failed_at,
            worker=worker,
            queue=queue,
        )
        codes = sorted({f.provider_code for _, f in items if f.provider_code})
        if codes:
            envelope["provider_code"] = codes[0] if len(codes) == 1 else codes
        out.append(json.dumps(envelope, ensure_ascii=False).encode("utf-8"))
    return out


def original_payload(envelope: dict[str, Any]) -> bytes:
    """The element exactly as it was pushed."""
    if "payload_b64" in envelope:
        try:
            return base64.b64decode(envelope["payload_b64"], validate=True)
        except (binascii.Error, ValueError):
            return b""
    return str(envelope.get("payload", "")).encode("utf-8")


def replayable_task(envelope: dict[str, Any]) -> bytes | None:
    """The failed part of the task, ready to push again; None when nothing can be replayed."""
    task = envelope.get("task")
    if not isinstance(task, dict) or not task.get("mobiles"):
        return None
    return encode_task(task)


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
