"""The line each Redis failure becomes: what was tried, what happened, what to do; in both languages."""
# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import pytest
import redis
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smsworker.cli.redis_problems import redis_problem
from smsworker.config.settings import load_settings
from smsworker.store.errors import (
    IsASentinel,
    NoClusterNodeAnswered,
    NoSentinelAnswered,
    NotAClusterNode,
    NotASentinel,
    PrimaryDown,
    PrimaryUnknown,
)
from smsworker.store.target import RedisTarget

SECRET = "S3cr3t-pw-41"
URL = RedisTarget.of(f"redis://app:{SECRET}@db.example:6380/0")
SENTINELS = RedisTarget.of(
    f"redis://:{SECRET}@127.0.0.1:6379/0", sentinels=(("s1", 26379), ("s2", 26379)), master="orders"
)
CLUSTER = RedisTarget.of("redis://127.0.0.1:6379/0", cluster=(("n1", 7000), ("n2", 7001)))
REFUSED = "Error 111 connecting to s2:26379. Connection refused."
# What redis-py's own MasterNotFoundError says: its pools' representations, a thousand characters.
POOLS = (
    "No master found for 'orders' : <redis.client.Redis(<redis.connection.ConnectionPool("
    "<redis.connection.Connection(host=s1,port=26379,password=<REDACTED>)>)>)> - network:ConnectionError"
)
# The longest a line may be: what it says, and no more than a part of any text it quotes.
LONGEST = 400

TABLE = [
    (NoSentinelAnswered(REFUSED), SENTINELS, ["no sentinel answered at s1:26379, s2:26379", "--sentinel"]),
    (PrimaryUnknown("orders"), SENTINELS, ["knows a primary named 'orders'", "check --sentinel-master"]),
    (PrimaryDown("orders"), SENTINELS, ["say the primary 'orders' is down", "wait for their failover"]),
    (
        NotASentinel("s1:26379", "unknown command 'SENTINEL', with args beginning with: 'MASTERS'"),
        SENTINELS,
        ["is s1:26379 a Sentinel?", "(unknown command 'SENTINEL')", "use --redis-url"],
    ),
    (
        IsASentinel("db.example:6380"),
        URL,
        ["is a Sentinel", "--sentinel db.example:6380", "not as --redis-url"],
    ),
    (NoClusterNodeAnswered(REFUSED), CLUSTER, ["no Redis Cluster node answered at n1:7000, n2:7001"]),
    (NotAClusterNode("This instance has cluster support disabled"), CLUSTER, ["use --redis-url"]),
    (
        redis.AuthenticationError("invalid username-password pair"),
        SENTINELS,
        ["the primary 'orders' found by the sentinels s1:26379, s2:26379 refused", "--redis-password-file"],
    ),
    (redis.TimeoutError("Timeout reading from socket"), URL, ["did not answer in time"]),
    (redis.ResponseError("DB index is out of range"), URL, ["no such database", "'databases'"]),
    (
        redis.ConnectionError(REFUSED),
        URL,
        ["cannot reach Redis at redis://app:***@db.example:6380/0", "Is redis-server running?"],
    ),
    (redis.ConnectionError(REFUSED), SENTINELS, ["name a primary 'orders' that does not answer"]),
    (redis.ConnectionError(REFUSED), CLUSTER, ["no Redis Cluster node answered", "Check --redis-cluster"]),
    (redis.ConnectionError(POOLS), SENTINELS, ["No master found for 'orders'"]),
    (redis.ResponseError("WRONGTYPE Operation against a key"), URL, ["check --queue"]),
    (redis.exceptions.NoPermissionError("this user has no permissions"), URL, ["the ACL user lacks"]),
    (
        redis.exceptions.MovedError("3999 127.0.0.1:6381"),
        URL,
        ["this is a cluster node: set --redis-cluster"],
    ),
    (redis.DataError("Invalid input of type: 'dict'"), URL, ["talking to Redis at"]),
]


@pytest.mark.parametrize(("exc", "target", "named"), TABLE, ids=lambda v: type(v).__name__)
def test_each_failure_is_one_line_naming_what_was_tried(
    exc: redis.RedisError, target: RedisTarget, named: list[str]
) -> None:
    line = redis_problem(exc, target).en
    for name in named:
        assert name in line, line
    assert len(line.splitlines()) == 1 and len(line) < 300, line
    assert SECRET not in line and "<redis." not in line and "ConnectionPool" not in line
    if target.kind != "url":  # the URL gives nodes their password at most, never their address
        assert "6379/0" not in line


