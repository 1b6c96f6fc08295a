"""Cross-task batching: units of different tasks that carry the same message share one request.

PHP apps often push one task per user with the same template and text. Once claimed, such tasks'
units are grouped into one provider request of up to the provider's batch size; each task still
settles on its own from its share of the answer (``UnitSender.run_group``). What may share a
request is decided here and nowhere else:

- the same template, content and params (what goes on the wire beside the numbers);
- no ``id``: a task pushed with one travels alone, so its id reaches the provider as its own
  (the webhook's ``id``, Alibaba's ``OutId``, Tencent's ``SessionContext``);
- no progress key: a task sent in several requests (more numbers than a batch, or an id) records
  each request's recipients under its key, and may have to wait for another claimant's reservations
  (``send_unit.py``); such waits inside a shared request could wait on each other, so its units go
  alone. A task of one request has no key, and never waits;
- no number twice in one request: a unit whose numbers are already in the open group starts a new one.

Nothing waits to fill a group: the fetch loop groups what one claim round brought, so a lone task
goes out at once, alone.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field

from smsworker.worker.flight import TaskInFlight
from smsworker.worker.intake import Unit


@dataclass(frozen=True)
class Member:
    """One task's unit in a group."""

    flight: TaskInFlight
    unit: Unit


@dataclass
class _Group:
    members: list[Member] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    gained: int = 0  # members added since the grouper last handed groups out


class Grouper:
    """Collects units and hands them out as groups, in the order of each group's first unit.

    ``size`` is the provider's batch size: a group never holds more numbers. Full groups can be
    handed out as soon as they fill (``take_full``), and those unlikely to grow after each claim
    (``take_settled``); ``take_all`` empties the grouper.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._open: dict[Hashable, _Group] = {}
        self._order: list[_Group] = []  # every group not yet handed out, oldest first
        self.handed_out = 0  # groups taken from it so far (take_full, take_all)

    def add(self, flight: TaskInFlight, unit: Unit) -> None:
        member = Member(flight, unit)
        key = self._key(member)
        if key is None or len(unit.mobiles) >= self._size:
            self._order.append(_Group([member], set(unit.mobiles), gained=1))
            return
        group = self._open.get(key)
        numbers = set(unit.mobiles)
        if group is not None and (
            len(group.numbers) + len(numbers) > self._size or not group.numbers.isdisjoint(numbers)
        ):
            del self._open[key]  # full, or it has one of these numbers: it is done growing
            group = None
        if group is None:
            group = _Group()
            self._open[key] = group
            self._order.append(group)
        group.members.append(member)
        group.numbers |= numbers
        group.gained += 1
        if len(group.numbers) == self._size:
            del self._open[key]

    def groups(self) -> int:
        """Groups made so far, handed out or not."""
        return self.handed_out + len(self._order)

    def pending(self) -> int:
        """Groups collected and not handed out yet: each needs a sender of its own."""
        return len(self._order)

    def take_full(self) -> list[list[Member]]:
        """The groups that cannot grow any more, oldest first; open ones stay."""
        open_groups = {id(g) for g in self._open.values()}
        full = [g for g in self._order if id(g) not in open_groups]
        self._order = [g for g in self._order if id(g) in open_groups]
        self.handed_out += len(full)
        return [g.members for g in full]

    def take_settled(self, lanes: Collection[str] | None = None) -> list[list[Member]]:
        """The groups unlikely to grow, oldest first: full ones, and those that gained one member or
        none since the last hand-out (a lone one-time code, a personalised message). A group that
        gained several is fed by a stream of tasks with one message, and stays open to fill up; so a
        code claimed beside a campaign goes out after the claim that brought it, not the round.
        ``lanes``: only the groups of those lanes are looked at (the others' counts go on)."""
        open_groups = {id(g) for g in self._open.values()}
        looked = [g for g in self._order if lanes is None or g.members[0].flight.lane in lanes]
        settled = [g for g in looked if g.gained <= 1 or id(g) not in open_groups]
        kept = {id(g) for g in settled}
        self._order = [g for g in self._order if id(g) not in kept]
        self._open = {k: g for k, g in self._open.items() if id(g) not in kept}
        for group in looked:
            group.gained = 0
        self.handed_out += len(settled)
        return [g.members for g in settled]

    def take_all(self) -> list[list[Member]]:
        groups, self._order = self._order, []
        self._open.clear()
        self.handed_out += len(groups)
        return [g.members for g in groups]

    @staticmethod
    def _key(member: Member) -> Hashable | None:
        """What must be equal for two units to share a request; None: this one travels alone."""
        task = member.flight.task
        if task.task_id is not None or member.flight.progress_key is not None or member.unit.contested:
            return None
        params = None if task.params is None else json.dumps(task.params, sort_keys=True, default=str)
        return (member.flight.lane, str(type(task.template_id)), task.template_id, task.content, params)
