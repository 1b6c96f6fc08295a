"""CPU cost of one ``requests`` POST, the floor under every send: ``python -m bench.http_cost``.

Prints CPU milliseconds per POST against the fake provider on loopback, with requests' per-call
environment lookups (``trust_env``, the default) and without (what the http provider does).
"""

from __future__ import annotations

import time

import requests

from bench.harness import Api


def cpu_ms_per_post(api: Api, *, trust_env: bool, count: int = 2000) -> float:
    session = requests.Session()
    session.trust_env = trust_env
    body = {"template_id": 1, "mobile": "+8613800000000", "content": "x"}
    for _ in range(200):  # warm the connection and the code paths
        session.post(api.url, json=body, timeout=10)
    started = time.process_time()
    for n in range(count):
        session.post(api.url, json={**body, "mobile": f"+86138{n:08d}"}, timeout=10)
    session.close()
    return (time.process_time() - started) * 1000 / count


def main() -> None:
    api = Api()
    try:
        for trust_env in (True, False):
            print(
                f"trust_env={trust_env}: {cpu_ms_per_post(api, trust_env=trust_env):.2f} ms of CPU per POST"
            )
    finally:
        api.stop()


if __name__ == "__main__":
    main()
