"""A fast fake SMS webhook for benchmarks and chaos runs: asyncio, keep-alive, no blocking.

It answers after ``latency`` without holding up other requests (thousands can be in flight),
records every recipient with its receive time, and can be switched at run time into an outage
(503) or a hang (accepts, never answers). Control and read-out over HTTP on the same port:

    POST /sms            the webhook ("mobile" or "mobiles"); 200 when healthy
    GET  /stats          {"requests", "recipients", "distinct", "duplicates", "first", "last"}
    GET  /received       {"mobile": [receive times...], ...}
    POST /mode           {"mode": "ok"|"503"|"hang", "latency_ms": 50}

Run: python -m bench.fakeapi --port 8080 --latency-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from collections import defaultdict
from typing import Any


class FakeApi:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.mode = "ok"
        self.requests = 0
        self.received: dict[str, list[float]] = defaultdict(list)
        self.total = 0
        self.first = 0.0
        self.last = 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "recipients": self.total,
            "distinct": len(self.received),
            "duplicates": self.total - len(self.received),
            "first": self.first,
            "last": self.last,
            "mode": self.mode,
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, headers = _parse_head(head)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self.route(method, path, body)
                if status == 0:  # hang: keep the connection, never answer
                    await asyncio.Event().wait()
                writer.write(_response(status, payload))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if path == "/stats":
            return 200, json.dumps(self.stats()).encode()
        if path == "/received":
            return 200, json.dumps(self.received).encode()
        if path == "/mode":
            change = json.loads(body)
            self.mode = change.get("mode", self.mode)
            self.latency_s = change.get("latency_ms", self.latency_s * 1000) / 1000
            return 200, b"{}"
        return await self.send(body)

    async def send(self, body: bytes) -> tuple[int, bytes]:
        self.requests += 1
        if self.mode == "hang":
            return 0, b""
        if self.mode == "503":
            return 503, b'{"error": "outage"}'
        message = json.loads(body)
        mobiles = message["mobiles"] if "mobiles" in message else [message["mobile"]]
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        now = time.time()
        for mobile in mobiles:
            self.received[mobile].append(now)
        self.total += len(mobiles)
        self.first = self.first or now
        self.last = now
        return 200, b'{"ok": true}'


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _response(status: int, payload: bytes) -> bytes:
    reason = {200: "OK", 503: "Service Unavailable"}.get(status, "Status")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def serve(port: int, latency_s: float) -> None:
    api = FakeApi(latency_s)
    server = await asyncio.start_server(api.handle, "127.0.0.1", port, backlog=4096, limit=8 * 1024 * 1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    # Terminated between runs: open keep-alive connections are of no interest then.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency_ms / 1000))


if __name__ == "__main__":
    main()
