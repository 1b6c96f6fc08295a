"""The dashboard's pages that read: overview, workers, dead letters, one entry, the status lookup,
and the same as JSON under ``/api/``. What they show comes from ``reads.py``, masked there for a
user who may not see numbers; a viewer's search by number takes a whole number and is counted
(``searches.py``)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, jsonify, render_template, request

from smsworker.dashboard import reads
from smsworker.dashboard.searches import NumberSearches
from smsworker.dashboard.texts import TEXTS
from smsworker.outcome import REASONS
from smsworker.store.queue import RedisQueue


class TooManySearches(Exception):
    """A viewer used up this hour's number searches (a 429)."""


class Pages:
    def __init__(self, queue: RedisQueue, searches: NumberSearches, *, region: str) -> None:
        self._queue = queue
        self._searches = searches
        self._region = region

    def overview(self) -> str:
        figures = reads.overview(self._queue)
        return render_template("overview.html", f=figures, chart=_chart(figures["per_minute"]))

    def workers(self) -> str:
        return render_template("workers.html", workers=reads.workers(self._queue))

    def dead(self) -> str:
        wanted, page = self._dead()
        return render_template("dead.html", page=page, wanted=wanted, reasons=REASONS)

    def entry(self, entry: str) -> str:
        found = reads.dead_entry(self._queue, entry, mask=self._mask())
        if found is None:
            abort(404)
        return render_template("entry.html", e=found)

    def status(self) -> str:
        task_id, mobile = self._asked()
        found = self._lookup(task_id, mobile)
        asked = bool(task_id or mobile)
        return render_template("status.html", found=found, task_id=task_id, mobile=mobile, asked=asked)

    def api_overview(self) -> Response:
        return jsonify(reads.overview(self._queue))

    def api_workers(self) -> Response:
        return jsonify(reads.workers(self._queue))

    def api_dead(self) -> Response:
        _, page = self._dead()
        return jsonify(
            {"entries": page.entries, "matching": page.matching, "page": page.page, "pages": page.pages}
        )

    def api_status(self) -> Response:
        return jsonify(self._lookup(*self._asked()))

    def _dead(self) -> tuple[reads.DeadFilter, reads.DeadPage]:
        wanted = reads.DeadFilter.from_args(request.args, whole_number=self._mask(), region=self._region)
        number = reads.page_number(request.args.get("page"))
        if wanted.number:
            self._count_search()
        return wanted, reads.dead_page(self._queue, wanted, number, mask=self._mask())

    def _asked(self) -> tuple[str, str]:
        task_id, mobile = request.args.get("id", "").strip(), request.args.get("mobile", "").strip()
        if len(task_id) > 256 or len(mobile) > reads.MAX_FIELD:
            raise reads.BadQuery("id or mobile is too long")
        return task_id, mobile

    def _lookup(self, task_id: str, mobile: str) -> list[dict[str, Any]]:
        if mobile and not task_id:
            self._count_search()
        return reads.lookup(self._queue, task_id, mobile, self._region, mask=self._mask())

    def _count_search(self) -> None:
        if self._mask() and not self._searches.allow(g.user.name):
            raise TooManySearches(TEXTS[g.lang]["too_many_searches"].format(count=self._searches.per_hour))

    def _mask(self) -> bool:
        return g.user is None or not g.user.may_act


def _chart(minutes: list[dict[str, int]]) -> dict[str, Any]:
    """Polylines for an inline SVG of sent and dead-lettered per minute (600 x 120)."""
    top = max([1] + [m["sent"] for m in minutes] + [m["dead"] for m in minutes])
    step = 600 / max(1, len(minutes) - 1)

    def line(key: str) -> str:
        return " ".join(f"{i * step:.1f},{120 - m[key] * 110 / top:.1f}" for i, m in enumerate(minutes))

    return {"sent": line("sent"), "dead": line("dead"), "top": top}
