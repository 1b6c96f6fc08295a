"""A task's per-recipient progress in Redis (``Q:progress:<key>``, see ``keys.py``).

Each number is absent (nobody is on it), ``1`` (the provider confirmed it), or the reservation
``r <worker> <flight>`` of the request about to send it. Reserving before each request is what
keeps two claimants of the same recipient (the same ``id`` pushed twice, or a task recovered from a
worker that was only frozen) from both sending it: the second waits for the first, or takes over
when the first's worker is dead.

Beside a confirmed number, the field ``@<number>`` keeps who accepted it and the vendor's id for the
message (``<provider> <message id>``), written with the mark. Whoever settles the task, the worker
that sent the number or the one that recovered the task after it died, can then record the receipt
its delivery report will name: a report is never left without its link because a worker died
between the request and the settle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from smsworker.outcome import Acceptance
from smsworker.store import scripts
from smsworker.store.args import ScriptArgs
from smsworker.store.keys import PROGRESS_TTL_S

SENT = "1"


def reservation(worker_id: str, flight: str) -> str:
    return f"r {worker_id} {flight}"


def holder(reserved: str) -> str | None:
    """The worker id in a reservation, None for anything else."""
    parts = reserved.split(" ")
    return parts[1] if len(parts) == 3 and parts[0] == "r" else None


@dataclass
class Reserved:
    """What one reservation round found: ``ours``, reserved for this reservation now (or already)."""

    ours: list[str] = field(default_factory=list)
    # Sent already, with who accepted each (Acceptance("") when that was not recorded).
    sent: dict[str, Acceptance] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # number -> the reservation holding it


@dataclass(frozen=True)
class Mark:
    """What one request settled under a progress key: ``sent`` confirmed, ``release`` given up;
    ``accepted``: who took each of ``sent`` that has a vendor id."""

    key: str
    reservation: str
    sent: tuple[str, ...]
    release: tuple[str, ...]
    accepted: tuple[tuple[str, Acceptance], ...] = ()


class Progress:
    def __init__(self, client: redis.Redis) -> None:
        self._reserve = scripts.register(client, scripts.RESERVE)
        self._steal = scripts.register(client, scripts.STEAL)
        self._finish = scripts.register(client, scripts.FINISH)

    def reserve(self, key: str, reservation: str, mobiles: Sequence[str]) -> Reserved:
        answers: list[bytes] = self._reserve(keys=[key], args=[reservation, PROGRESS_TTL_S, *mobiles])
        found = Reserved()
        for mobile, answer in zip(mobiles, answers, strict=True):
            text = answer.decode("utf-8", "replace")
            mark, _, accepted = text.partition("\n")
            if text == "":
                found.ours.append(mobile)
            elif mark == SENT:
                provider, _, message_id = accepted.partition(" ")
                found.sent[mobile] = Acceptance(provider, message_id)
            else:
                found.held[mobile] = text
        return found

    def steal(self, key: str, reservation: str, taken: Mapping[str, str]) -> None:
        """Take over ``taken`` (number -> the dead holder's reservation), each only if unchanged."""
        pairs: list[Any] = [item for pair in taken.items() for item in pair]
        self._steal(keys=[key], args=[reservation, *pairs])

    def finish_many(self, marks: Sequence[Mark]) -> None:
        """For each mark, in one call: its ``sent`` confirmed, our reservations on ``release`` given up."""
        marks = [m for m in marks if m.sent or m.release]
        if not marks:
            return
        call = ScriptArgs([m.key for m in marks])
        call.put(PROGRESS_TTL_S)
        for mark in marks:
            call.put(mark.reservation)
            call.items(mark.sent)
            call.items(mark.release)
            call.rows([(number, f"{a.provider} {a.message_id}") for number, a in mark.accepted])
        self._finish(keys=call.keys, args=call.args)
