"""A progress bar on stderr for long work (``drain``, ``dlq replay``), only when it is a terminal.

Lines printed while the bar is shown (the log's) must go through ``Bar.lines``: each is printed on
a line of its own above the bar, which is drawn again below it. Written straight to the terminal,
a line would land on the bar's line, and the next redraw would overwrite it.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

_CLEAR_LINE = "\r\x1b[2K"  # to the line's start, and erase it
_WIDTH = 30  # characters of the bar itself
_REDRAW_S = 0.05  # at most this often: a fast drain settles thousands of tasks a second


class Bar:
    """``step()`` once per item done. Draws on ``out`` only when it is a terminal; off a terminal
    it draws nothing and ``lines`` is None."""

    def __init__(self, total: int, label: str, out: TextIO) -> None:
        self._total = total
        self._label = label
        self._out: TextIO | None = out if out.isatty() else None
        self._done = 0
        self._drawn_at = float("-inf")
        self._lock = threading.Lock()  # steps come from the worker's threads, lines from any
        # A text stream to the log, which asks only for write, flush and isatty.
        self.lines = cast(TextIO, _LinesAbove(self)) if self._out is not None else None

    def step(self) -> None:
        if self._out is None:
            return
        with self._lock:
            self._done += 1
            if time.monotonic() - self._drawn_at >= _REDRAW_S:
                self._draw(self._out)

    def print_above(self, line: str) -> None:
        """``line`` on a line of its own, the bar drawn again below it."""
        if self._out is None:
            return
        with self._lock:
            self._out.write(f"{_CLEAR_LINE}{line}\n")
            self._draw(self._out)

    def finish(self) -> None:
        if self._out is None:
            return
        with self._lock:
            self._draw(self._out)
            self._out.write("\n")
            self._out.flush()

    def _draw(self, out: TextIO) -> None:
        of = max(self._total, self._done, 1)  # more may be pushed while it runs
        filled = _WIDTH * self._done // of
        out.write(
            f"{_CLEAR_LINE}{self._label}  [{'#' * filled}{'-' * (_WIDTH - filled)}]"
            f"  {100 * self._done // of:3d}%  {self._done}/{of}"
        )
        out.flush()
        self._drawn_at = time.monotonic()


class _LinesAbove(io.TextIOBase):
    """A text stream whose every whole line is printed above the bar (a partial one waits for
    its end: ``print`` writes a line and its newline apart)."""

    def __init__(self, bar: Bar) -> None:
        super().__init__()
        self._bar = bar
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            *whole, self._partial = (self._partial + text).split("\n")
        for line in whole:
            self._bar.print_above(line)
        return len(text)

    def isatty(self) -> bool:
        return True  # what it writes to is a terminal: the log picks its console format


@contextmanager
def progress(total: int, label: str, out: TextIO | None = None) -> Iterator[Bar]:
    """A bar of ``total`` steps on ``out`` (stderr), ended on its own line however the work ends."""
    bar = Bar(total, label, sys.stderr if out is None else out)
    try:
        yield bar
    finally:
        bar.finish()
