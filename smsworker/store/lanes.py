"""Lanes and the clock on the Redis side: routing the queue into lanes, taking from them in the
worker's order, and moving scheduled tasks into their lanes when due.

With no lanes declared there is one: ``default``, whose list is the queue itself, so the worker
takes from it as producers push, and nothing is routed. With lanes, every element pushed to the
queue is routed (``take.lua``) into ``{Q}:lane:<name>``, in the queue's slot.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from smsworker.store import scripts
from smsworker.store.args import ScriptArgs
from smsworker.store.base import QueueBase, glob_escape

DEFAULT_LANE = "default"
# Elements of the queue one take routes: bounds the script's run while a flood arrives.
ROUTE_MAX = 2000
# Due tasks one promote moves; the caller calls again while it moves this many.
PROMOTE_MAX = 1000


@dataclass(frozen=True)
class Taken:
    """What one ``take`` did: how many it routed, each lane's length after, what it claimed."""

    routed: int
    lengths: Mapping[str, int]
    elements: list[tuple[str, bytes]]  # (lane, element), in the order taken


class Lanes(QueueBase):
    # None asks the server on first use (BLMOVE needs Redis 6.2; older gets BRPOPLPUSH).
    _use_blmove: bool | None = None
    lane_names: tuple[str, ...] = ()  # declared, in priority order; () = no lanes
    routes: Mapping[str, str] = {}  # template id as text -> lane

    def declare_lanes(self, names: Sequence[str], routes: Mapping[str, str]) -> None:
        """The lanes workers route into and take from (``default`` among them); none: the queue."""
        self.lane_names = tuple(names)
        self.routes = dict(routes)

    def supports_blmove(self) -> bool:
        if self._use_blmove is None:
            version = str(self._r.info("server").get("redis_version", "0"))
            self._use_blmove = tuple(int(p) for p in version.split(".")[:2]) >= (6, 2)
        return self._use_blmove

    @property
    def lanes_declared(self) -> bool:
        return bool(self.lane_names)

    def lane_key(self, name: str) -> str:
        return self.keys.lane(name) if self.lanes_declared else self.keys.queue

    def _lane_list(self) -> tuple[list[str], list[str]]:
        """The lanes' names and lists, in KEYS order."""
        if not self.lanes_declared:
            return [DEFAULT_LANE], [self.keys.queue]
        return list(self.lane_names), [self.keys.lane(n) for n in self.lane_names]

    def take(self, worker_id: str, plan: Sequence[tuple[str, int]], total: int) -> Taken:
        """Route what was pushed, then claim up to ``total`` elements, each lane of ``plan`` in its
        order and up to its most; paused lanes are skipped."""
        names, lists = self._lane_list()
        index = {n: i for i, n in enumerate(names, start=1)}
        call = ScriptArgs(
            [
                self.keys.queue,
                self.keys.processing(worker_id),
                self.keys.origin(worker_id),
                self.keys.paused,
                *lists,
            ]
        )
        call.put(ROUTE_MAX if self.lanes_declared else 0)
        call.items(names)
        call.rows([(t, index[lane]) for t, lane in self.routes.items() if lane in index])
        call.put(int(self.lanes_declared))
        call.rows([(index[lane], most) for lane, most in plan if lane in index])
        call.put(total)
        routed, lengths, flat = self._script(scripts.TAKE)(keys=call.keys, args=call.args)
        pairs = [(names[int(flat[i]) - 1], bytes(flat[i + 1])) for i in range(0, len(flat), 2)]
        return Taken(int(routed), dict(zip(names, (int(n) for n in lengths), strict=True)), pairs)

    def wait_for_push(self, timeout_s: float) -> bool:
        """Block until the queue holds an element or ``timeout_s`` passes, taking nothing: the
        element is moved from the queue's tail to its tail, so it stays where it was. (Lanes are
        filled by routing, so an idle worker with lanes waits here, then takes.)"""
        if self.supports_blmove():
            found = self._r.blmove(self.keys.queue, self.keys.queue, timeout_s, "RIGHT", "RIGHT")
            return found is not None
        # Before Redis 6.2 no blocking command leaves a list as it was: wait on a key nobody
        # writes, in the queue's slot, and look.
        self._r.blpop([f"{self.keys.prefix}:never"], int(max(1, timeout_s)))
        return int(self._r.llen(self.keys.queue)) > 0

    def queued(self, paused: Collection[str] = ()) -> int:
        """Tasks waiting to be taken: in the queue and in every lane, but for the lanes ``paused``
        holds (scopes as in ``{Q}:paused``: ``all`` holds everything)."""
        if "all" in paused:
            return 0
        held = {scope.removeprefix("lane:") for scope in paused if scope.startswith("lane:")}
        keys = [self.keys.lane(n) for n in self.lane_names if n not in held]
        if self.lanes_declared or DEFAULT_LANE not in held:
            keys.append(self.keys.queue)
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.llen(key)
        return sum(int(n) for n in pipe.execute())

    def return_undeclared_lanes(self) -> dict[str, int]:
        """Move the lists of lanes this worker does not declare (lanes since removed from the
        settings, or every lane when none is declared now) back to the front of the queue, where
        they are routed again or taken as they are; how many elements each had."""
        prefix = self.keys.lane("")
        declared = {self.keys.lane(n) for n in self.lane_names}
        moved: dict[str, int] = {}
        for raw in self._r.scan_iter(match=glob_escape(prefix) + "*", count=500):
            key = raw.decode("utf-8", "replace")
            if key in declared:
                continue
            moved[key[len(prefix) :]] = int(self._r.llen(key))
            while int(self._script(scripts.MOVE_KEY)(keys=[key, self.keys.queue], args=["keep", 1000])) == 2:
                pass
        return moved

    def promote(self, now: float) -> int:
        """Move the scheduled tasks due by ``now`` into their lanes; how many moved (at most
        ``PROMOTE_MAX``: call again while it says so)."""
        names, lists = self._lane_list() if self.lanes_declared else ([], [])
        keys = [self.keys.scheduled, self.keys.queue, *lists]
        args: list[str | int] = [repr(now), PROMOTE_MAX, self.keys.prefix, *names]
        return int(self._script(scripts.PROMOTE)(keys=keys, args=args))

    def cancelled(self, task_id: str | None, campaign: str | None) -> bool:
        """Whether the task with this id, or its campaign, was cancelled."""
        keys = []
        if task_id is not None:
            keys.append(self.keys.cancel_id(task_id))
        if campaign is not None:
            keys.append(self.keys.cancel_campaign(campaign))
        return bool(keys) and int(self._r.exists(*keys)) > 0

    def origin_args(self, worker_id: str) -> tuple[list[str], list[str]]:
        """KEYS and the lane-names ARGV the scripts that put elements back take after their own:
        the origin hash and each lane's list, and the lanes' names."""
        names, lists = (list(self.lane_names), [self.keys.lane(n) for n in self.lane_names])
        return [self.keys.origin(worker_id), *lists], names
