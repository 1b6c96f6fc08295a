"""The fetch thread's claims: how many to ask for, and what becomes of each element claimed.

The fetch thread is the only one that claims, so ``Holdings`` and the processing list can be
compared between claims (``reconcile.py``). A claim round reads each element in (``intake.py``),
groups the units (``grouping.py``) and hands each group to a sender, a free slot each. How many a
round claims is a pure policy (``first_claim_size``, ``next_claim_size``), tested as a table.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from smsworker.worker.flight import Claim, Claimed, FlightRegistry, Holdings, TaskInFlight
from smsworker.worker.grouping import Grouper, Member
from smsworker.worker.guarded import RedisGaveUp, WorkerRedis
from smsworker.worker.intake import Intake, Rejected
from smsworker.worker.lanes import LanePlanner
from smsworker.worker.pauses import PauseView
from smsworker.worker.reconcile import Reconciler
from smsworker.worker.send_pool import SendPool
from smsworker.worker.send_unit import UnitSender
from smsworker.worker.settle import Settler
from smsworker.worker.stopping import Stopping

# Elements one claim round may gather for grouping: bounds what a worker holds unsent at once.
ROUND_MAX = 5000
# The most one claim of a round takes: a one-time code claimed next waits for no more than this
# many tasks to be read in before it (a round still gathers up to ROUND_MAX, a claim at a time).
CLAIM_STEP_MAX = 100
# How often a wait for a sender looks for work of the lanes that have senders of their own, and
# after how many tasks read in of another lane's claim.
RESERVED_LOOK_S = 0.005
RESERVED_EVERY = 16
# With lanes, or with the queue paused, an idle worker looks again this often: what is pushed to a
# lane directly, a scheduled task come due and a resume wake nobody.
LOOK_AGAIN_S = 0.25


def first_claim_size(free: int, group_size: int) -> int:
    """What a round's first claim asks for: one task per free sender. With grouping, a lone free
    sender asks for two, to learn whether the queue's tasks share requests."""
    return free if group_size == 1 else max(free, 2)


def next_claim_size(
    *, free: int, group_size: int, asked: int, got: int, claimed: int, groups: int, new_groups: int
) -> int:
    """What the round's next claim asks for; 0: the round claims no more.

    ``asked`` and ``got`` are the last claim's; ``claimed`` counts the round's elements so far,
    ``groups`` its groups (each needs a sender) and ``new_groups`` those the last claim added. While
    the queue is deep (the last claim got all it asked for) and what came shares requests, claim
    more, doubling, up to ``free`` full requests' worth: so there is something to group. Stop at
    the first claim whose tasks did not group once there are as many requests as free senders, so
    lone tasks (one-time codes) are held back by one claim at most.
    """
    room = min(free * group_size, ROUND_MAX) - claimed
    shared = new_groups < got  # some of the last claim's units went into groups already open
    want_more = groups < free or (groups == free and shared)
    if got < asked or room <= 0 or not want_more:
        return 0
    return min(claimed, room)


