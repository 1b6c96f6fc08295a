"""The dashboard's Flask app: the pages, the JSON API under ``/api/``, and the audit log.

Before any page, a request must name this dashboard in its Host (``guard.host_allowed``), and then
be logged in (unless ``--dashboard-no-auth``, loopback only): its session is looked up in Redis
and checked against the users file each time (``sessions.py``). Every action is a POST that carries
the session's CSRF token and comes from an operator. Pages are rendered on the server and work
without JavaScript; ``static/refresh.js`` only refreshes the overview's numbers. Nothing is fetched
from anywhere else: the Content-Security-Policy allows this origin only.

Whatever goes wrong gets a clear answer, never a stack trace: a bad parameter a 400 saying which,
Redis away a 503, anything else a 500 that is logged; JSON under ``/api/``, a page elsewhere.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from smsworker.config.addresses import Network
from smsworker.config.schema import default_of
from smsworker.dashboard import reads
from smsworker.dashboard.actions import Actions
from smsworker.dashboard.auth import Auth
from smsworker.dashboard.guard import anonymous_csrf, client_address, host_allowed, same_token
from smsworker.dashboard.pages import Pages, TooManySearches
from smsworker.dashboard.searches import NumberSearches
from smsworker.dashboard.sessions import MAX_AGE_S, Sessions
from smsworker.dashboard.texts import TEXTS, pick
from smsworker.dashboard.traffic import Traffic
from smsworker.dashboard.users import User, UsersFile
from smsworker.store.control import TrafficControl
from smsworker.store.dashboard import SearchCounts, SessionRecords
from smsworker.store.errors import RedisError
from smsworker.store.queue import RedisQueue

MAX_FORM = 64 * 1024
OPEN = {"login", "static"}
# The overview's own refresh (static/refresh.js) says so: it does not keep a session from idling.
PASSIVE = "X-Smsworker-Refresh"


@dataclass(frozen=True)
class DashboardConfig:
    users: UsersFile | None  # None: no logins (no_auth)
    no_auth: bool = False
    secret: bytes = b""
    behind_tls: bool = False
    region: str = default_of("default_region")
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()
    idle_timeout_s: float = default_of("dashboard_idle_timeout")
    receipt_ttl_s: int = default_of("receipt_ttl")
    lanes: tuple[str, ...] = ()  # declared, highest priority first
    providers: tuple[str, ...] = ()  # the provider chain the settings name


def make_app(queue: RedisQueue, config: DashboardConfig, log: Any) -> Flask:
    app = Flask(__name__)
    secret = config.secret or secrets.token_bytes(32)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="smsworker_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.behind_tls,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=MAX_AGE_S),
        MAX_CONTENT_LENGTH=MAX_FORM,
    )
    app.jinja_env.filters["when"] = reads.when
    sessions = None
    if config.users is not None and not config.no_auth:
        sessions = Sessions(SessionRecords(queue), config.users, key=secret, idle_s=config.idle_timeout_s)
    _guard(app, config, sessions)
    _routes(app, queue, config, sessions, log)
    _errors(app, log)
    return app


def _guard(app: Flask, config: DashboardConfig, sessions: Sessions | None) -> None:
    @app.before_request
    def who() -> Any:
        if not host_allowed(request.host, config.allowed_hosts):
            return _refused(400, "this dashboard is not served under that name (dashboard_allowed_hosts)")
        _identify(config, sessions)
        if request.endpoint not in OPEN and g.user is None:
            if request.path.startswith("/api/"):
                return jsonify({"error": "log in first"}), 401
            return redirect(url_for("login", next=request.path))
        if request.method == "POST" and not same_token(g.csrf, request.form.get("csrf")):
            return _refused(400, TEXTS[g.lang]["csrf"])
        return None

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
        lang = g.get("lang", "en")
        user, csrf = g.get("user"), g.get("csrf", "")
        return {"t": TEXTS[lang], "lang": lang, "user": user, "csrf": csrf, "no_auth": config.no_auth}


def _identify(config: DashboardConfig, sessions: Sessions | None) -> None:
    """Who asks, in which language, from where, with which session and CSRF token (``g``)."""
    args, headers = request.args, request.headers
    g.lang = pick(args.get("lang"), request.cookies.get("lang"), headers.get("Accept-Language"))
    g.client = client_address(request.remote_addr, headers.get("X-Forwarded-For"), config.trusted_proxies)
    g.session, g.user = None, None
    if config.no_auth:
        g.user = User("local", "operator")
    elif sessions is not None:
        g.session = sessions.find(session.get("sid"), renew=PASSIVE not in headers)
        g.user = g.session.user if g.session is not None else None
    g.csrf = g.session.csrf if g.session is not None else anonymous_csrf()


def _routes(
    app: Flask, queue: RedisQueue, config: DashboardConfig, sessions: Sessions | None, log: Any
) -> None:
    auth = Auth(config.users, sessions, log)
    pages = Pages(queue, NumberSearches(SearchCounts(queue)), region=config.region)
    actions = Actions(queue, log, region=config.region)
    control = TrafficControl(queue.client, queue.keys, receipt_ttl_s=config.receipt_ttl_s)
    traffic = Traffic(queue, control, log, lanes=config.lanes, providers=config.providers)

    def operator(view: Any) -> Any:
        def guarded() -> Any:
            if g.user is None or not g.user.may_act:
                abort(403)
            return view()

        return guarded

    app.add_url_rule("/login", "login", auth.login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "logout", auth.logout, methods=["POST"])
    app.add_url_rule("/logout/everywhere", "logout_everywhere", auth.logout_everywhere, methods=["POST"])
    app.add_url_rule("/", "overview", pages.overview)
    app.add_url_rule("/workers", "workers", pages.workers)
    app.add_url_rule("/dead", "dead", pages.dead)
    app.add_url_rule("/dead/<entry>", "entry", pages.entry)
    app.add_url_rule("/dead/replay", "replay", operator(actions.replay), methods=["POST"])
    app.add_url_rule("/dead/purge", "purge", operator(actions.purge), methods=["POST"])
    app.add_url_rule("/status", "status", pages.status)
    app.add_url_rule("/traffic", "traffic", traffic.traffic)
    app.add_url_rule("/traffic/pause", "pause", operator(traffic.pause), methods=["POST"])
    app.add_url_rule("/traffic/resume", "resume", operator(traffic.resume), methods=["POST"])
    app.add_url_rule("/campaigns", "campaigns", traffic.campaigns)
    app.add_url_rule(
        "/campaigns/cancel", "cancel_campaign", operator(traffic.cancel_campaign), methods=["POST"]
    )
    app.add_url_rule("/cancel", "cancel_page", traffic.cancel_page)
    app.add_url_rule("/cancel/task", "cancel_task", operator(traffic.cancel_task), methods=["POST"])
    app.add_url_rule("/api/overview", "api_overview", pages.api_overview)
    app.add_url_rule("/api/workers", "api_workers", pages.api_workers)
    app.add_url_rule("/api/dead", "api_dead", pages.api_dead)
    app.add_url_rule("/api/status", "api_status", pages.api_status)
    app.add_url_rule("/api/traffic", "api_traffic", traffic.api_traffic)
    app.add_url_rule("/api/campaigns", "api_campaigns", traffic.api_campaigns)


def _errors(app: Flask, log: Any) -> None:
    @app.errorhandler(reads.BadQuery)
    def bad_query(error: reads.BadQuery) -> Any:
        return _refused(400, str(error))

    @app.errorhandler(TooManySearches)
    def too_many(error: TooManySearches) -> Any:
        return _refused(429, str(error))

    @app.errorhandler(RedisError)
    def redis_away(error: RedisError) -> Any:
        log.error("dashboard.redis_unavailable", error=str(error), path=request.path)
        return _refused(503, TEXTS[g.get("lang", "en")]["redis_away"])

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return error
        return jsonify({"error": error.description or error.name}), error.code or 500

    @app.errorhandler(Exception)
    def crashed(error: Exception) -> Any:
        log.exception("dashboard.crashed", path=request.path)
        return _refused(500, TEXTS[g.get("lang", "en")]["crashed"])


def _refused(code: int, why: str) -> Any:
    """An answer that is not the page asked for: JSON under /api/, a short page elsewhere."""
    if request.path.startswith("/api/"):
        return jsonify({"error": why}), code
    return render_template("error.html", code=code, why=why), code