def test_each_failure_has_its_chinese_line() -> None:
    for exc, target, _ in TABLE:
        text = redis_problem(exc, target)
        assert text.zh != text.en and len(text.zh.splitlines()) == 1


def test_in_chinese() -> None:
    text = redis_problem(PrimaryUnknown("orders"), SENTINELS)
    assert text.shown({"LANG": "zh_CN.UTF-8"}) == (
        "哨兵 s1:26379, s2:26379 都不知道名为 'orders' 的主节点：请检查 --sentinel-master"
        "（在哨兵上执行 SENTINEL MASTERS 可列出名字）"
    )
    assert text.shown({"LANG": "en_US.UTF-8"}).startswith("no sentinel at s1:26379, s2:26379 knows")


def test_many_nodes_are_counted_not_listed() -> None:
    nodes = tuple((f"10.0.0.{n}", 7000) for n in range(40))
    text = redis_problem(NoClusterNodeAnswered(REFUSED), RedisTarget.of("redis://h/0", cluster=nodes))
    assert "10.0.0.0:7000, 10.0.0.1:7000, 10.0.0.2:7000 and 37 more" in text.en
    assert "等 40 个" in text.zh


def test_the_settings_name_their_target_and_keep_the_password_secret(tmp_path: object) -> None:
    target = load_settings(
        {"sentinels": ("s1:26379",), "sentinel_master": "orders"},
        {"SMSWORKER_REDIS_URL": f"redis://:{SECRET}@db:6379/0"},
    ).redis_target()
    assert (target.kind, target.sentinels, target.master) == ("sentinel", (("s1", 26379),), "orders")
    assert SECRET not in repr(target) and target.url == "redis://:***@db:6379/0"
    assert target.hide(f"AUTH {SECRET} failed") == "AUTH *** failed"


def test_without_a_target_the_line_still_says_redis() -> None:
    assert redis_problem(redis.ConnectionError(REFUSED)).en.startswith("cannot reach Redis: Error 111")


FAILURES = st.sampled_from(
    [
        redis.RedisError,
        redis.ConnectionError,
        redis.TimeoutError,
        redis.ResponseError,
        redis.AuthenticationError,
        IsASentinel,
        NotASentinel,
        NoSentinelAnswered,
        NoClusterNodeAnswered,
        NotAClusterNode,
        PrimaryUnknown,
        PrimaryDown,
    ]
)
hosts = st.text(min_size=1, max_size=120)
addresses = st.lists(st.tuples(hosts, st.integers(1, 65535)), min_size=1, max_size=5).map(tuple)


@st.composite
def targets(draw: st.DrawFn, secret: str) -> RedisTarget:
    url = f"redis://{draw(st.sampled_from(['', 'app']))}:{secret}@{draw(hosts)}:6379/0"
    kind = draw(st.sampled_from(["url", "sentinel", "cluster"]))
    if kind == "sentinel":
        return RedisTarget.of(url, sentinels=draw(addresses), master=draw(st.text(min_size=1, max_size=120)))
    return RedisTarget.of(url, cluster=draw(addresses) if kind == "cluster" else ())


@settings(max_examples=200)
@given(
    FAILURES,
    st.text(max_size=400),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=40).map(lambda s: "pw-" + s),
    st.data(),
)
def test_any_failure_at_any_target_is_one_short_line_without_the_secret(
    failure: type[redis.RedisError], said: str, secret: str, data: st.DataObject
) -> None:
    target = data.draw(targets(secret))
    assume(not any(secret in host for host, _ in target.sentinels + target.cluster))
    assume(secret not in target.master and secret not in target.url.replace("***", ""))
    words = said + data.draw(st.sampled_from(["", f" AUTH {secret}", f"redis://u:{secret}@h/0 <{said}>"]))
    exc = failure("h:1", words) if failure is NotASentinel else failure(words)
    text = redis_problem(exc, target)
    for line in (text.en, text.zh):
        assert len(line.splitlines()) == 1, line
        assert len(line) <= LONGEST, line
        assert secret not in line, line
