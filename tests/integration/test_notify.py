"""sd_notify with a real datagram socket as NOTIFY_SOCKET for a real `smsworker run`."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smsworker.daemon.systemd import Notifier
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until


class NotifySocket:
    """What systemd listens on: records every datagram with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self.closed = False
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def has(self, line: str) -> bool:
        return any(line in message.splitlines() for _, message in self.messages)

    def pings_since(self, moment: float) -> int:
        return sum(1 for at, message in self.messages if at >= moment and "WATCHDOG=1" in message)

    def close(self) -> None:
        self.closed = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


@pytest.mark.slow
def test_ready_status_watchdog_and_stopping(
    start_worker: Callable[..., WorkerProcess], notify_socket: NotifySocket, redis_server: RedisServer
) -> None:
    worker = start_worker(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000")
    wait_until(lambda: notify_socket.has("READY=1"), what="READY=1")
    idle_since = time.monotonic()
    wait_until(
        lambda: notify_socket.pings_since(idle_since) >= 3, timeout_s=10, what="watchdog pings while idle"
    )
    redis_server.client().lpush("sms_queue", '{"template_id":1,"mobiles":["13800138000"],"content":"x"}')
    wait_until(lambda: notify_socket.has("STATUS=sent 1, dead 0"), what="a STATUS line")
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout_s=10) == 0
    assert notify_socket.has("STOPPING=1")


@pytest.mark.slow
def test_watchdog_pings_stop_while_the_fetch_is_wedged(
    start_worker: Callable[..., WorkerProcess], notify_socket: NotifySocket, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "wedge")
    server.start()
    try:
        worker = start_worker(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="1000000", url=server.url)
        wait_until(lambda: notify_socket.has("READY=1"), what="READY=1")
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # Redis accepts nothing: the blocking fetch hangs
        try:
            time.sleep(1.0)  # an observation window: a ping already under way may still land in it
            wedged_at = time.monotonic()
            wait_until(lambda: time.monotonic() - wedged_at > 3, timeout_s=5, what="three seconds of wedge")
            assert notify_socket.pings_since(wedged_at) == 0
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        wait_until(lambda: notify_socket.pings_since(resumed_at) >= 2, timeout_s=20, what="pings to resume")
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=15) == 0
    finally:
        server.stop()


def test_no_socket_no_noise() -> None:
    notifier = Notifier.from_environ({})
    assert notifier.watchdog_interval_s is None
    notifier.started("x")  # a no-op, not an error
    notifier.fetch_returned()
    foreign = Notifier.from_environ(
        {"NOTIFY_SOCKET": "@abstract", "WATCHDOG_USEC": "5000000", "WATCHDOG_PID": "1"}, pid=2
    )
    ours = Notifier.from_environ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "5000000"})
    try:
        assert foreign.watchdog_interval_s is None  # the watchdog belongs to another process
        assert ours.watchdog_interval_s == 2.5  # pinged every half of WATCHDOG_USEC
    finally:
        foreign.close()
        ours.close()


@pytest.mark.slow
def test_status_says_when_it_waits_for_redis(
    start_worker: Callable[..., WorkerProcess], notify_socket: NotifySocket
) -> None:
    from tests.support.redis_server import free_port

    worker = start_worker(NOTIFY_SOCKET=str(notify_socket.path), url=f"redis://127.0.0.1:{free_port()}/0")
    wait_until(
        lambda: any("STATUS=waiting for Redis" in message for _, message in notify_socket.messages),
        what="a waiting-for-Redis STATUS",
    )
    assert not notify_socket.has("READY=1")  # not ready without Redis
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout_s=15) == 0