class Claims:
    """Claims, reads in, groups and starts; dead-letters what cannot be read."""

    def __init__(
        self,
        redis: WorkerRedis,
        *,
        holdings: Holdings,
        flights: FlightRegistry,
        intake: Intake,
        settler: Settler,
        settle: Callable[[TaskInFlight], None],
        still_ours: Callable[[Claimed], bool],
        reconciler: Reconciler,
        pool: SendPool,
        sender: UnitSender,
        stopping: Stopping,
        group_size: int,
        tick_s: float,
        planner: LanePlanner,
        pauses: PauseView,
        lanes_declared: bool,
        chains: Mapping[str, Sequence[str]],
    ) -> None:
        self._redis = redis
        self._holdings = holdings
        self._flights = flights
        self._intake = intake
        self._settler = settler
        self._settle = settle  # a task with nothing left to send
        self._still_ours = still_ours
        self._reconciler = reconciler
        self._pool = pool
        self._sender = sender
        self._stopping = stopping
        self.group_size = group_size  # units of different tasks one request may carry
        self._tick_s = tick_s  # how often a wait for a slot looks up (stop, reconcile)
        self.claimed_any = False  # nothing claimed, nothing to put back at shutdown
        self._claimed_at = time.monotonic()  # when the elements being read in were claimed
        self._planner = planner
        self._pauses = pauses
        self._lanes_declared = lanes_declared
        self._chains = chains  # each lane's providers, by name: a lane whose every one is paused waits
        # The lane of each element claimed and not read in yet (equal elements: one entry each).
        self._lane_of: defaultdict[bytes, list[str]] = defaultdict(list)

    def wait_free(self) -> int:
        """Wait for a free sender; how many are free, 0 once stopping."""
        return self._pool.wait_free(tick_s=self._tick_s, on_tick=self._reconciler.run_if_due)

    def claim(self, count: int, *, block: bool) -> list[bytes]:
        """Up to ``count`` tasks in one round trip, from the lanes in the planner's order; with none
        to take and ``block``, wait for a push (at most a tick), so an idle worker still answers a
        push at once."""
        self._claimed_at = time.monotonic()
        elements = self._take(count)
        if not elements and block:
            elements = self._wait_and_take(count)
        if elements:
            self.claimed_any = True
        return elements

    def _take(self, count: int) -> list[bytes]:
        # No more of a lane than it could start now (a sender's request carries up to a group of
        # tasks): another lane's reserved senders are not its own, and none of a lane whose every
        # provider is paused.
        held = self.held_lanes()
        plan = [
            (lane, 0 if lane in held else min(most, self._pool.free_for(lane) * self.group_size))
            for lane, most in self._planner.plan(count)
        ]
        return [element for _, element in self._take_plan(plan, count)]

    def _take_plan(self, plan: list[tuple[str, int]], total: int) -> list[tuple[str, bytes]]:
        """Take by ``plan``, tell the planner, and hold each element with its lane."""
        taken = self._redis.take(plan, total)
        self._planner.record([lane for lane, _ in taken.elements], taken.lengths)
        for lane, element in taken.elements:
            self._hold(lane, element)
        return taken.elements

    def _hold(self, lane: str, element: bytes) -> None:
        """Held before any is started (see reconcile.py), and its lane kept until it is read in."""
        self._holdings.add(element)
        self._lane_of[element].append(lane)

    def _wait_and_take(self, count: int) -> list[bytes]:
        if self._lanes_declared:
            if self._redis.wait_for_push(min(self._tick_s, LOOK_AGAIN_S)):
                return self._take(count)
            return []
        if "default" in self.held_lanes():
            self._stopping.wait(LOOK_AGAIN_S)
            return []
        element = self._redis.claim(self._tick_s)
        if element is None:
            return []
        self._hold("default", element)
        return [element]

    def held_lanes(self) -> set[str]:
        """The lanes nothing may be sent on now (paused, or every provider of theirs paused)."""
        return self._pauses.held(self._chains)

    def lane_of(self, element: bytes) -> str:
        """The lane ``element`` was claimed from (forgotten once asked)."""
        lanes = self._lane_of.get(element)
        if not lanes:
            return "default"
        lane = lanes.pop(0)
        if not lanes:
            del self._lane_of[element]
        return lane

    def start(self, elements: list[bytes], free: int, asked: int) -> None:
        """Start what was claimed; an element a worker already died holding is started alone.

        Alone means nothing else held: the rest of the claim goes back to the front of the queue
        and what is in flight finishes first. If it kills this worker too, it is the only element
        whose crash count goes up, so tasks claimed beside a poison pill are not quarantined with it.
        """
        suspect = next((i for i, e in enumerate(elements) if self._intake.suspect(e)), None)
        if suspect is None:
            self._start_round(elements, free, asked)
            return
        self._put_back(elements[:suspect] + elements[suspect + 1 :])
        self._quiesce()
        self._start_round([elements[suspect]], 1, 1)
        self._quiesce()

    def _start_round(self, elements: list[bytes], free: int, asked: int) -> None:
        """Read the claimed elements in and hand their groups out, claiming more while
        ``next_claim_size`` says so. After each claim, the groups that cannot or are unlikely to
        grow go out (full ones; those the claim added one task to or none: a one-time code); the
        rest at the end of the round: nothing waits to fill a request."""
        grouper = Grouper(self.group_size)
        claimed, total, last = elements, 0, False
        while claimed:
            before = grouper.groups()
            if not self._read_claim(claimed, grouper):
                return  # stopping: what was not handed out stays unsettled, and is put back
            total += len(claimed)
            if last or self._stopping.requested:
                break
            groups = grouper.groups()
            asked = next_claim_size(
                free=free,
                group_size=self.group_size,
                asked=asked,
                got=len(claimed),
                claimed=total,
                groups=groups,
                new_groups=groups - before,
            )
            if not asked:
                break
            claimed, last = self._claim_more(min(asked, CLAIM_STEP_MAX))
        self._submit(grouper.take_all())

    def _read_claim(self, claimed: list[bytes], grouper: Grouper) -> bool:
        """Read one claim in, and hand out what will not grow: a claim holds its lanes one after
        the other, highest first, so the groups of a lane go out as soon as its elements are read,
        before the lanes below it are; then what else of the claim settled. False once stopping."""
        reading = None
        for n, element in enumerate(claimed, start=1):
            lanes = self._lane_of.get(element)
            lane = lanes[0] if lanes else "default"
            if reading is not None and lane != reading and not self._submit(grouper.take_settled({reading})):
                return False
            reading = lane
            self.read_in(element, grouper)
            if n % RESERVED_EVERY == 0 and (reserved := self._pool.reserved_lanes() - {lane}):
                self._serve_reserved(reserved)  # a code pushed meanwhile waits for no more than this
        return self._submit(grouper.take_settled())

    def _claim_more(self, count: int) -> tuple[list[bytes], bool]:
        """More elements for this round, and whether it is the last claim of it: a suspect among
        them goes back, to be started alone, and the rest of the claim is started with this round,
        which claims no more."""
        elements = self._take(count)
        suspects: list[bytes] = []
        rest: list[bytes] = []
        for element in elements:
            (suspects if self._intake.suspect(element) else rest).append(element)
        if not suspects:
            return rest, False
        self._put_back(suspects)
        return rest, True

    def _put_back(self, elements: list[bytes]) -> None:
        """Unclaim ``elements`` to the front of the queue: claimed beside a suspect, or suspects
        claimed beside others, to be started alone."""
        for element in elements:
            self._holdings.remove(element)
            self.lane_of(element)
        if elements:
            self._reconciler.put_back(elements, why="claimed beside a task a worker died holding")

    def _quiesce(self) -> None:
        """Wait until no unit is being sent and every outcome is recorded."""
        self._pool.wait_idle(None)
        self._settler.flush(None)

    def read_in(self, element: bytes, grouper: Grouper) -> None:
        """Read a claimed element in: its units go to ``grouper``; or dead-letter it."""
        lane = self.lane_of(element)
        try:
            if not self._still_ours(Claim(element, self._claimed_at)):
                # A frozen process receives a claim's reply only on waking: sending it would send it twice.
                self._holdings.remove(element)
                return
            read = self._intake.read(element, lane)
        except RedisGaveUp:
            return  # stopping with Redis away: the element stays in the processing list
        if isinstance(read, Rejected):
            self._settler.reject(read)
            return
        flight = read.flight
        if flight.element != element:
            self._holdings.replace(element, flight.element)
        self._flights.add(flight)
        if not read.units:
            self._settle(flight)
        for unit in read.units:
            grouper.add(flight, unit)

    def _submit(self, groups: list[list[Member]]) -> bool:
        """Hand each group to a sender, in a slot of its own; False once stopping. While a group
        waits for a slot, lanes with senders of their own free are served meanwhile."""
        for members in groups:
            lane = members[0].flight.lane  # a group is of one lane (grouping.py)
            reserved = self._pool.reserved_lanes() - {lane}
            slot = self._pool.acquire(
                tick_s=RESERVED_LOOK_S if reserved else self._tick_s,
                on_tick=functools.partial(self._while_waiting, reserved),
                lane=lane,
            )
            if slot is None:
                return False  # stopping: the unsent rest keeps its tasks unsettled, and they are requeued
            self._pool.submit(functools.partial(self._sender.run_group, members), slot)
        return True

    def _while_waiting(self, reserved: set[str]) -> None:
        """While the fetch thread waits for a sender for one lane's group: the reconcile when due,
        and the lanes that keep senders of their own, if any is free. A one-time code then waits
        for no campaign's request to end: its lane's own sender takes it at once."""
        self._reconciler.run_if_due()
        self._serve_reserved(reserved)

    def _serve_reserved(self, reserved: set[str]) -> None:
        """Take, read in and start what the lanes of ``reserved`` hold, up to their own free
        senders: between the reads of a long claim and while waiting for a sender."""
        free = {lane: n for lane, n in self._pool.reserved_free().items() if lane in reserved and n}
        held = self.held_lanes()
        plan = [(lane, n) for lane, n in free.items() if lane not in held]
        if not plan or self._stopping.requested:
            return
        grouper = Grouper(1)  # each on its own: one of the lane's free senders each
        for _, element in self._take_plan(plan, sum(n for _, n in plan)):
            if self._intake.suspect(element):  # started alone, by the fetch loop, after this round
                self._put_back([element])
                continue
            self.read_in(element, grouper)
        self._submit(grouper.take_all())
