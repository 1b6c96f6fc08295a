"""What a traffic run is made of (``traffic_run.py``): the steps, as dataclasses a found case is
written with, their strategies, the numbers pushed and the provider that watches each request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.testing import FakeProvider

T0 = 1_800_000_350  # not inside anyone's quiet hours
PERIOD = 1000  # quiet hours come back every PERIOD seconds of the test's clock
FAR = 400 * 86400  # a send_at past the horizon: dead-lettered as invalid
MAX_RECOVERIES = 3  # fewer than poison_after: no task is set aside as poison
SCOPES = (
    "all",
    "lane:otp",
    "lane:bulk",
    "lane:default",
    "provider:fake",
    *["campaign:c1", "campaign:c2"] * 2,
)
# How a task is pushed: by template (1 otp, 2 bulk, 3 default), by lane field, or into a lane's list.
HOWS = (
    "t1",
    "t2",
    "t3",
    "t1",
    "t2",
    "t3",
    "field:otp",
    "direct:otp",
    "direct:bulk",
    "direct:default",
    "field:nope",
)
LANE_OF = {"t1": "otp", "t2": "bulk", "t3": "default", "field:otp": "otp", "field:nope": "default"}


def quiet_until(mobile: str, now: float) -> float | None:
    """Bulk's quiet hours: even numbers are quiet for the first 300 s of each period, odd ones from
    600 s to 700 s; when they end, or None outside them."""
    start, end = (0, 300) if int(mobile[-1]) % 2 == 0 else (600, 700)
    into = now % PERIOD
    return now - into + end if start <= into < end else None


# The steps (each a dataclass, so a found case reads as Python and goes into an @example as is).
@dataclass(frozen=True)
class Push:
    how: str = "t3"
    size: int = 1
    with_id: bool = False
    send_in: int | None = None
    campaign: str | None = None
    refused: bool = False  # its first number is refused for good: dead-lettered


@dataclass(frozen=True)
class Claim:
    read: bool = True


@dataclass(frozen=True)
class Read:
    pass


@dataclass(frozen=True)
class Send:
    unit: int = 0
    together: int = 1


@dataclass(frozen=True)
class Commit:
    pass


@dataclass(frozen=True)
class Crash:
    """The worker dies; another recovers its list; a new worker starts."""


@dataclass(frozen=True)
class Takeover:
    """Another worker takes this live one for dead and recovers its list."""

    stamped: bool = True


@dataclass(frozen=True)
class Pause:
    scope: str = "all"


@dataclass(frozen=True)
class Resume:
    scope: str = "all"
    tick: bool = True


@dataclass(frozen=True)
class Cancel:
    task: int = 0  # among the tasks pushed with an id


@dataclass(frozen=True)
class CancelCampaign:
    name: str = "c1"


@dataclass(frozen=True)
class Clock:
    seconds: int = 100


@dataclass(frozen=True)
class Tick:
    pass


Step = (
    Push
    | Claim
    | Read
    | Send
    | Commit
    | Crash
    | Takeover
    | Pause
    | Resume
    | Cancel
    | CancelCampaign
    | Clock
    | Tick
)

PUSH = st.builds(
    Push,
    how=st.sampled_from(HOWS),
    size=st.integers(1, 4),
    with_id=st.booleans(),
    send_in=st.sampled_from([None, None, None, None, -5, 30, 300, 2000, FAR]),
    campaign=st.sampled_from([None, None, "c1", "c2"]),
    refused=st.sampled_from([False, False, False, True]),
)
CLAIM = st.builds(Claim, st.booleans())
SEND = st.builds(Send, st.integers(0, 9), st.integers(1, 3))
PAUSE = st.builds(Pause, st.sampled_from(SCOPES))
RESUME = st.builds(Resume, st.sampled_from(SCOPES), st.booleans())
# Pushes, claims and sends are what a run is mostly made of: repeated, they weigh more in the draw.
WEIGHED: list[st.SearchStrategy[Step]] = [
    *[PUSH] * 5,
    *[CLAIM] * 4,
    *[SEND] * 4,
    *[st.just(Commit())] * 2,
    *[PAUSE] * 2,
    *[RESUME] * 2,
    st.just(Read()),
    st.just(Crash()),
    st.builds(Takeover, st.booleans()),
    st.builds(Cancel, st.integers(0, 9)),
    st.builds(CancelCampaign, st.sampled_from(["c1", "c2"])),
    st.builds(Clock, st.sampled_from([1, 50, 250, 400, 1000, 2500])),
    st.just(Tick()),
]


def _itself(step: st.SearchStrategy[Step]) -> st.SearchStrategy[Step]:
    return step


STEP = st.sampled_from(WEIGHED).flatmap(_itself)
# Runs of a few dozen steps, shrinking well: a list of short lists, flattened.
STEPS = st.lists(st.lists(STEP, max_size=8), max_size=8).map(lambda runs: [s for run in runs for s in run])


def number(task: int, recipient: int) -> str:
    return f"1390{task:04d}{recipient:03d}"


def task_index(mobile: str) -> int:
    return int(mobile.removeprefix("+86")[4:8])


@dataclass
class Pushed:
    """What the test pushed, as the test knows it."""

    index: int
    mobiles: list[str]
    lane: str
    path: str  # "queue" or "direct"
    task_id: str | None
    send_at: float | None
    campaign: str | None
    invalid: bool


class Watched(FakeProvider):
    """The fake provider, asking the test about each request before it takes it."""

    def __init__(self, batch: int, check: Callable[[OutgoingMessage], None]) -> None:
        super().__init__(max_batch_size=batch)
        self.check = check
        self.accepted: Counter[str] = Counter()  # E.164 -> times taken

    def send(self, message: OutgoingMessage) -> SendResult:
        self.check(message)
        result = super().send(message)
        self.accepted.update(m for m in message.mobiles if m not in result.failed)
        return result
