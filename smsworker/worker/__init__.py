"""The worker: claim -> send -> settle, and everything it needs to keep its promise while doing it.

``loop.py`` is the place to start reading; ``docs/architecture.md`` maps the threads and the data.
"""
