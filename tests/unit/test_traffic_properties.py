"""Traffic control against the worker's own parts, searched: nothing lost, twice, early or paused.

Producers push tasks into the queue (routed to the lanes otp, bulk and default by template or by a
``lane`` field), straight into a lane's list, with a ``send_at`` ahead, into a lane with quiet hours,
in campaigns; one worker (``worker_rig.py``) claims, reads in, sends and settles them one step at a
time, while operators pause and resume (all, a lane, the provider, a campaign: its tasks are
parked), cancel tasks and campaigns, the clock moves on, and the worker dies (another recovers its
list and a new one starts) or is taken for dead while alive. Whatever the order:

- every recipient ends once: sent, dead-lettered or cancelled (a cancelled one only of a cancelled
  task or campaign), as the counters, status hashes and campaign counts say; only a recipient a
  recovered worker had sent and not recorded may be sent again (once more per recovery);
- no request starts while its lane, its campaign, the provider or all is paused, before its task's
  ``send_at`` (or a deferred copy's), for a bulk number read in inside its quiet hours, or for a task
  read in after it was cancelled;
- each lane hands out its tasks first in the order they entered it (the queue's pushes in push
  order, a lane's direct pushes in theirs): the first claim of each task, since a task put back
  (recovered, parked, scheduled) goes to the front of its lane on purpose.

The clock is the test's (``WorkerOptions.now``), moved by steps; the ticker ticks when a step says.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.traffic_run import Traffic
from tests.support.traffic_steps import STEPS, Cancel, Claim, Clock, Crash, Push, Send, Step, Takeover


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(1, 3), steps=STEPS)
def test_no_interleaving_of_traffic_control_loses_sends_twice_or_sends_what_must_wait(
    batch: int, steps: list[Step]
) -> None:
    Traffic(batch, strict=False).run(steps)


# A race the search found that a cancel cannot see: a worker taken for dead while sending (frozen,
# cut off) goes on with its request when it wakes, while the task's new reader, seeing the cancel,
# records the recipient cancelled. The recipient is sent once and its status says cancelled. The
# property lets it pass (``strict=False``); this case keeps it in sight.
KNOWN = "a cancel read while a worker taken for dead still sends records a sent recipient cancelled"


@pytest.mark.parametrize(
    ("batch", "steps"),
    [
        pytest.param(  # each recovery may send again what was sent and not recorded: here twice
            1,
            [Push("t1"), Claim(), Send(), Takeover(stamped=False), Claim(), Send(), Crash()],
            id="resent-once-per-recovery",
        ),
        pytest.param(
            1,
            [Push("t1", with_id=True), Claim(), Send(), Crash(), Cancel()],
            id="cancel-after-crash-mid-task",
        ),
        pytest.param(
            1,
            [Push("t1", size=2, campaign="c1"), Claim(), Send(), Crash()],
            id="sent-before-a-crash-uncounted",
        ),
        pytest.param(
            1,
            [Push("t2", size=2), Claim(), Send(), Send(), Clock(250), Crash()],
            id="quiet-hours-after-a-crash-resend",
        ),
        pytest.param(
            1,
            [Push("t1", with_id=True), Claim(), Takeover(stamped=False), Cancel(), Claim()],
            marks=pytest.mark.xfail(strict=True, reason=KNOWN, raises=AssertionError),
            id="cancel-after-takeover-mid-task",
        ),
    ],
)
def test_interleavings_the_search_found(batch: int, steps: list[Step]) -> None:
    Traffic(batch).run(steps)
