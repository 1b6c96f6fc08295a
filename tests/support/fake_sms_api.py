"""A fake SMS webhook on loopback for the ``http`` provider, checking what a real one would check.

It insists on a JSON body with the right fields, records each accepted recipient, and answers with
whatever a test scripts per number (status, headers), after an optional delay.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import Answer, LoopbackServer, Request


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"ok": true}'
    delay_s: float = 0.0  # on top of the API's own delay


class FakeSmsApi:
    def __init__(self, *, delay_s: float = 0.0, token: str | None = None) -> None:
        self.delay_s = delay_s
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.delivered: list[str] = []  # recipients answered 2xx, in order
        self.arrived = 0  # requests that got past validation, counted before the delay
        self.arrival_times: list[float] = []  # time.monotonic() of every request, as it came
        self.replies: dict[str, list[Reply]] = defaultdict(list)
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._answer)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/sms"

    def __enter__(self) -> FakeSmsApi:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def script(self, mobile: str, *replies: Reply) -> None:
        with self.lock:
            self.replies[mobile].extend(replies)

    def count(self, mobile: str) -> int:
        with self.lock:
            return self.delivered.count(mobile)

    def _reply_for(self, body: dict[str, Any]) -> Reply:
        mobiles = body.get("mobiles") or [body.get("mobile")]
        with self.lock:
            for mobile in mobiles:
                if self.replies.get(mobile):
                    return self.replies[mobile].pop(0)
        return Reply()

    def busiest_second(self) -> int:
        """The most requests that came within any one second."""
        with self.lock:
            times = sorted(self.arrival_times)
        return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)

    def handle(self, headers: Any, raw: bytes) -> Reply:
        """Check the request as a real webhook would, then answer as scripted."""
        with self.lock:
            self.arrival_times.append(time.monotonic())
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(401, body='{"error": "bad token"}')
        if not headers.get("Content-Type", "").startswith("application/json"):
            return Reply(415, body='{"error": "JSON only"}')
        try:
            body = json.loads(raw)
        except ValueError:
            return Reply(400, body='{"error": "bad JSON"}')
        problem = _problem(body)
        if problem:
            return Reply(400, body=json.dumps({"error": problem}))
        with self.lock:
            self.arrived += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        reply = self._reply_for(body)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        with self.lock:
            self.requests.append(body)
            self.headers.append(dict(headers))
            if 200 <= reply.status < 300:
                self.delivered.extend(body.get("mobiles") or [body["mobile"]])
        return reply

    def _answer(self, request: Request) -> Answer:
        reply = self.handle(request.headers, request.body)  # looked up at each request: tests wrap it
        headers = {**reply.headers, "Content-Type": "application/json"}
        return Answer(reply.status, headers, reply.body.encode())


def _problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be an object"
    if "template_id" not in body or not isinstance(body.get("content"), str):
        return "template_id and content are required"
    numbers = body.get("mobiles") if "mobiles" in body else [body.get("mobile")]
    if not isinstance(numbers, list) or not numbers:
        return "mobile or mobiles is required"
    for number in numbers:
        if not (isinstance(number, str) and number.startswith("+") and number[1:].isdigit()):
            return f"{number!r} is not E.164"
    return None
