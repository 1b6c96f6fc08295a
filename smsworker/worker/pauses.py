"""What is paused, as this worker last read it (``{Q}:paused``), and waiting while it is.

The ticker (``ticker.py``) reads the hash every quarter of a second; the senders ask before each
request, the fetch thread before a blocking claim and when reading a campaign's task in. Scopes:
``all``, ``lane:<name>``, ``provider:<name>``, ``campaign:<name>``. A lane whose every provider is
paused is paused too. Until the first read answers, everything counts as paused: a worker that
cannot tell does not send.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping

from smsworker.errors import ShutdownRequested

# How often a sender waiting on a pause looks again.
LOOK_EVERY_S = 0.1


class PauseView:
    def __init__(self) -> None:
        self._scopes: frozenset[str] | None = None  # None: not read yet
        self._lock = threading.Lock()

    def update(self, scopes: Iterable[str]) -> None:
        with self._lock:
            self._scopes = frozenset(scopes)

    @property
    def scopes(self) -> frozenset[str]:
        with self._lock:
            return self._scopes if self._scopes is not None else frozenset({"all"})

    def blocks(self, lane: str, providers: Collection[str], campaign: str | None = None) -> bool:
        """Whether a send on ``lane`` through the chain ``providers`` (for ``campaign``) must wait."""
        scopes = self.scopes
        if "all" in scopes or f"lane:{lane}" in scopes:
            return True
        if campaign is not None and f"campaign:{campaign}" in scopes:
            return True
        return bool(providers) and all(f"provider:{p}" in scopes for p in providers)

    def held(self, chains: Mapping[str, Collection[str]]) -> set[str]:
        """The lanes of ``chains`` (lane -> its providers' names) nothing may be sent on now."""
        return {lane for lane, providers in chains.items() if self.blocks(lane, providers)}

    def provider_paused(self, provider: str) -> bool:
        return f"provider:{provider}" in self.scopes

    def wait_open(self, blocked: Callable[[], bool], sleep: Callable[[float], None]) -> bool:
        """Wait while ``blocked()``; False if the worker stops meanwhile (``sleep`` raises)."""
        while blocked():
            try:
                sleep(LOOK_EVERY_S)
            except ShutdownRequested:
                return False
        return True
