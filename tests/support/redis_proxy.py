"""A TCP proxy between smsworker and a private redis-server that breaks things on purpose.

Faults, named after Toxiproxy's: ``lose_reply(match)`` lets a command through and, once Redis has
answered it, throws the answer away and cuts the connection (the client sees "Connection closed",
though Redis did the work: a lost reply); ``freeze_after(match, seconds)`` lets the command through
and then holds every byte in both directions for a while (the client times out, Redis executes it
anyway); ``freeze()``/``thaw()`` do the same at a moment of the test's choosing; ``cut()`` closes
every connection at once.

The proxy reads the client's commands (RESP arrays) to know which command a fault is for, and
counts Redis's replies (RESP2) to know when that command has been answered. ``match`` sees the
command as a list of bytes: ``[b"EVALSHA", sha, ...]``; ``script(scripts.SETTLE)`` matches a script.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Command = list[bytes]
Match = Callable[[Command], bool]


def script(source: str) -> Match:
    """Matches EVALSHA (or EVAL) of this Lua script, as redis-py sends it."""
    sha = hashlib.sha1(source.encode()).hexdigest().encode()
    return lambda cmd: (
        bool(cmd)
        and (
            (cmd[0].upper() == b"EVALSHA" and cmd[1] == sha)
            or (cmd[0].upper() == b"EVAL" and cmd[1] == source.encode())
        )
    )


def command(name: str) -> Match:
    return lambda cmd: bool(cmd) and cmd[0].upper() == name.upper().encode()


@dataclass
class _Fault:
    match: Match
    kind: str  # "lose" or "freeze"
    seconds: float = 0.0
    skip: int = 0  # let this many matching commands through first
    matched: threading.Event = field(default_factory=threading.Event)  # the command went through
    fired: threading.Event = field(default_factory=threading.Event)  # and its reply is gone


class RespCommands:
    """Incremental parser of client commands: arrays of bulk strings."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[Command]:
        self.buffer += data
        out = []
        while (parsed := self._one()) is not None:
            out.append(parsed)
        return out

    def _one(self) -> Command | None:
        if not self.buffer.startswith(b"*"):
            return None if not self.buffer else self._inline()
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return None
        count, pos, parts = int(self.buffer[1:end]), end + 2, []
        for _ in range(count):
            head = self.buffer.find(b"\r\n", pos)
            if head < 0:
                return None
            size = int(self.buffer[pos + 1 : head])
            if len(self.buffer) < head + 2 + size + 2:
                return None
            parts.append(self.buffer[head + 2 : head + 2 + size])
            pos = head + 2 + size + 2
        self.buffer = self.buffer[pos:]
        return parts

    def _inline(self) -> Command | None:
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return None
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line.split()


class RespReplies:
    """Counts complete RESP2 replies in what Redis sends back."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The complete replies now available, each as its raw bytes."""
        self.buffer += data
        out = []
        while (end := self._end(0)) is not None:
            out.append(self.buffer[:end])
            self.buffer = self.buffer[end:]
        return out

    def _end(self, pos: int) -> int | None:
        line = self.buffer.find(b"\r\n", pos)
        if line < 0:
            return None
        kind, value = self.buffer[pos : pos + 1], self.buffer[pos + 1 : line]
        if kind in b"+-:_,#(":  # one line: RESP2's simple types and RESP3's null, double, bool, bignum
            return line + 2
        if kind in b"$=!":  # a length, then that many bytes
            size = int(value)
            end = line + 2 + size + 2
            return line + 2 if size < 0 else (end if len(self.buffer) >= end else None)
        if kind in b"*~>%|":  # aggregates; a map and an attribute hold pairs
            count = max(0, int(value)) * (2 if kind in b"%|" else 1) + (1 if kind == b"|" else 0)
            at = line + 2
            for _ in range(count):
                found = self._end(at)
                if found is None:
                    return None
                at = found
            return at
        raise ValueError(f"unexpected RESP reply {self.buffer[pos : pos + 20]!r}")


class RedisProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._conns: list[_Connection] = []
        self._closed = False
        self.seen: list[Command] = []  # every command that went through, in order
        threading.Thread(target=self._accept, daemon=True, name="redis-proxy").start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def lose_reply(self, match: Match, *, skip: int = 0) -> _Fault:
        """The next matching command (after ``skip``) runs in Redis; its reply never arrives.
        ``matched`` is set when the command goes through, ``fired`` once its reply is gone."""
        return self._add(_Fault(match, "lose", skip=skip))

    def freeze_after(self, match: Match, seconds: float, *, skip: int = 0) -> _Fault:
        return self._add(_Fault(match, "freeze", seconds=seconds, skip=skip))

    def disarm(self, fault: _Fault) -> bool:
        """Withdraw ``fault`` if no command has matched it yet; whether one had."""
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)
        return fault.matched.is_set()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    def close(self) -> None:
        self._closed = True
        self.thaw()
        self.cut()
        self._listener.close()

    def _add(self, fault: _Fault) -> _Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._flowing.wait()
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            conn = _Connection(self, client, server)
            with self._lock:
                self._conns.append(conn)
            conn.start()

    def _fault_for(self, cmd: Command) -> _Fault | None:
        with self._lock:
            self.seen.append(cmd)
            for fault in self._faults:
                if not fault.fired.is_set() and fault.match(cmd):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    self._faults.remove(fault)
                    fault.matched.set()
                    return fault
        return None

    def _freeze_for(self, fault: _Fault) -> None:
        self.freeze()
        fault.fired.set()
        timer = threading.Timer(fault.seconds, self.thaw)
        timer.daemon = True
        timer.start()


class _Connection:
    def __init__(self, proxy: RedisProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy, self.client, self.server = proxy, client, server
        self.commands, self.replies = RespCommands(), RespReplies()
        self.lock = threading.Lock()
        self.sent = 0  # commands forwarded
        self.answered = 0  # replies passed back
        self.doomed: tuple[int, _Fault] | None = None  # (index of the command whose reply is lost)
        self.closed = False

    def start(self) -> None:
        threading.Thread(target=self._up, daemon=True).start()
        threading.Thread(target=self._down, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _up(self) -> None:
        while not self.closed:
            data = _recv(self.client)
            self.proxy._flowing.wait()
            if not data:
                return self.close()
            freeze: _Fault | None = None
            with self.lock:
                for cmd in self.commands.feed(data):
                    fault = self.proxy._fault_for(cmd)
                    if fault is not None and fault.kind == "lose" and self.doomed is None:
                        self.doomed = (self.sent, fault)
                    elif fault is not None and fault.kind == "freeze":
                        freeze = fault
                    self.sent += 1
            if not _send(self.server, data):
                return self.close()
            if freeze is not None:
                self.proxy._freeze_for(freeze)

    def _down(self) -> None:
        while not self.closed:
            data = _recv(self.server)
            self.proxy._flowing.wait()
            if not data:
                return self.close()
            with self.lock:
                replies = self.replies.feed(data)
                passed = b""
                for reply in replies:
                    if self.doomed is not None and self.answered >= self.doomed[0]:
                        self.doomed[1].fired.set()  # Redis has done it; the client never hears
                        return self.close()
                    passed += reply
                    self.answered += 1
            if passed and not _send(self.client, passed):
                return self.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True
