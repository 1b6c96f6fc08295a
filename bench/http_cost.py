"""CPU cost of one ``requests`` POST, the floor under every send: ``python -m bench.http_cost``.

Prints CPU milliseconds per POST against the fake provider on loopback: ``Session.post`` with
requests' per-call environment lookups (``trust_env``, the default), without them, and through
``transport.Endpoint`` (the request prepared once and copied per call: what the http and Tencent
providers do).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests

from bench.harness import Api
from smsworker.providers.transport import Endpoint, make_session

BODY = {"template_id": 1, "mobile": "+8613800000000", "content": "x"}


def cpu_ms_per_post(post: Callable[[int], object], count: int = 2000) -> float:
    for n in range(200):  # warm the connection and the code paths
        post(n)
    started = time.process_time()
    for n in range(count):
        post(n)
    return (time.process_time() - started) * 1000 / count


def session_post(url: str, *, trust_env: bool) -> Callable[[int], object]:
    session = requests.Session()
    session.trust_env = trust_env
    return lambda n: session.post(url, json={**BODY, "mobile": f"+86138{n:08d}"}, timeout=10)


def endpoint_post(url: str) -> Callable[[int], object]:
    endpoint = Endpoint(make_session(url, pool_size=1), url, {"Content-Type": "application/json"})
    return lambda n: endpoint.post(json.dumps({**BODY, "mobile": f"+86138{n:08d}"}).encode(), timeout_s=10)


def main() -> None:
    api = Api()
    try:
        for name, post in (
            ("Session.post, trust_env=True", session_post(api.url, trust_env=True)),
            ("Session.post, trust_env=False", session_post(api.url, trust_env=False)),
            ("transport.Endpoint.post", endpoint_post(api.url)),
        ):
            print(f"{name}: {cpu_ms_per_post(post):.2f} ms of CPU per POST")
    finally:
        api.stop()


if __name__ == "__main__":
    main()
