"""Every key of a queue lands in the queue's own Redis Cluster slot, whatever the queue is called:
searched over names with braces, colons and any Unicode, against redis-py's own slot function.
A name for which that cannot hold is refused by the settings, in one line naming ``queue``."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from redis.crc import key_slot

from smsworker.app import build_queue
from smsworker.config.settings import load_settings
from smsworker.errors import ConfigError, StartupError
from smsworker.store.connect import same_slot
from smsworker.store.keys import Keys, default_dead_letter_key, hash_tag, key_prefix

names = st.text(alphabet=st.sampled_from("ab{}:é短信_"), min_size=1, max_size=12) | st.text(
    min_size=1, max_size=12
)


def every_key(keys: Keys) -> list[str]:
    w = "host:1:abc"
    return [
        keys.dead,
        keys.workers,
        keys.stats,
        keys.awaiting,
        keys.changes,
        keys.layout,
        keys.processing(w),
        keys.heartbeat(w),
        keys.settle_marker(w),
        keys.ratelimit("aliyun"),
        keys.status("order-1"),
        keys.payload("t0k"),
        keys.receipt("tencent", "2433:1", "+8613800138000"),
        str(keys.progress("order-1", None)),
        str(keys.progress(None, "t0k")),
        keys.lane("otp"),
        keys.scheduled,
        keys.paused,
        keys.parked("spring"),
        keys.cancel_id("order-1"),
        keys.cancel_campaign("spring"),
        keys.campaign("spring"),
        keys.campaigns,
        keys.origin(w),
    ]


@given(queue=names)
@example(queue="sms_queue")
@example(queue="{app}:sms")
@example(queue="a}b")
@example(queue="{}x")
@example(queue="x{")
def test_every_key_shares_the_queue_slot_or_the_name_is_refused(queue: str) -> None:
    assume(queue == queue.strip())  # the settings strip a name; what is left is the queue
    elsewhere = hash_tag(queue) is None and hash_tag(key_prefix(queue)) != queue
    try:
        settings = load_settings({"queue": queue}, {})
    except ConfigError as exc:
        assert str(exc).startswith("invalid queue") and "\n" not in str(exc)
        # Refused for its braces only when they would really put the keys elsewhere.
        assert elsewhere == ("hash tag" in str(exc))
        return
    assert not elsewhere
    keys = Keys(settings.queue, settings.dead_letter_key)
    slot = key_slot(queue.encode("utf-8", "surrogatepass"))
    assert {key_slot(key.encode()) for key in every_key(keys)} == {slot}
    assert settings.dead_letter_key == default_dead_letter_key(queue)


def test_the_default_queue_keys_read_as_documented() -> None:
    keys = Keys("sms_queue", default_dead_letter_key("sms_queue"))
    assert keys.dead == "{sms_queue}:dead" and keys.processing("w") == "{sms_queue}:processing:w"
    assert Keys("{app}:sms", default_dead_letter_key("{app}:sms")).dead == "{app}:sms:dead"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (
            {"redis_cluster": ("a:7000",), "sentinels": ("s:26379",)},
            {},
            "invalid redis_cluster with sentinels",
        ),
        ({"redis_cluster": ("a:7000",)}, {"SMSWORKER_REDIS_URL": "redis://a:7000/2"}, "only database 0"),
        ({"redis_cluster": ("a:port",)}, {}, "invalid redis_cluster"),
    ],
)
def test_cluster_settings_that_cannot_work_are_one_line(
    flags: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(flags, env)
    assert "\n" not in str(info.value)


def test_a_dead_letter_list_outside_the_queue_slot_is_refused_on_a_cluster_before_connecting() -> None:
    settings = load_settings({"redis_cluster": ("127.0.0.1:1",), "dead_letter_queue": "sms_dead"}, {})
    with pytest.raises(
        StartupError, match=r"must share the slot of the queue 'sms_queue'.*\{sms_queue\}:dead"
    ):
        build_queue(settings)


@given(names)
def test_same_slot_agrees_with_the_cluster_slot_of_each_key(queue: str) -> None:
    keys = Keys(queue, default_dead_letter_key(queue))
    assert same_slot(keys.queue, keys.dead, keys.stats) == (
        len({key_slot(k.encode()) for k in (keys.queue, keys.dead, keys.stats)}) == 1
    )
    assert same_slot(keys.queue) and same_slot()
    assert not same_slot("a", "b")  # slots 15495 and 3300
