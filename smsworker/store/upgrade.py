"""Moving the keys of the layout before hash tags to their new names, once (``keys.py``).

Until 0.2 a queue's keys were named ``Q:dead``, ``Q:processing:<worker>``… Now they are
``{Q}:dead``, ``{Q}:processing:<worker>``…, so that a Redis Cluster keeps them in one slot. A worker
(or a command) started on a Redis that still holds the old names moves them before it touches
anything, each in one script, so several starting at the same moment move each key once and lose
nothing; then it sets ``{Q}:layout`` and later starts skip the scan. Only a single server (or a
Sentinel primary) can hold the old names: the old layout never worked on a cluster.
"""

from __future__ import annotations

from typing import Any

from smsworker.store import scripts
from smsworker.store.keys import default_dead_letter_key
from smsworker.store.queue import RedisQueue, glob_escape

# What the released versions before 0.2 wrote: names under ``Q:``, and families ``Q:<family>:...``.
_OLD_NAMES = ("workers", "stats")
_OLD_FAMILIES = ("processing", "heartbeat", "settled", "progress", "ratelimit")
LAYOUT_VERSION = b"hash-tagged"
_LIST_CHUNK = 1000  # list elements moved per script call
_PIPELINE = 500  # keys moved per round trip


def old_names(queue: RedisQueue, found: list[str]) -> list[tuple[str, str]]:
    """(old, new) for each key in ``found`` that belongs to the old layout of this queue."""
    keys = queue.keys
    old_prefix = keys.queue + ":"
    renames = []
    for name in found:
        if not name.startswith(old_prefix):
            continue
        tail = name[len(old_prefix) :]
        family, _, rest = tail.partition(":")
        if tail in _OLD_NAMES or (family in _OLD_FAMILIES and rest):
            renames.append((name, f"{keys.prefix}:{tail}"))
        elif tail == "dead" and keys.dead == default_dead_letter_key(keys.queue):
            renames.append((name, keys.dead))  # a dead-letter list named in the settings keeps its name
    return [(old, new) for old, new in renames if old != new]


def pending_renames(queue: RedisQueue) -> list[tuple[str, str]]:
    """(old, new) for every key still in the old layout; none once upgraded, or on a cluster."""
    client: Any = queue.client
    return [] if client.exists(queue.keys.layout) else _old_layout(queue)


def _old_layout(queue: RedisQueue) -> list[tuple[str, str]]:
    keys = queue.keys
    # A queue name with a hash tag of its own kept its names; a cluster never held the old layout
    # (every command failed with MOVED), and the old names would be in other slots.
    if keys.prefix == keys.queue or queue.in_cluster:
        return []
    client: Any = queue.client
    pattern = glob_escape(keys.queue + ":") + "*"
    return old_names(
        queue, [key.decode("utf-8", "replace") for key in client.scan_iter(match=pattern, count=1000)]
    )


def move_keys(queue: RedisQueue, renames: list[tuple[str, str]], *, chunk: int = _LIST_CHUNK) -> int:
    """Move each (old, new); the number this call moved (another starter may have moved the rest)."""
    client: Any = queue.client
    move = scripts.register(client, scripts.MOVE_KEY)
    moved = 0
    for start in range(0, len(renames), _PIPELINE):
        pending = renames[start : start + _PIPELINE]
        while pending:
            pipe = client.pipeline(transaction=False)
            for old, new in pending:
                move(keys=[old, new], args=["sum" if new == queue.keys.stats else "keep", chunk], client=pipe)
            answers = pipe.execute()
            moved += sum(1 for answer in answers if answer == 1)
            # A long list moves in chunks: the calls that answered 2 go again.
            pending = [rename for rename, answer in zip(pending, answers, strict=True) if answer == 2]
    return moved


def upgrade_layout(queue: RedisQueue, log: Any) -> int:
    """Move what this queue's Redis holds in the old layout; the number of keys moved."""
    keys = queue.keys
    client: Any = queue.client
    if client.exists(keys.layout):
        return 0
    moved = move_keys(queue, _old_layout(queue))
    client.set(keys.layout, LAYOUT_VERSION)
    if moved:
        log.warning(
            "redis.layout_upgraded",
            keys=moved,
            note=f"moved the keys of the layout before 0.2 ({keys.queue}:dead, {keys.queue}:processing:…) "
            f"to their hash-tagged names ({keys.prefix}:…); nothing else to do",
        )
    return moved
