"""Traffic control: pause and resume what is sent, cancel a task or a campaign, read the campaigns.

The keys are ``keys.py``'s ``paused``, ``parked``, ``cancel_id``, ``cancel_campaign``, ``campaign``
and ``campaigns``. What is written here is what people decide (the CLI, the dashboard, a PHP app);
the workers read it and act: they start no new send for a paused scope, park the tasks of a paused
campaign, and end a cancelled task's recipients not yet sent as ``cancelled``. A cancel is O(1)
here (one key with the receipt TTL) and idempotent: a second one changes nothing and says so.

A scope is ``all``, ``lane:<name>``, ``provider:<name>`` or ``campaign:<name>``; lane and provider
names match ``[a-z0-9][a-z0-9_-]{0,31}``, a campaign's is 1 to 64 characters without control
characters. ``parse_scope`` refuses anything else with a ``ValueError`` that says what is expected.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import redis

from smsworker.receipts import is_time, state_json
from smsworker.store import scripts
from smsworker.store.keys import CANCEL_TTL_S, RECEIPT_TTL_S, Keys
from smsworker.store.queue import RedisQueue

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
CAMPAIGN_MAX = 64
SCOPE_KINDS = ("lane", "provider", "campaign")
# The states a sent recipient can be in: the provider accepted it, a cancel cannot call it back.
SENT_STATES = frozenset({"sent", "delivered", "undelivered"})
COUNTERS = ("tasks", "sent", "dead", "cancelled", "scheduled", "delivered", "undelivered", "segments")


@dataclass(frozen=True)
class Pause:
    scope: str  # all | lane:<name> | provider:<name> | campaign:<name>
    at: float  # unix s
    by: str  # who paused it: "cli user@host", "dashboard user", "php"


@dataclass(frozen=True)
class CancelReport:
    cancelled: bool  # False: it was cancelled already (by an earlier call)
    sent: tuple[str, ...]  # numbers the status hash says were sent: they cannot be stopped
    pending: tuple[str, ...]  # the other numbers it knows, waiting or cancelled
    dead: tuple[str, ...] = ()  # numbers dead-lettered already (neither sent nor stopped)


@dataclass(frozen=True)
class CampaignCounts:
    name: str
    tasks: int
    sent: int
    dead: int
    cancelled: int
    scheduled: int
    delivered: int
    undelivered: int
    segments: int
    paused: bool
    cancelled_at: float | None
    last_at: float  # unix s of its last write


def is_campaign_name(name: str) -> bool:
    return 0 < len(name) <= CAMPAIGN_MAX and not any(_is_control(c) for c in name)


def _is_control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0


def check_name(kind: str, name: str) -> str:
    """``name`` if it is a valid ``kind`` (lane, provider, campaign) name, else ``ValueError``."""
    if kind == "campaign":
        if not is_campaign_name(name):
            raise ValueError(
                f"invalid campaign name {name!r}: 1 to {CAMPAIGN_MAX} characters, no control characters"
            )
    elif not NAME.fullmatch(name):
        raise ValueError(
            f"invalid {kind} name {name!r}: lowercase letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 32 characters"
        )
    return name


def parse_scope(scope: str) -> tuple[str, str]:
    """(kind, name) of a scope: ("all", "") or ("lane" | "provider" | "campaign", name)."""
    if scope == "all":
        return "all", ""
    kind, colon, name = scope.partition(":")
    if not colon or kind not in SCOPE_KINDS:
        raise ValueError(
            f"invalid scope {scope!r}: expected all, lane:<name>, provider:<name> or campaign:<name>"
        )
    return kind, check_name(kind, name)


def _who_when(at: float, by: str) -> str:
    return json.dumps({"at": round(at, 3), "by": by}, ensure_ascii=False, separators=(",", ":"))


def _read_who_when(raw: bytes | None) -> tuple[float, str] | None:
    """(at, by) of a pause or cancel value; a value written by hand that is not JSON still counts
    (at 0, by unknown): present means paused or cancelled."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return 0.0, ""
    if not isinstance(value, dict):
        return 0.0, ""
    at, by = value.get("at"), value.get("by")
    return (float(at) if is_time(at) else 0.0), (by if isinstance(by, str) else "")


