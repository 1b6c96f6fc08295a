"""A real ``smsworker`` subprocess, its JSON log, and waits on what it logs."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until


class WorkerProcess:
    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.out_path = log_path.with_suffix(".out")
        self._log_file = log_path.open("w")
        self._out_file = self.out_path.open("w")
        self.process = subprocess.Popen(command, env=env, stdout=self._out_file, stderr=self._log_file)

    @property
    def pid(self) -> int:
        return self.process.pid

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        events = []
        for line in self.log_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a traceback would show up here; tests that care look at log_text()
            if name is None or event.get("event") == name:
                events.append(event)
        return events

    def stdout(self) -> str:
        return self.out_path.read_text()

    def log_text(self) -> str:
        return self.log_path.read_text()

    def wait_for_event(self, name: str, timeout_s: float = 15.0) -> dict[str, Any]:
        found = wait_until(lambda: self.events(name), timeout_s=timeout_s, what=f"log event {name}")
        return found[0]

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout_s: float = 15.0) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self._close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        self._log_file.close()
        self._out_file.close()
