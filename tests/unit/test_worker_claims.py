"""The fetch thread's claims: how many a claim round asks for, and an element read in only if still ours."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from smsworker.store.queue import RedisQueue
from smsworker.testing import FakeProvider
from smsworker.worker.claiming import ROUND_MAX, first_claim_size, next_claim_size
from tests.support.worker_rig import ME, Rig


@pytest.mark.parametrize(
    ("free", "group_size", "expected"),
    [
        (4, 1, 4),  # no grouping: one task per free sender
        (1, 1, 1),
        (1, 100, 2),  # a lone sender asks for two, to learn whether tasks share requests
        (4, 100, 4),
    ],
)
def test_a_round_first_asks_for_a_task_per_free_sender(free: int, group_size: int, expected: int) -> None:
    assert first_claim_size(free, group_size) == expected


# free, group_size, asked, got, claimed, groups, new_groups -> the next claim's size (0: no more)
ROUNDS = [
    pytest.param(4, 100, 4, 3, 3, 1, 1, 0, id="queue not deep: the claim got less than it asked"),
    pytest.param(4, 1, 4, 4, 4, 4, 4, 0, id="no grouping: a task per sender is all there is room for"),
    pytest.param(4, 100, 4, 4, 4, 1, 1, 4, id="deep and shared: claim again, as many as so far"),
    pytest.param(4, 100, 4, 4, 8, 1, 0, 8, id="doubling"),
    pytest.param(2, 10, 10, 10, 18, 1, 0, 2, id="up to free full requests' worth"),
    pytest.param(2, 10, 10, 10, 20, 2, 1, 0, id="free full requests' worth claimed"),
    pytest.param(100, 100, 2495, 2495, 4990, 50, 25, 10, id="up to ROUND_MAX"),
    pytest.param(2, 100, 2, 2, 2, 2, 2, 0, id="lone tasks fill the senders: held back by one claim at most"),
    pytest.param(2, 100, 4, 4, 6, 2, 1, 6, id="as many requests as senders, and still sharing"),
    pytest.param(2, 100, 4, 4, 6, 3, 1, 0, id="more requests than senders"),
]


@pytest.mark.parametrize(
    ("free", "group_size", "asked", "got", "claimed", "groups", "new_groups", "expected"), ROUNDS
)
def test_a_round_claims_more_while_the_queue_is_deep_and_its_tasks_share(
    free: int,
    group_size: int,
    asked: int,
    got: int,
    claimed: int,
    groups: int,
    new_groups: int,
    expected: int,
) -> None:
    size = next_claim_size(
        free=free,
        group_size=group_size,
        asked=asked,
        got=got,
        claimed=claimed,
        groups=groups,
        new_groups=new_groups,
    )
    assert size == expected
    assert claimed + size <= min(free * group_size, ROUND_MAX)


def test_a_claim_taken_over_before_it_was_read_is_not_read(queue: RedisQueue) -> None:
    task = {"template_id": 1, "mobiles": ["13800138000", "13800138001"], "content": "x"}
    queue.push(json.dumps(task).encode())
    rig = Rig(queue, FakeProvider())
    assert rig.claim(read=False)
    # This process froze with the claim's reply on its way; taken for dead, its list went back.
    rig.recover(stamped=True)
    rig.lapsed = True
    rig.read()
    assert rig.pending == [] and rig.parts.holdings.snapshot() == Counter()
    assert rig.logs.events("task.taken_over") and rig.provider.sent_to() == []
    assert queue.processing(ME) == [] and queue.length() == 1


def test_a_claim_read_while_the_heartbeat_held_is_read_without_asking(queue: RedisQueue) -> None:
    queue.push(json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "x"}).encode())
    rig = Rig(queue, FakeProvider())
    assert rig.claim(read=False)
    queue.client.delete(queue.keys.processing(ME))  # not asked: the lease held, so it is ours
    rig.read()
    assert len(rig.pending) == 1 and not rig.logs.events("task.taken_over")
