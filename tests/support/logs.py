"""Capturing a logger's JSON events in memory, to assert on what the worker said."""

from __future__ import annotations

import io
import json
from typing import Any

from smsworker.logs import make_logger


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = make_logger(fmt="json", level="debug", stream=self.stream)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every event logged so far, in order; only those called ``name`` if given."""
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        return [e for e in lines if name is None or e["event"] == name]
