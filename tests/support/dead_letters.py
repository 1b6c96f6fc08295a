"""Which recipients a dead-letter list accounts for: the oracle of the "nothing lost" tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable


def dead_lettered_mobiles(envelopes: Iterable[bytes | str]) -> set[str]:
    """The numbers (as written) the envelopes hold: each one's ``failed_mobiles`` and, for an element
    set aside whole (``poison``, a whole-element ``internal_error``: ``task`` is null and replay
    pushes the original bytes), every number of its payload."""
    dead: set[str] = set()
    for raw in envelopes:
        envelope = json.loads(raw)
        dead.update(envelope["failed_mobiles"])
        if envelope["task"] is None:
            dead.update(_payload_mobiles(envelope))
    return dead


def _payload_mobiles(envelope: dict[str, object]) -> list[str]:
    if isinstance(envelope.get("payload_b64"), str):
        payload: bytes = base64.b64decode(str(envelope["payload_b64"]))
    else:
        payload = str(envelope["payload"]).encode("utf-8", "surrogatepass")
    try:
        task = json.loads(payload)
    except ValueError:
        return []
    mobiles = task.get("mobiles") if isinstance(task, dict) else None
    return [m for m in mobiles if isinstance(m, str)] if isinstance(mobiles, list) else []
