"""The Lua scripts smsworker runs inside Redis, one file each in ``scripts/``.

Each exists because what it does must happen atomically; its file's header lists its KEYS and ARGV,
what it answers, and why it must be atomic. Every script is registered through ``register`` (one
SHA per source, EVALSHA with a fallback to EVAL, as redis-py does), so ``store/`` is the one place
that loads them. The constants hold each script's source as sent to Redis, which is also how a
test recognises a script in the traffic (``tests/support/redis_proxy.py``).
"""

from __future__ import annotations

from importlib import resources

import redis
from redis.commands.core import Script

# Functions some scripts share, each in a file of its own, prepended to every script that calls it:
# the type check the scripts that move tasks run before their first write, the ARGV cursor, and
# forgetting the lane an element was taken from.
_PRELUDES = {
    "check_types": ("wrong_type(",),
    "cursor": ("take()",),
    "origin": ("note_origin(", "origin_of(", "forget_origin("),
}


def source(name: str) -> str:
    """The script ``scripts/<name>.lua`` as Redis runs it: after the preludes it calls, if any."""
    text = resources.files(__package__).joinpath("scripts", f"{name}.lua").read_text("utf-8")
    if name in _PRELUDES:
        return text
    used = [prelude for prelude, calls in _PRELUDES.items() if any(call in text for call in calls)]
    return "".join(source(prelude) + "\n" for prelude in used) + text


def register(client: redis.Redis, script: str) -> Script:
    """``script`` (one of the sources below) as a callable: ``script(keys=[...], args=[...])``."""
    return client.register_script(script)


REQUEUE = source("requeue")
REQUEUE_ORPHANS = source("requeue_orphans")
STAMP = source("stamp")
SETTLE = source("settle")
RESERVE = source("reserve")
STEAL = source("steal")
FINISH = source("finish")
REPLAY = source("replay")
RATE_LIMIT = source("rate_limit")
MOVE_KEY = source("move_key")
HEAD_AGE = source("head_age")
HOLD = source("hold")
FORGET_HELD = source("forget_held")
LOCK = source("lock")
TAKE = source("take")
PROMOTE = source("promote")
UNPARK = source("unpark")
CANCEL_TASK = source("cancel_task")
