"""The dashboard's two actions on dead letters, replay and purge: asked, confirmed, then done on
exactly what the confirmation counted.

The first POST (the ticked entries, or all that a filter chooses, in the whole list) counts the
entries meant (``deadletters.select``) and keeps them, by digest and count, under a selection id for a
quarter of an hour (``Q:selection:<id>``); the page that asks says how many, and by which filter.
Confirming acts on exactly those (``deadletters.exactly``): an entry added since is not touched, one taken
meanwhile (another operator, a CLI replay) is reported as gone. Only an operator reaches these, with
the session's CSRF token (``app.py``); each action is logged as an audit event.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from smsworker import deadletters
from smsworker.dashboard.reads import DeadFilter
from smsworker.dashboard.texts import TEXTS
from smsworker.store.dashboard import Selections
from smsworker.store.queue import RedisQueue

SELECTION_TTL_S = 900
MAX_SELECTION = 100_000  # entries one confirmation may cover; more: narrow the filter, or the CLI


@dataclass(frozen=True)
class Asked:
    """A selection waiting for its confirmation."""

    action: str  # replay | purge
    user: str
    selection: deadletters.Selection
    wanted: dict[str, Any]  # the filter, as given
    ticked: int  # entries ticked (0: all that the filter chooses)


class Actions:
    def __init__(self, queue: RedisQueue, log: Any, *, region: str) -> None:
        self._queue = queue
        self._selections = Selections(queue)
        self._log = log
        self._region = region

    def replay(self) -> Any:
        return self._act("replay")

    def purge(self) -> Any:
        return self._act("purge")

    def _act(self, action: str) -> Any:
        if request.form.get("confirm") == "1":
            return self._confirmed(action, request.form.get("selection", ""))
        wanted = DeadFilter.from_args(request.form, whole_number=False, region=self._region)
        ids = set(request.form.getlist("id")) if request.form.get("scope") != "all" else None
        try:
            selection = deadletters.select(self._queue, _chooser(wanted, ids), at_most=MAX_SELECTION)
        except deadletters.TooMany:
            flash(TEXTS[g.lang]["too_many"].format(count=MAX_SELECTION))
            return redirect(url_for("dead", **wanted.fields))
        asked = Asked(action, g.user.name, selection, wanted.fields, len(ids or ()))
        selection_id = secrets.token_urlsafe(16)
        self._selections.keep(selection_id, _dump(asked), SELECTION_TTL_S)
        return render_template("confirm.html", asked=asked, selection_id=selection_id)

    def _confirmed(self, action: str, selection_id: str) -> Any:
        asked = _load(self._selections.get(selection_id)) if selection_id else None
        if asked is None or asked.action != action or asked.user != g.user.name:
            flash(TEXTS[g.lang]["selection_gone"])
            return redirect(url_for("dead"))
        self._selections.drop(selection_id)  # one confirmation, used once
        gone = self._replay(asked) if action == "replay" else self._purge(asked)
        if gone:
            flash(TEXTS[g.lang]["gone_meanwhile"].format(count=gone))
        return redirect(url_for("dead", **asked.wanted))

    def _replay(self, asked: Asked) -> int:
        """Replay exactly what was asked for; how many of those were gone meanwhile."""
        result = deadletters.replay(
            self._queue, limit=None, reason=None, only=deadletters.exactly(asked.selection)
        )
        gone = asked.selection.total - result.replayed - result.not_replayable
        flash(TEXTS[g.lang]["replayed"].format(count=result.replayed, recipients=result.recipients))
        self._log.info(
            "dashboard.replay",
            user=g.user.name,
            client=g.client,
            count=result.replayed,
            asked=asked.selection.total,
            recipients=result.recipients,
            not_replayable=result.not_replayable,
            gone=gone,
        )
        return gone

    def _purge(self, asked: Asked) -> int:
        """Purge exactly what was asked for; how many of those were gone meanwhile."""
        deleted = deadletters.purge(self._queue, deadletters.exactly(asked.selection))
        gone = asked.selection.total - deleted
        flash(TEXTS[g.lang]["purged"].format(count=deleted))
        self._log.info(
            "dashboard.purge",
            user=g.user.name,
            client=g.client,
            count=deleted,
            asked=asked.selection.total,
            gone=gone,
        )
        return gone


def _chooser(wanted: DeadFilter, ids: set[str] | None) -> deadletters.Chooser:
    """The entries ticked (``ids``), or else all that ``wanted`` chooses."""
    if ids is not None:
        return lambda raw, envelope: deadletters.entry_id(raw) in ids
    return lambda raw, envelope: wanted.matches(envelope)


def _dump(asked: Asked) -> str:
    selection = asked.selection
    return json.dumps(
        {
            "action": asked.action,
            "user": asked.user,
            "counts": selection.counts,
            "replayable": selection.replayable,
            "wanted": asked.wanted,
            "ticked": asked.ticked,
        }
    )


def _load(raw: bytes | None) -> Asked | None:
    """A selection as ``_dump`` kept it; None when it expired, or is not one."""
    try:
        data: Any = json.loads(raw) if raw else None
        counts = {str(k): int(v) for k, v in data["counts"].items()}
        selection = deadletters.Selection(counts, int(data["replayable"]))
        wanted = {str(k): str(v) for k, v in data["wanted"].items()}
        return Asked(str(data["action"]), str(data["user"]), selection, wanted, int(data["ticked"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
