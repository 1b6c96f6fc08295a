"""A webhook that moved: every answer a redirect, and nothing may count as sent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from tests.support.loopback import Answer, Request, serve
from tests.support.redis_server import RedisServer

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_a_provider_answering_every_redirect_sends_nothing(cli: Cli, redis_server: RedisServer) -> None:
    statuses = iter([301, 302, 303, 307, 308] * 10)
    seen: list[str] = []

    def moved(request: Request) -> Answer:
        seen.append(request.method)
        if request.method != "POST":
            return Answer(200)  # the page it moved to accepts anything, with a GET
        return Answer(next(statuses), {"Location": "/elsewhere"})

    r = redis_server.client()
    for n in range(5):
        r.lpush("sms_queue", json.dumps({"template_id": 1, "mobiles": [f"1380013800{n}"], "content": "x"}))
    with serve(moved) as base_url:
        result = cli("drain", "--provider", "http", "--http-url", base_url + "/sms", "--max-attempts", "3")
    assert result.returncode == 0, result.stderr
    assert seen == ["POST"] * 5  # once each: a redirect is permanent, and never followed
    envelopes = [json.loads(e) for e in r.lrange("{sms_queue}:dead", 0, -1)]
    assert sorted(e["provider_code"] for e in envelopes) == ["301", "302", "303", "307", "308"]
    assert {e["reason"] for e in envelopes} == {"provider_rejected"}
    assert all("redirects to /elsewhere" in e["error"] for e in envelopes)
    assert r.hget("{sms_queue}:stats", "sent") == b"0"
