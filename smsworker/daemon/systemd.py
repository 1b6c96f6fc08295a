"""The systemd notify protocol, spoken directly: a datagram to ``$NOTIFY_SOCKET``.

``READY=1`` once Redis answers and the first fetch is armed; ``STATUS=`` a short human line;
``WATCHDOG=1`` from the fetch loop, and only while fetches come back, so a worker whose fetch is
wedged stops pinging and systemd restarts it; ``STOPPING=1`` on shutdown. Without a socket (not under
systemd) every call is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Mapping

from smsworker.worker.events import WorkerEvents


class Notifier(WorkerEvents):
    def __init__(self, address: str | None = None, *, watchdog_usec: int | None = None) -> None:
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None
        # systemd wants a ping at least every WATCHDOG_USEC; every half of it leaves room for a slow beat.
        self.watchdog_interval_s = watchdog_usec / 2_000_000 if watchdog_usec else None
        self._last_ping = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], pid: int | None = None) -> Notifier:
        """What systemd passed us. WATCHDOG_PID, when set, must be ours (not a parent's)."""
        usec = environ.get("WATCHDOG_USEC", "")
        owner = environ.get("WATCHDOG_PID")
        mine = owner is None or owner == str(pid if pid is not None else os.getpid())
        return cls(
            environ.get("NOTIFY_SOCKET") or None, watchdog_usec=int(usec) if usec.isdigit() and mine else None
        )

    def started(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def redis_waiting(self, error: str) -> None:
        self._status(f"waiting for Redis: {error}")

    def progressed(self, *, tasks: int, sent: int, dead: int) -> None:
        self._status(f"sent {sent}, dead {dead}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")

    def fetch_returned(self) -> None:
        if self.watchdog_interval_s is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval_s:
            self._last_ping = now
            self._send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _status(self, text: str) -> None:
        self._send(f"STATUS={text[:200]}")

    def _send(self, message: str) -> None:
        if self._socket is None or self._address is None:
            return
        # systemd going away (or its socket) leaves nothing useful to do about it.
        with self._lock, contextlib.suppress(OSError):
            self._socket.sendto(message.encode(), self._address)