class TrafficControl:
    def __init__(self, client: redis.Redis, keys: Keys, *, receipt_ttl_s: int = RECEIPT_TTL_S) -> None:
        # redis-py's stubs type replies as unions that fit neither client (as in store/base.py).
        self._r: Any = client
        self.keys = keys
        self.receipt_ttl_s = receipt_ttl_s
        self._unpark = scripts.register(client, scripts.UNPARK)
        self._cancel_task = scripts.register(client, scripts.CANCEL_TASK)

    @property
    def cancel_ttl_s(self) -> int:
        """How long a cancel lasts: as long as a task can wait scheduled, or longer."""
        return max(self.receipt_ttl_s, CANCEL_TTL_S)

    @classmethod
    def of(cls, queue: RedisQueue, *, receipt_ttl_s: int = RECEIPT_TTL_S) -> TrafficControl:
        """The control of an opened queue (``app.open_queue``), on its client and keys."""
        return cls(queue.client, queue.keys, receipt_ttl_s=receipt_ttl_s)

    def pause(self, scope: str, by: str) -> bool:
        """Pause ``scope``; True if it was not paused before (a second pause keeps the first's time)."""
        parse_scope(scope)
        return bool(self._r.hsetnx(self.keys.paused, scope, _who_when(time.time(), by)))

    def resume(self, scope: str) -> bool:
        """Resume ``scope``; True if it was paused. A campaign's parked tasks go back to the front
        of their lanes in the same step."""
        kind, name = parse_scope(scope)
        if kind == "campaign":
            changed, _ = self._unparking(name, scope, cancel="")
            return changed
        return bool(self._r.hdel(self.keys.paused, scope))

    def paused(self) -> list[Pause]:
        """Every paused scope, the earliest paused first."""
        found: dict[bytes, bytes] = self._r.hgetall(self.keys.paused)
        pauses = []
        for field, raw in found.items():
            at, by = _read_who_when(raw) or (0.0, "")
            pauses.append(Pause(field.decode("utf-8", "replace"), at, by))
        return sorted(pauses, key=lambda p: (p.at, p.scope))

    def cancel_task(self, task_id: str, by: str) -> CancelReport:
        """Cancel the task pushed with ``task_id``: workers end its recipients not yet sent as
        ``cancelled``; the ones its status hash shows waiting read ``cancelled`` at once."""
        if not task_id:
            raise ValueError("invalid task id '': it is empty")
        now = time.time()
        reply = self._cancel_task(
            keys=[self.keys.cancel_id(task_id), self.keys.status(task_id)],
            args=[_who_when(now, by), self.cancel_ttl_s, state_json("cancelled", now)],
        )
        new, *pairs = reply
        states = {
            bytes(number).decode("utf-8", "replace"): bytes(state).decode("utf-8", "replace")
            for number, state in zip(pairs[::2], pairs[1::2], strict=True)
        }
        numbers = sorted(states)
        return CancelReport(
            cancelled=bool(new),
            sent=tuple(n for n in numbers if states[n] in SENT_STATES),
            pending=tuple(n for n in numbers if states[n] not in SENT_STATES and states[n] != "dead"),
            dead=tuple(n for n in numbers if states[n] == "dead"),
        )

    def cancel_campaign(self, name: str, by: str) -> bool:
        """Cancel every task of campaign ``name``; True if it was not cancelled before. Its pause
        goes (a cancel outranks it) and its parked tasks go back to their lanes, where the workers
        reach them and end them ``cancelled``."""
        check_name("campaign", name)
        changed, _ = self._unparking(name, f"campaign:{name}", cancel=_who_when(time.time(), by))
        return changed

    def _unparking(self, name: str, scope: str, *, cancel: str) -> tuple[bool, int]:
        """Run ``unpark.lua`` with every lane the parked list names in KEYS, reading the list again
        when a task was parked under a new lane in between."""
        parked = self.keys.parked(name)
        while True:
            elements: list[bytes] = self._r.lrange(parked, 0, -1)
            lanes = sorted({e.partition(b"\n")[0].decode("utf-8", "replace") for e in elements if b"\n" in e})
            lanes = [lane for lane in lanes if lane]
            changed, moved = self._unpark(
                keys=[
                    self.keys.paused,
                    parked,
                    self.keys.queue,
                    self.keys.cancel_campaign(name),
                    *(self.keys.lane(lane) for lane in lanes),
                ],
                args=[scope, cancel, self.cancel_ttl_s, *lanes],
            )
            if int(changed) >= 0:
                return bool(changed), int(moved)

    def campaigns(self, now: float | None = None) -> list[CampaignCounts]:
        """Every campaign written to within the receipt TTL, the most recently written first (older
        entries leave ``campaigns`` here)."""
        at = time.time() if now is None else now
        self._r.zremrangebyscore(self.keys.campaigns, "-inf", f"({at - self.receipt_ttl_s}")
        found: list[tuple[bytes, float]] = self._r.zrevrange(self.keys.campaigns, 0, -1, withscores=True)
        return self._counts([(name.decode("utf-8", "replace"), float(score)) for name, score in found])

    def campaign(self, name: str) -> CampaignCounts | None:
        """One campaign's counts; None when nothing is known of it (never written, or expired)."""
        check_name("campaign", name)
        score = self._r.zscore(self.keys.campaigns, name)
        counts = self._counts([(name, float(score or 0.0))])[0]
        if score is None and not any(getattr(counts, c) for c in COUNTERS) and counts.cancelled_at is None:
            return None
        return counts

    def _counts(self, campaigns: list[tuple[str, float]]) -> list[CampaignCounts]:
        pipe = self._r.pipeline(transaction=False)
        for name, _ in campaigns:
            pipe.hgetall(self.keys.campaign(name))
            pipe.hexists(self.keys.paused, f"campaign:{name}")
            pipe.get(self.keys.cancel_campaign(name))
        replies = pipe.execute()
        out = []
        for (name, last_at), counters, paused, cancel in zip(
            campaigns, replies[::3], replies[1::3], replies[2::3], strict=True
        ):
            count = {k.decode(): _int(v) for k, v in counters.items()}
            cancelled = _read_who_when(cancel)
            out.append(
                CampaignCounts(
                    name,
                    tasks=count.get("tasks", 0),
                    sent=count.get("sent", 0),
                    dead=count.get("dead", 0),
                    cancelled=count.get("cancelled", 0),
                    scheduled=count.get("scheduled", 0),
                    delivered=count.get("delivered", 0),
                    undelivered=count.get("undelivered", 0),
                    segments=count.get("segments", 0),
                    paused=bool(paused),
                    cancelled_at=None if cancelled is None else cancelled[0],
                    last_at=last_at,
                )
            )
        return out


def _int(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        return 0
