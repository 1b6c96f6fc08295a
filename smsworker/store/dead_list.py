"""The dead-letter list's Redis side: reads for the operators, replay and removal
(``deadletters.py`` builds the envelopes and is what the CLI and the dashboard call)."""

from __future__ import annotations

from collections.abc import Iterator

from smsworker.store import scripts
from smsworker.store.base import QueueBase


class DeadList(QueueBase):
    def dead_letters(self, limit: int | None = None) -> list[bytes]:
        """Newest first."""
        entries: list[bytes] = self._r.lrange(self.keys.dead, 0, -1 if limit is None else limit - 1)
        return entries

    def dead_letters_counted(self, limit: int | None = None) -> tuple[list[bytes], int]:
        """The newest ``limit`` entries, newest first, and the list's length, read together."""
        pipe = self._r.pipeline(transaction=True)
        pipe.lrange(self.keys.dead, 0, -1 if limit is None else limit - 1)
        pipe.llen(self.keys.dead)
        entries, length = pipe.execute()
        return list(entries), int(length)

    def dead_letters_oldest_first(self, chunk: int = 500) -> Iterator[bytes]:
        """A snapshot of the dead-letter list, oldest first, read in chunks."""
        end = self._r.llen(self.keys.dead)
        while end > 0:
            start = max(0, end - chunk)
            yield from reversed(self._r.lrange(self.keys.dead, start, end - 1))
            end = start

    def replay(self, envelope: bytes, task: bytes) -> bool:
        """Move one envelope's task back to the queue; False if it was no longer in the list."""
        replay = self._script(scripts.REPLAY)
        return bool(replay(keys=[self.keys.dead, self.keys.queue], args=[envelope, task]))

    def remove_dead(self, entry: bytes) -> bool:
        """Delete one dead-letter entry; False if it was no longer there."""
        return bool(self._r.lrem(self.keys.dead, 1, entry))

    def purge_dead(self) -> int:
        pipe = self._r.pipeline(transaction=True)
        pipe.llen(self.keys.dead)
        pipe.delete(self.keys.dead)
        return int(pipe.execute()[0])
