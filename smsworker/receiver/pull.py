"""Pulling delivery reports, for deployments that cannot take the vendors' pushes.

- Tencent hands out each report once through PullSmsSendStatus (up to 100 a call, for every
  message of the app): a round calls it until a page comes back short.
- Alibaba answers QuerySendDetails per number, send date and BizId: a round asks about each
  receipt still awaiting a report (``Q:awaiting``) once it has waited ``after_s``. One Alibaba
  says is still on its way is asked about again ``retry_s`` later (its score is moved on); one whose
  receipt record has expired leaves the set.

Every call waits its turn under the shared rate limit (``ratelimit.py``), named ``<vendor>.pull``
(``--rate-limit aliyun.pull=20/s``; ``DEFAULT_PER_S`` when not given), so the vendors' QPS limits
hold however many receivers run. A failed call (the vendor, the network, Redis) is logged and the
round ends; the next one tries again.

Tencent will not hand a report out twice, so a round never takes what it cannot keep: its turn is
taken in Redis (with Redis away there is no turn, so no call), and what a call brought waits in the
backlog (``backlog.py``) until it is written. A round first writes what waits there, and pulls
nothing more until that is done. (Alibaba's answers are asked for again: a receipt leaves the
awaiting set only when its report is written.)
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any, Protocol

from smsworker.errors import ProviderError
from smsworker.receipts import is_time, parse_record
from smsworker.receiver import aliyun_reports, tencent_reports
from smsworker.receiver.backlog import Backlog
from smsworker.receiver.fields import BEIJING, BadReport
from smsworker.receiver.recorder import Recorder
from smsworker.store.awaiting import AwaitingReceipts
from smsworker.store.errors import RedisError
from smsworker.store.ratelimit import RateLimiter

PULLABLE = ("aliyun", "tencent")
DEFAULT_PER_S = 10.0
PAGE = 100  # Tencent's most per call
MAX_PAGES = 50  # per round: a backlog is worked through over several rounds
MAX_QUERIES = 500  # Alibaba queries per round
MAX_SCAN = 5000  # awaiting receipts looked at per round


class TencentPull(Protocol):
    def pull_statuses(self, limit: int = PAGE) -> list[dict[str, Any]]: ...


class AliyunQuery(Protocol):
    def query_details(self, number: str, send_date: str, biz_id: str) -> list[dict[str, Any]]: ...


class Stopped(Exception):
    """The receiver is stopping: the round ends where it is."""


class Puller:
    def __init__(
        self,
        recorder: Recorder,
        awaiting: AwaitingReceipts,
        limiter: RateLimiter,
        log: Any,
        *,
        tencent: TencentPull | None = None,
        aliyun: AliyunQuery | None = None,
        backlog: Backlog,
        after_s: float = 60.0,
        retry_s: float = 300.0,
    ) -> None:
        self._recorder = recorder
        self._awaiting = awaiting
        self._limiter = limiter
        self._log = log
        self._tencent = tencent
        self._aliyun = aliyun
        self._after_s = after_s
        self._retry_s = retry_s
        self._backlog = backlog
        self._stop = threading.Event()

    @property
    def vendors(self) -> list[str]:
        return [name for name, on in (("aliyun", self._aliyun), ("tencent", self._tencent)) if on]

    def run(self, every_s: float) -> None:
        """Pull every ``every_s`` until ``stop``."""
        while not self._stop.is_set():
            self.round()
            self._stop.wait(every_s)

    def stop(self) -> None:
        self._stop.set()

    def round(self) -> Counter[str]:
        """One pass over every vendor; what the reports did, and ``malformed`` ones skipped."""
        outcomes: Counter[str] = Counter()
        try:
            outcomes += self._backlog.write()
        except RedisError as exc:
            note = f"{len(self._backlog)} reports taken earlier wait for Redis: nothing is pulled meanwhile"
            self._log.warning("receipts.pull_failed", vendors=self.vendors, error=str(exc), note=note)
            return outcomes
        for vendor, step in (("tencent", self._pull_tencent), ("aliyun", self._query_aliyun)):
            if vendor not in self.vendors:
                continue
            try:
                step(outcomes)
            except Stopped:
                break
            except (ProviderError, RedisError) as exc:
                self._log.warning("receipts.pull_failed", provider=vendor, error=str(exc))
            except Exception:  # a vendor's odd answer or a bug: logged, and the next round tries again
                self._log.exception("receipts.pull_crashed", provider=vendor)
        return outcomes

    def _pull_tencent(self, outcomes: Counter[str]) -> None:
        assert self._tencent is not None
        for _ in range(MAX_PAGES):
            if not self._backlog.has_room(PAGE):
                return  # Twilio's callbacks fill it: Redis is away, and the next round tries again
            self._pace("tencent")
            items = self._tencent.pull_statuses(PAGE)
            reports = []
            for item in items:
                try:
                    reports.append(tencent_reports.from_pull(item))
                except BadReport as exc:
                    self._log.warning("receipts.bad_report", source="tencent-pull", error=str(exc))
                    outcomes["malformed"] += 1
            self._backlog.add("tencent-pull", reports, taken=True)
            outcomes += self._backlog.write()
            if len(items) < PAGE:
                return

    def _query_aliyun(self, outcomes: Counter[str]) -> None:
        assert self._aliyun is not None
        due = time.time() - self._after_s
        queries = 0
        for key in self._awaiting.due(due, MAX_SCAN):
            parsed = self._awaiting.keys.parse_receipt(key)
            if parsed is None or parsed[0] != "aliyun":
                continue
            if queries >= MAX_QUERIES:
                return
            _, biz_id, number = parsed
            record = parse_record(self._awaiting.record(key))
            accepted = record.get("at") if record is not None else None
            if not is_time(accepted):  # expired (or unreadable): nothing left to match a report to
                self._awaiting.forget(key)
                continue
            self._pace("aliyun")
            queries += 1
            send_date = datetime.fromtimestamp(accepted, BEIJING).strftime("%Y%m%d")
            try:
                report = aliyun_reports.from_details(
                    self._aliyun.query_details(number, send_date, biz_id), number, biz_id
                )
            except BadReport as exc:
                self._log.warning("receipts.bad_report", source="aliyun-pull", error=str(exc))
                outcomes["malformed"] += 1
                report = None
            if report is None:  # still on its way: ask again later
                self._awaiting.ask_again(key, due + self._retry_s)
                continue
            outcomes.update(self._recorder.record("aliyun-pull", [report]))

    def _pace(self, vendor: str) -> None:
        # Strict: with Redis away there is no turn, and no call: nothing is taken that cannot be kept.
        self._limiter.wait_turn(f"{vendor}.pull", sleep=self._sleep, strict=True)

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped()
