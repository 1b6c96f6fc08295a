"""The receiver's web app: one route per report source, each verifying before it reads.

- ``POST /http``: the http provider's reports, HMAC-signed (``http_reports.py``).
- ``POST /aliyun/<token>``, ``POST /tencent/<token>``: Alibaba's and Tencent's pushes
  (``aliyun_reports.py``, ``tencent_reports.py``). Neither vendor signs them, so the path carries
  a secret token (compared in constant time; a wrong one is a plain 404, like any unknown path),
  and an optional allow-list of networks refuses other senders (403).
- ``POST /twilio``: Twilio's status callbacks, signed with the account's auth token over the public
  URL they were sent to (``twilio_reports.py``).

Hostile traffic gets nothing: a body over ``MAX_BODY`` is refused before it is read (413), a bad
or missing signature is a bare 403, a proven body that is not a report a 400 saying why, Redis away
a 503 (every vendor pushes again later). In a batch, the elements that are reports are applied and
the others counted as ``malformed`` (``fields.each_report`` says why). Reports are applied one by
one (``store/receipts.py``), so a repeat changes nothing and one for an unknown id is held, then
counted, not an error. Each answer is the one its vendor expects.
"""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request

from smsworker.config.addresses import Network, within
from smsworker.receiver import aliyun_reports, http_reports, tencent_reports, twilio_reports
from smsworker.receiver.backlog import Backlog
from smsworker.receiver.fields import BadReport, Batch
from smsworker.receiver.recorder import Recorder
from smsworker.store.errors import RedisError

MAX_BODY = 1024 * 1024  # bytes a body may have: one more is refused (413)
# Problems said in a /http answer, at most: the count says how many there were.
SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class Sources:
    """The report sources this receiver accepts, and what proves a request comes from each."""

    http_secret: bytes | None = None  # POST /http
    path_token: str | None = None  # POST /aliyun/<token>, /tencent/<token>
    allow: tuple[Network, ...] = ()  # senders of the unsigned pushes; empty: any
    twilio_auth_token: str | None = None  # POST /twilio, with ...
    twilio_url: str | None = None  # ... the public URL Twilio calls

    @property
    def names(self) -> list[str]:
        on = {
            "http": self.http_secret,
            "aliyun": self.path_token,
            "tencent": self.path_token,
            "twilio": self.twilio_url,
        }
        return [name for name, given in on.items() if given]


def make_app(recorder: Recorder, sources: Sources, *, log: Any, backlog: Backlog | None = None) -> Flask:
    app = Flask("smsworker.receiver")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["SMSWORKER_SOURCES"] = sources.names  # said when listening
    routes = _Routes(recorder, sources, log, backlog if backlog is not None else Backlog(recorder, log))
    app.add_url_rule("/http", view_func=routes.http, methods=["POST"])
    app.add_url_rule("/aliyun/<token>", view_func=routes.aliyun, methods=["POST"])
    app.add_url_rule("/tencent/<token>", view_func=routes.tencent, methods=["POST"])
    app.add_url_rule("/twilio", view_func=routes.twilio, methods=["POST"])
    app.register_error_handler(RedisError, routes.store_away)
    for code in (404, 405, 413):
        app.register_error_handler(code, _refused)
    return app


class _Routes:
    def __init__(self, recorder: Recorder, sources: Sources, log: Any, backlog: Backlog) -> None:
        self._recorder = recorder
        self._backlog = backlog
        self._sources = sources
        self._log = log

    def http(self) -> tuple[Response, int]:
        body = request.get_data(cache=False)
        secret = self._sources.http_secret
        if secret is None or not http_reports.is_signed(secret, request.headers, body):
            return self._forbidden("http", "signature")
        try:
            batch = http_reports.parse(body)
        except BadReport as exc:
            return self._bad("http", exc, {"error": str(exc)})
        answer: dict[str, Any] = dict(self._apply("http", batch))
        if batch.problems:
            answer["errors"] = batch.problems[:SHOWN_PROBLEMS]
        return jsonify(answer), 200

    def aliyun(self, token: str) -> tuple[Response, int]:
        return self._unsigned("aliyun", token, aliyun_reports)

    def tencent(self, token: str) -> tuple[Response, int]:
        return self._unsigned("tencent", token, tencent_reports)

    def twilio(self) -> tuple[Response, int] | Response:
        fields = list(request.form.items(multi=True))
        given = request.headers.get("X-Twilio-Signature", "")
        token, url = self._sources.twilio_auth_token, self._sources.twilio_url
        if token is None or url is None or not twilio_reports.is_signed(token, url, fields, given):
            return self._forbidden("twilio", "signature")
        try:
            report = twilio_reports.parse(dict(fields))
        except BadReport as exc:
            return self._bad("twilio", exc, {"error": str(exc)})
        if report is not None:
            try:
                self._recorder.record("twilio", [report])
            except RedisError:
                # Twilio does not call again after an error: kept until Redis is back (backlog.py).
                if not self._backlog.add("twilio", [report]):
                    raise
                self._log.warning("receipts.backlogged", source="twilio", waiting=len(self._backlog))
        return Response(status=204)

    def store_away(self, error: RedisError) -> tuple[Response, int]:
        # Every vendor pushes again when the answer is not a success: nothing is lost by saying so.
        self._log.error("receipts.store_unavailable", error=str(error))
        return jsonify({"error": "unavailable, push again later"}), 503

    def _unsigned(self, source: str, token: str, vendor: Any) -> tuple[Response, int]:
        """``vendor``: its module, with ``parse``, the ``ANSWER`` it expects and its ``refusal``."""
        expected = self._sources.path_token
        if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            self._log.warning("receipts.refused", source=source, why="path token", remote=request.remote_addr)
            return jsonify({"error": "not found"}), 404
        if self._sources.allow and not within(request.remote_addr, self._sources.allow):
            return self._forbidden(source, "address not in receipts_allow")
        try:
            batch = vendor.parse(request.get_data(cache=False))
        except BadReport as exc:
            return self._bad(source, exc, vendor.refusal(str(exc)))
        self._apply(source, batch)
        return jsonify(vendor.ANSWER), 200

    def _apply(self, source: str, batch: Batch) -> Counter[str]:
        outcomes = self._recorder.record(source, batch.reports)
        if batch.problems:
            outcomes["malformed"] = len(batch.problems)
            self._recorder.malformed(source, batch.problems)
        return outcomes

    def _forbidden(self, source: str, why: str) -> tuple[Response, int]:
        self._log.warning("receipts.refused", source=source, why=why, remote=request.remote_addr)
        return jsonify({"error": "forbidden"}), 403

    def _bad(self, source: str, exc: BadReport, answer: dict[str, Any]) -> tuple[Response, int]:
        self._log.warning("receipts.bad_report", source=source, error=str(exc))
        return jsonify(answer), 400


def _refused(error: Any) -> tuple[Response, int]:
    code = int(getattr(error, "code", 400))
    return jsonify({"error": "too large" if code == 413 else "not found"}), code
