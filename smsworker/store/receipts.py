"""Delivery reports against what settles recorded: each report moves one recipient's state, once.

A report names the vendor's message id and the number (``receipts.py`` wrote the receipt record
``Q:receipt:<provider>:<message id>:<number>`` when the task settled). Applying it marks the
record (so a repeated report changes nothing: vendors retry and repeat), moves the task's status
hash when the task had an id, and counts ``delivered`` / ``undelivered`` in ``Q:stats``.
Optimistic (WATCH/MULTI): concurrent reports for one task both land.

A report may come before its record: vendors report within seconds, and a task's record is written
when the whole task settles, after its other requests and their retries. So a report with no
record is held (``scripts.HOLD``, ``Q:held``) and applied once the settle writes the record
(``receiver/held.py``); only one still without a record after ``receipts_hold`` (expired, from
another system, forged) is counted as ``unmatched``: it is not an error.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from smsworker.deadletters import build_envelope
from smsworker.errors import InvalidTask
from smsworker.outcome import Failure
from smsworker.receipts import change_json, is_time, parse_record, parse_state, state_json
from smsworker.store import scripts
from smsworker.store.control import is_campaign_name
from smsworker.store.keys import RECEIPT_TTL_S
from smsworker.store.queue import RedisQueue
from smsworker.task import SmsTask, TaskParser

DELIVERED, UNDELIVERED = "delivered", "undelivered"


@dataclass(frozen=True)
class Report:
    provider: str
    message_id: str
    number: str  # E.164, as the provider was given it
    delivered: bool
    at: float | None = None  # when the vendor says it happened; None: when it arrived
    code: str = ""  # the vendor's status code, for undelivered ones
    text: str = ""
    # Other readings of ``number`` when the vendor's form of it is ambiguous (aliyun_reports.py):
    # the first reading a receipt was recorded under is the one.
    also: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return DELIVERED if self.delivered else UNDELIVERED


@dataclass(frozen=True)
class Applied:
    """What a report did."""

    # delivered | undelivered (it moved a recipient) | duplicate | held (its record is not there yet:
    # applied when it is) | unmatched
    outcome: str
    report: Report  # as applied: its number is the reading a receipt was recorded for
    # For one that moved a recipient: seconds from the provider's acceptance to the report's time.
    delay_s: float | None = None


class ReceiptStore:
    def __init__(
        self,
        queue: RedisQueue,
        *,
        changes_max: int = 0,
        undelivered_parser: TaskParser | None = None,
        hold_max: int = 0,
        receipt_ttl_s: int = RECEIPT_TTL_S,
    ) -> None:
        self._client: Any = queue.client
        self._receipt_ttl_s = receipt_ttl_s  # how long a campaign's counters outlive their last write
        self._keys = queue.keys
        # Reports held at most (receipt keys) for a record to appear; 0: none, unmatched at once.
        self._hold_max = hold_max
        self._hold = scripts.register(queue.client, scripts.HOLD)
        self._changes_max = changes_max  # --receipts-list: also push each status change, capped
        # --dead-letter-undelivered: reads the task kept with the receipts, to dead-letter one recipient
        self._parser = undelivered_parser

    def apply(self, report: Report, *, hold: bool = True, source: str = "") -> Applied:
        """Outcome ``delivered`` or ``undelivered`` when the report moved a recipient, ``duplicate``
        when it had already, ``held`` when its record is not there yet (``hold``: else, and when
        too many are held, ``unmatched``). ``source``: where it came from, kept with a held report."""
        report = self._reading(report)
        receipt_key = self._keys.receipt(report.provider, report.message_id, report.number)
        # Parsers refuse what is not a time; a report without one happened when it came (and a held
        # one keeps that time).
        at = report.at if is_time(report.at) else time.time()
        report = dataclasses.replace(report, at=at)
        pipe: Any = self._client.pipeline(transaction=True)
        while True:
            try:
                applied = self._apply(
                    pipe, receipt_key, report, at, hold=hold and self._hold_max > 0, source=source
                )
            except redis.WatchError:
                continue  # another report for the same record or task landed first: read again
            finally:
                pipe.reset()
            if applied is not None:
                return applied

    def _held(self, report: Report, source: str) -> Applied | None:
        """Hold a report whose record is not there; None if the record appeared meanwhile."""
        readings = (report.number, *report.also)
        receipts = [self._keys.receipt(report.provider, report.message_id, n) for n in readings]
        outcome = self._hold(
            keys=[self._keys.held, self._keys.held_since, self._keys.stats, *receipts],
            args=[held_line(report, source), time.time(), self._hold_max],
        )
        if outcome == b"linked":
            return None
        return Applied("held" if outcome == b"held" else "unmatched", report)

    def _reading(self, report: Report) -> Report:
        """The report under the first reading of its number that a receipt was recorded for."""
        if not report.also:
            return report
        for number in (report.number, *report.also):
            if self._client.exists(self._keys.receipt(report.provider, report.message_id, number)):
                return dataclasses.replace(report, number=number, also=())
        return report

    def _apply(
        self, pipe: Any, receipt_key: str, report: Report, at: float, *, hold: bool, source: str
    ) -> Applied | None:
        pipe.watch(receipt_key)
        raw, ttl = pipe.get(receipt_key), pipe.ttl(receipt_key)
        record = parse_record(raw)
        if record is None and hold:
            pipe.reset()
            return self._held(report, source)
        if record is None:
            pipe.multi()
            pipe.hincrby(self._keys.stats, "unmatched", 1)
            pipe.execute()
            return Applied("unmatched", report)
        if record.get("reported") == report.state:
            return Applied("duplicate", report)
        task_id = record.get("id")
        status_key = self._keys.status(task_id) if isinstance(task_id, str) else None
        status: bytes | None = None
        if status_key is not None:
            pipe.watch(status_key)
            status = pipe.hget(status_key, report.number)
        letter = self._dead_letter(pipe, record, report) if not report.delivered else None
        record.update(reported=report.state, reported_at=round(at, 3))
        pipe.multi()
        if letter is not None:
            self._queue_dead_letter(pipe, letter, report.number)
        pipe.set(receipt_key, json.dumps(record, ensure_ascii=False), ex=max(int(ttl), 1))
        if status_key is not None and status is not None:
            self._queue_status(pipe, status_key, task_id, _moved(parse_state(status), report, at), report)
        pipe.zrem(self._keys.awaiting, receipt_key)
        pipe.hincrby(self._keys.stats, report.state, 1)
        self._count_campaign(pipe, record.get("campaign"), report.state)
        pipe.execute()
        accepted = record.get("at")
        return Applied(report.state, report, max(0.0, at - accepted) if is_time(accepted) else None)

    def _count_campaign(self, pipe: Any, campaign: Any, state: str) -> None:
        """A report on a campaign's recipient counts in the campaign's hash, whose TTL restarts, and
        makes it the campaign's last write (``campaign list``)."""
        if not isinstance(campaign, str) or not is_campaign_name(campaign):
            return
        key = self._keys.campaign(campaign)
        pipe.hincrby(key, state, 1)
        pipe.expire(key, self._receipt_ttl_s)
        pipe.zadd(self._keys.campaigns, {campaign: time.time()})

    def _queue_dead_letter(self, pipe: Any, letter: tuple[list[bytes], str | None], number: str) -> None:
        envelopes, progress_key = letter
        for envelope in envelopes:
            pipe.lpush(self._keys.dead, envelope)
        if progress_key is not None:  # so that a replay under the same id sends it again
            pipe.hdel(progress_key, number)

    def _queue_status(
        self, pipe: Any, status_key: str, task_id: str | None, moved: bytes, report: Report
    ) -> None:
        pipe.hset(status_key, report.number, moved)
        if self._changes_max > 0:
            pipe.lpush(self._keys.changes, change_json(task_id, report.number, moved))
            pipe.ltrim(self._keys.changes, 0, self._changes_max - 1)

    def _dead_letter(
        self, pipe: Any, record: dict[str, Any], report: Report
    ) -> tuple[list[bytes], str | None] | None:
        """With --dead-letter-undelivered, the envelope for this recipient (reason ``undelivered``)
        from the task kept with its receipts, and the progress key to clear; None when off or when
        the task's bytes are gone."""
        key = record.get("payload")
        if self._parser is None or not isinstance(key, str):
            return None
        raw = pipe.get(key)
        if raw is None:
            return None
        try:
            task: SmsTask | None = self._parser.parse(raw)
        except InvalidTask:
            task = None  # changed since it was sent? Dead-lettered whole, as it is.
        error = ": ".join(part for part in (report.code, report.text) if part) or "reported undelivered"
        failed = {
            report.number if task is not None else "": Failure(
                "undelivered", error, provider_code=report.code or None
            )
        }
        envelopes = build_envelope(
            raw=raw, task=task, failed=failed, worker="receipts", queue=self._keys.queue
        )
        progress = self._keys.progress(task.task_id, None) if task is not None and task.task_id else None
        return envelopes, progress


def _moved(current: dict[str, Any], report: Report, at: float) -> bytes:
    """The state after the report, keeping what was known and the way there in ``history``."""
    history = current.get("history")
    history = list(history) if isinstance(history, list) else []
    if isinstance(current.get("state"), str) and current["state"] != "unreadable":
        history.append({"state": current["state"], "at": current.get("at")})
    kept = {k: v for k, v in current.items() if k in ("provider", "message_id")}
    return state_json(report.state, at, **kept, code=report.code, text=report.text, history=history)


def held_line(report: Report, source: str = "") -> str:
    """A held report as one line of JSON (``Q:held`` keeps one per line)."""
    fields = dataclasses.asdict(report)
    return json.dumps(
        {**fields, "also": list(report.also), "source": source}, ensure_ascii=False, separators=(",", ":")
    )


def from_held_line(line: str) -> tuple[Report, str] | None:
    """The report and its source in a line ``held_line`` wrote; None for anything else."""
    try:
        fields = json.loads(line)
        source = str(fields.pop("source", ""))
        fields["also"] = tuple(fields.get("also") or ())
        return Report(**fields), source
    except (ValueError, TypeError, AttributeError):
        return None
