"""The dashboard's Flask app: the pages, the JSON API under ``/api/``, and the audit log.

Every page needs a login (unless ``--dashboard-no-auth``, loopback only); every action is a POST
that carries the session's CSRF token and comes from an operator, and is logged as an audit event
(``dashboard.replay user=... count=...``). Pages are rendered on the server and work without
JavaScript; ``static/refresh.js`` only refreshes the overview's numbers. Nothing is fetched from
anywhere else: the Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from smsworker.dashboard import reads
from smsworker.dashboard.guard import LoginLimiter, csrf_ok, csrf_token, current_user, log_in
from smsworker.dashboard.texts import TEXTS, pick
from smsworker.dashboard.users import User, authenticate
from smsworker.outcome import REASONS
from smsworker.queue import RedisQueue

MAX_FORM = 64 * 1024
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.\-]*(\?[A-Za-z0-9=&_.%\-]*)?")
OPEN = {"login", "static"}


@dataclass(frozen=True)
class DashboardConfig:
    users: dict[str, tuple[str, str]]
    no_auth: bool = False
    secret: bytes = b""
    behind_tls: bool = False
    region: str = "CN"


def make_app(queue: RedisQueue, config: DashboardConfig, log: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="smsworker_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.behind_tls,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_FORM,
    )
    app.jinja_env.filters["when"] = reads.when
    limiter = LoginLimiter()
    pages = _Pages(queue, config, log, limiter)

    @app.before_request
    def who() -> Any:
        g.lang = pick(
            request.args.get("lang"), request.cookies.get("lang"), request.headers.get("Accept-Language")
        )
        g.user = current_user(config.no_auth)
        if request.endpoint in OPEN or g.user is not None:
            return None
        if request.path.startswith("/api/"):
            return jsonify({"error": "log in first"}), 401
        return redirect(url_for("login", next=request.path))

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        if request.args.get("lang") in TEXTS:
            response.set_cookie("lang", request.args["lang"], samesite="Strict", secure=config.behind_tls)
        return response

    @app.context_processor
    def common() -> dict[str, Any]:
        return {"t": TEXTS[g.lang], "lang": g.lang, "user": g.get("user"), "csrf": csrf_token(),
                "no_auth": config.no_auth}  # fmt: skip

    app.add_url_rule("/login", "login", pages.login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "logout", pages.logout, methods=["POST"])
    app.add_url_rule("/", "overview", pages.overview)
    app.add_url_rule("/workers", "workers", pages.workers)
    app.add_url_rule("/dead", "dead", pages.dead)
    app.add_url_rule("/dead/<entry>", "entry", pages.entry)
    app.add_url_rule("/dead/replay", "replay", pages.replay, methods=["POST"])
    app.add_url_rule("/dead/purge", "purge", pages.purge, methods=["POST"])
    app.add_url_rule("/status", "status", pages.status)
    app.add_url_rule("/api/overview", "api_overview", lambda: jsonify(reads.overview(queue)))
    app.add_url_rule("/api/workers", "api_workers", lambda: jsonify(reads.workers(queue)))
    app.add_url_rule("/api/dead", "api_dead", pages.api_dead)
    app.add_url_rule("/api/status", "api_status", pages.api_status)
    return app


class _Pages:
    def __init__(self, queue: RedisQueue, config: DashboardConfig, log: Any, limiter: LoginLimiter) -> None:
        self._queue = queue
        self._config = config
        self._log = log
        self._limiter = limiter

    # -- logging in --------------------------------------------------------------------------------

    def login(self) -> Any:
        t = TEXTS[g.lang]
        if request.method == "GET":
            return render_template("login.html", error=None)
        client = request.remote_addr or "?"
        if self._limiter.blocked(client):
            self._log.warning("dashboard.login_blocked", client=client)
            return render_template("login.html", error=t["login_blocked"]), 429
        if not csrf_ok(request.form.get("csrf")):
            return render_template("login.html", error=t["csrf"]), 400
        name = request.form.get("user", "")
        user = authenticate(self._config.users, name, request.form.get("password", ""))
        if user is None:
            self._limiter.failed(client)
            self._log.warning("dashboard.login_failed", user=name[:64], client=client)
            return render_template("login.html", error=t["login_failed"]), 401
        log_in(user)
        self._log.info("dashboard.login", user=user.name, role=user.role, client=client)
        return redirect(_local(request.args.get("next", "/")))

    def logout(self) -> Any:
        self._require_csrf()
        session.clear()
        return redirect(url_for("login"))

    # -- pages -------------------------------------------------------------------------------------

    def overview(self) -> str:
        figures = reads.overview(self._queue)
        return render_template("overview.html", f=figures, chart=_chart(figures["per_minute"]))

    def workers(self) -> str:
        return render_template("workers.html", workers=reads.workers(self._queue))

    def dead(self) -> str:
        wanted = _filter()
        page = reads.dead_page(self._queue, wanted, _int(request.args.get("page"), 1), mask=self._mask())
        return render_template("dead.html", page=page, wanted=wanted, reasons=REASONS)

    def entry(self, entry: str) -> str:
        found = reads.dead_entry(self._queue, entry, mask=self._mask())
        if found is None:
            abort(404)
        return render_template("entry.html", e=found)

    def status(self) -> str:
        task_id, mobile = request.args.get("id", "").strip(), request.args.get("mobile", "").strip()
        found = reads.lookup(self._queue, task_id, mobile, self._config.region, mask=self._mask())
        return render_template("status.html", found=found, task_id=task_id, mobile=mobile,
                               asked=bool(task_id or mobile))  # fmt: skip

    # -- actions -----------------------------------------------------------------------------------

    def replay(self) -> Any:
        user = self._operator()
        wanted, choose = self._chosen()
        result = reads.replay(self._queue, choose)
        self._log.info(
            "dashboard.replay", user=user.name, count=result.replayed, recipients=result.recipients,
            not_replayable=result.not_replayable,
        )  # fmt: skip
        flash(TEXTS[g.lang]["replayed"].format(count=result.replayed, recipients=result.recipients))
        return redirect(url_for("dead", **_filter_args(wanted)))

    def purge(self) -> Any:
        user = self._operator()
        wanted, choose = self._chosen()
        count = reads.count_chosen(self._queue, choose)
        expected = request.form.get("expected")
        if request.form.get("confirm") != "1" or expected != str(count):
            note = (
                TEXTS[g.lang]["changed"].format(count=count) if expected not in (None, str(count)) else None
            )
            return render_template("confirm.html", count=count, form=request.form, note=note)
        deleted = reads.purge(self._queue, choose)
        self._log.info("dashboard.purge", user=user.name, count=deleted)
        flash(TEXTS[g.lang]["purged"].format(count=deleted))
        return redirect(url_for("dead", **_filter_args(wanted)))

    # -- the JSON API --------------------------------------------------------------------------------

    def api_dead(self) -> Response:
        page = reads.dead_page(self._queue, _filter(), _int(request.args.get("page"), 1), mask=self._mask())
        return jsonify(
            {"entries": page.entries, "matching": page.matching, "page": page.page, "pages": page.pages}
        )

    def api_status(self) -> Response:
        task_id, mobile = request.args.get("id", "").strip(), request.args.get("mobile", "").strip()
        return jsonify(reads.lookup(self._queue, task_id, mobile, self._config.region, mask=self._mask()))

    # -- who may --------------------------------------------------------------------------------------

    def _mask(self) -> bool:
        user: User | None = g.user
        return user is None or not user.may_act

    def _operator(self) -> User:
        user: User | None = g.user
        if user is None or not user.may_act:
            abort(403)
        self._require_csrf()
        return user

    def _require_csrf(self) -> None:
        if not csrf_ok(request.form.get("csrf")):
            abort(400, TEXTS[g.lang]["csrf"])

    def _chosen(self) -> tuple[reads.DeadFilter, Any]:
        wanted = _filter(request.form)
        ids = set(request.form.getlist("id")) if request.form.get("scope") != "all" else None
        return wanted, reads.chooser(wanted, ids)


def _filter(source: Any = None) -> reads.DeadFilter:
    args = request.args if source is None else source
    return reads.DeadFilter(
        reason=args.get("reason", "").strip(), code=args.get("code", "").strip(),
        number=args.get("number", "").strip(), since=args.get("since", "").strip(),
        until=args.get("until", "").strip(),
    )  # fmt: skip


def _filter_args(wanted: reads.DeadFilter) -> dict[str, Any]:
    return {k: v for k, v in vars(wanted).items() if v}


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else ``/``: ``//evil.example`` and ``/\\evil.example``
    are other sites to a browser, and a login must not send anyone there."""
    return target if _LOCAL_PATH.fullmatch(target) else "/"


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) < 7 else default


def _chart(minutes: list[dict[str, int]]) -> dict[str, Any]:
    """Polylines for an inline SVG of sent and dead-lettered per minute (600 x 120)."""
    top = max([1] + [m["sent"] for m in minutes] + [m["dead"] for m in minutes])
    step = 600 / max(1, len(minutes) - 1)

    def line(key: str) -> str:
        return " ".join(f"{i * step:.1f},{120 - m[key] * 110 / top:.1f}" for i, m in enumerate(minutes))

    return {"sent": line("sent"), "dead": line("dead"), "top": top}
