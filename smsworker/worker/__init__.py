"""The worker: claim -> send -> settle, and everything it needs to keep its promise while doing it.

``loop.py`` is the place to start reading; ``docs/architecture.md`` maps the threads and the data.
"""

from smsworker.worker.loop import Worker
from smsworker.worker.options import WorkerOptions
from smsworker.worker.tally import Totals

__all__ = ["Totals", "Worker", "WorkerOptions"]
