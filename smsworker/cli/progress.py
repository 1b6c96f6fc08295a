"""A progress bar on stderr for long work (``drain``, ``dlq replay``), only when it is a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[], None]]:
    """Yield a step function to call once per item done; a no-op when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
    lock = threading.Lock()

    def step() -> None:
        with lock:  # steps may come from another thread (the worker's settle thread)
            bar.update(1)

    yield step
    bar.render_finish()
