"""The one HTTP server on loopback behind every fake in the tests: it answers with a function.

``LoopbackServer(handle)`` serves ``handle(Request) -> Answer`` on a free port from a thread; the
fake webhook, the fake vendors and one-off servers in tests (``serve``) are all built on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from requests.structures import CaseInsensitiveDict


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: CaseInsensitiveDict[str]  # as HTTP means them: "content-type" finds "Content-Type"
    body: bytes


Handler = Callable[[Request], Answer]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5, less than the sends a test keeps in flight (this server
    # closes each connection after its answer, so every request is a new one). A CI run saw one
    # "Connection reset by peer", rightly retried by the worker; an overflowing backlog is the likely
    # cause (not reproduced since), and a worker's retry is no test's business to depend on.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that gave up mid-answer (the timeout tests) is what some tests are about


class LoopbackServer:
    def __init__(self, handle: Handler) -> None:
        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Request(self.command, self.path, CaseInsensitiveDict(self.headers.items()), body)
                answer = handle(request)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = _answer

        self._server = _Server(("127.0.0.1", 0), RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """Serve ``handle`` on a free loopback port; yields the base URL."""
    server = LoopbackServer(handle)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
