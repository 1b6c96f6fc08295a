"""The dashboard's traffic control: what is paused, pausing and resuming everything, a lane, a
provider or a campaign, the campaigns' counts, and cancelling a task or a campaign. The state lives
in Redis (``store/control.py``); workers read it there.

Every action is asked, then confirmed, as replay and purge are: the first POST answers with a page
that says what will be done (cancelling a task: each recipient and whether it was sent already),
and only its button (``confirm=1``) does it. Only an operator reaches the POSTs, with the session's
CSRF token (``app.py``); each action done is an audit event in the log. A viewer sees the same
pages, campaign names and numbers masked, without the buttons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from flask import Response, flash, g, jsonify, redirect, render_template, request, url_for

from smsworker.dashboard import reads
from smsworker.dashboard.texts import TEXTS
from smsworker.store.control import SENT_STATES, CampaignCounts, Pause, TrafficControl, parse_scope
from smsworker.store.queue import RedisQueue

MAX_TASK_ID = 256
# Where an action's answer leads back to: the page it was asked from.
BACK = ("traffic", "campaigns")


def scope_of(kind: str, name: str) -> str:
    """The scope ``kind`` and ``name`` give (``all``, ``lane:otp``, ...); ``reads.BadQuery``
    saying what is wrong with them."""
    scope = "all" if kind == "all" else f"{kind}:{name}"
    try:
        parse_scope(scope)
    except ValueError as error:
        raise reads.BadQuery(str(error)) from None
    return scope


class Traffic:
    def __init__(
        self,
        queue: RedisQueue,
        control: TrafficControl,
        log: Any,
        *,
        lanes: Iterable[str],
        providers: Iterable[str],
    ) -> None:
        self._queue = queue
        self._control = control
        self._log = log
        self._lanes = tuple(lanes)
        self._providers = tuple(providers)

    # -- pages ---------------------------------------------------------------------------------

    def traffic(self) -> str:
        return render_template("traffic.html", **self._traffic_view())

    def campaigns(self) -> str:
        return render_template("campaigns.html", campaigns=self._campaigns_view())

    def cancel_page(self) -> str:
        """The task id form; with ``?id=``, each recipient of that task and its state."""
        task_id = _task_id(request.args)
        found = self._recipients(task_id) if task_id else []
        return render_template("cancel.html", task_id=task_id, found=found, asked=bool(task_id))

    def api_traffic(self) -> Response:
        return jsonify(self._traffic_view())

    def api_campaigns(self) -> Response:
        return jsonify(self._campaigns_view())

    # -- actions (operators only: app.py) ------------------------------------------------------

    def pause(self) -> Any:
        return self._switch("pause")

    def resume(self) -> Any:
        return self._switch("resume")

    def cancel_task(self) -> Any:
        task_id = _task_id(request.form)
        if not task_id:
            raise reads.BadQuery("id is missing")
        if request.form.get("confirm") != "1":
            found = self._recipients(task_id)
            return render_template(
                "traffic_confirm.html",
                action="cancel_task",
                task_id=task_id,
                found=found,
                ahead=_ahead(found),
            )
        report = self._control.cancel_task(task_id, self._by())
        t = TEXTS[g.lang]
        said = t["task_cancelled"] if report.cancelled else t["task_was_cancelled"]
        flash(
            said.format(id=task_id, sent=len(report.sent), pending=len(report.pending), dead=len(report.dead))
        )
        self._log.info(
            "dashboard.cancel_task",
            user=g.user.name,
            client=g.client,
            id=task_id,
            changed=report.cancelled,
            sent=len(report.sent),
            pending=len(report.pending),
            dead=len(report.dead),
        )
        return redirect(url_for("cancel_page", id=task_id))

    def cancel_campaign(self) -> Any:
        name = request.form.get("name", "")
        scope_of("campaign", name)  # a campaign's name, or a 400
        back = _back(request.form)
        if request.form.get("confirm") != "1":
            counts = self._control.campaign(name)
            return render_template(
                "traffic_confirm.html", action="cancel_campaign", name=name, counts=counts, back=back
            )
        changed = self._control.cancel_campaign(name, self._by())
        t = TEXTS[g.lang]
        flash((t["campaign_cancelled"] if changed else t["campaign_was_cancelled"]).format(name=name))
        self._log.info(
            "dashboard.cancel_campaign", user=g.user.name, client=g.client, campaign=name, changed=changed
        )
        return redirect(url_for(back))

    def _switch(self, action: str) -> Any:
        kind = request.form.get("kind", "")
        name = request.form.get("name", "")
        scope = scope_of(kind, name)
        back = _back(request.form)
        if request.form.get("confirm") != "1":
            return render_template(
                "traffic_confirm.html",
                action=action,
                kind=kind,
                name=name,
                scope_text=_scope_text(TEXTS[g.lang], scope),
                back=back,
            )
        changed = self._control.pause(scope, self._by()) if action == "pause" else self._control.resume(scope)
        t = TEXTS[g.lang]
        done = f"{action}d" if changed else f"was_{action}d"
        flash(t[done].format(scope=_scope_text(t, scope)))
        self._log.info(f"dashboard.{action}", user=g.user.name, client=g.client, scope=scope, changed=changed)
        return redirect(url_for(back))

    # -- what the pages show -------------------------------------------------------------------

    def _traffic_view(self) -> dict[str, Any]:
        paused = {p.scope: p for p in self._control.paused()}
        lanes = _names(self._lanes, paused, "lane")
        providers = _names(self._providers, paused, "provider")
        t = TEXTS[g.lang]
        rows = [_paused_view(p, t) for p in paused.values()]  # the earliest paused first
        return {
            "paused": reads.masked(rows) if self._mask() else rows,
            "all": "all" in paused,
            "lanes": [{"name": n, "paused": f"lane:{n}" in paused} for n in lanes],
            "providers": [{"name": n, "paused": f"provider:{n}" in paused} for n in providers],
        }

    def _campaigns_view(self) -> list[dict[str, Any]]:
        shown = [_campaign_view(c) for c in self._control.campaigns()]
        return [reads.masked(c) for c in shown] if self._mask() else shown

    def _recipients(self, task_id: str) -> list[dict[str, Any]]:
        """Each recipient of ``task_id`` and its state (the status lookup's view)."""
        return reads.lookup(self._queue, task_id, "", "", mask=self._mask())

    def _by(self) -> str:
        return f"dashboard {g.user.name}"

    def _mask(self) -> bool:
        return g.user is None or not g.user.may_act


def _ahead(found: list[dict[str, Any]]) -> dict[str, int]:
    """What cancelling a task with recipients ``found`` would report: how many were sent (they
    cannot be called back), dead-lettered, and not sent (they will not be)."""
    states = [r["state"] for r in found]
    sent = sum(s in SENT_STATES for s in states)
    dead = states.count("dead")
    return {"sent": sent, "dead": dead, "pending": len(states) - sent - dead}


def _names(declared: tuple[str, ...], paused: dict[str, Pause], kind: str) -> list[str]:
    """The names declared, then any other that is paused."""
    extra = sorted(s.partition(":")[2] for s in paused if s.startswith(kind + ":"))
    return [*declared, *(n for n in extra if n not in declared)]


def _paused_view(pause: Pause, t: dict[str, str]) -> dict[str, Any]:
    return {
        "scope": pause.scope,
        "what": _scope_text(t, pause.scope),
        "at": reads.when(pause.at),
        "by": pause.by,
    }


def _campaign_view(counts: CampaignCounts) -> dict[str, Any]:
    shown = asdict(counts)
    shown["cancelled_at"] = reads.when(counts.cancelled_at) if counts.cancelled_at is not None else ""
    shown["last_at"] = reads.when(counts.last_at)
    return shown


def _scope_text(t: dict[str, str], scope: str) -> str:
    """A scope in the reader's words: ``everything``, ``lane otp``, ..."""
    if scope == "all":
        return t["everything"]
    kind, _, name = scope.partition(":")
    return f"{t.get('kind_' + kind, kind)} {name}"


def _task_id(fields: Any) -> str:
    task_id = str(fields.get("id", "")).strip()
    if len(task_id) > MAX_TASK_ID:
        raise reads.BadQuery(f"id is longer than {MAX_TASK_ID} characters")
    return task_id


def _back(fields: Any) -> str:
    back = str(fields.get("back", ""))
    return back if back in BACK else BACK[0]
