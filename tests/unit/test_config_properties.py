"""Searching the settings for values that get through unchecked or errors that leak a secret."""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsworker.config.settings import SETTING_NAMES, Settings, load_settings
from smsworker.errors import ConfigError
from smsworker.redact import redact_url

NUMERIC = [
    name
    for name, value in Settings().__dict__.items()
    if name in SETTING_NAMES and isinstance(value, (int, float)) and not isinstance(value, bool)
]
# Durations feed time.monotonic() + s, Event.wait(s) and socket timeouts: a day is the most any takes.
SECONDS = {"http_timeout", "backoff_base", "backoff_max", "heartbeat_ttl", "shutdown_timeout"}

number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["inf", "-inf", "nan", "NaN", "1e999", "-0", "0", "1_000", " 7 ", "٣", "0x10", "", "true"]
    ),
    st.text(max_size=12),
)


@settings(max_examples=300)
@given(name=st.sampled_from(NUMERIC), text=number_text)
def test_every_numeric_setting_is_finite_in_range_or_a_one_line_error(name: str, text: str) -> None:
    try:
        value = getattr(load_settings({name: text}, {}), name)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("invalid ") and name in message and "\n" not in message
        if message.startswith(f"invalid {name} "):  # else a relation with another setting
            assert f"(from --{name.replace('_', '-')})" in message
        return
    assert math.isfinite(value) and value >= 0 and value < 2**31
    assert value == float(text.strip().replace("_", "")) or text.strip() == "٣"
    if name in SECONDS:
        assert 0 < value <= 86_400
    assert type(value) is type(getattr(Settings(), name))


password = st.text(string.ascii_letters + string.digits, min_size=8, max_size=20).map(lambda p: "Pw" + p)
BROKEN_REDIS_URLS = [
    "reddis://:{pw}@127.0.0.1:6379/0",
    "redis://:{pw}@127.0.0.1:notaport/0",
    "redis://:{pw}@127.0.0.1:99999/0",
    "redis://admin:{pw}@127.0.0.1:6379/abc",
    "redis://admin:{pw}@:6379/0",
    "redis://{pw}@127.0.0.1:0/0",
    "redis:/:{pw}@127.0.0.1",
    "redis://:{pw}@@127.0.0.1:x",
    "redis://:a:{pw}@127.0.0.1:6379/-1",
]


@given(pw=password, template=st.sampled_from(BROKEN_REDIS_URLS))
def test_a_broken_redis_url_never_echoes_its_password(pw: str, template: str) -> None:
    url = template.format(pw=pw)
    for flags, env in (({"redis_url": url}, {}), ({}, {"SMSWORKER_REDIS_URL": url})):
        with pytest.raises(ConfigError) as info:
            load_settings(flags, env)
        assert pw not in str(info.value) and "invalid redis_url" in str(info.value)


@given(secret=password)
def test_webhook_secrets_are_not_echoed(secret: str) -> None:
    cases: list[dict[str, Any]] = [
        {"http_url": f"ftp://hook.example/send?token={secret}"},
        {"http_url": f"https://user:{secret}@hook.example:99999/send"},
        {"http_headers": (f"Authorization Bearer {secret}",)},
        {"http_headers": (f"X-Token: {secret}\r\nX-Injected: 1",)},
    ]
    for flags in cases:
        with pytest.raises(ConfigError) as info:
            load_settings(flags, {})
        assert secret not in str(info.value)


def test_repeatable_flags_are_named_as_typed() -> None:
    for flags, flag in (
        ({"http_headers": ("NoColon",)}, "--http-header"),
        ({"rate_limits": ("fast",)}, "--rate-limit"),
        ({"sentinels": ("nohost",)}, "--sentinel"),
    ):
        with pytest.raises(ConfigError, match=f"\\(from {flag}\\)"):
            load_settings(flags, {})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:notaport/0", "the port must be a number between 1 and 65535"),
        ("redis://127.0.0.1:99999/0", "the port must be a number between 1 and 65535"),
        ("redis://127.0.0.1:6379/x", "the database must be a number"),
        ("redis:///0", "needs a host"),
        ("unix://", "needs the socket's path"),
    ],
)
def test_redis_urls_are_parsed_fully(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"redis_url": url}, {})


def test_database_number_comes_from_path_or_query() -> None:
    assert load_settings({"redis_url": "redis://h:1/7"}, {}).redis_db == 7
    assert load_settings({"redis_url": "unix:///run/redis.sock?db=3"}, {}).redis_db == 3
    assert load_settings({}, {}).redis_db == 0


@pytest.mark.parametrize("spec", ["nan/s", "inf/s", "aliyun=1e400/s", "0/s"])
def test_rate_limits_are_finite(spec: str) -> None:
    with pytest.raises(ConfigError, match="invalid rate_limits"):
        load_settings({"rate_limits": (spec,)}, {})


def test_redaction_keeps_what_helps() -> None:
    assert redact_url("redis://user:s3cret@db:6380/1") == "redis://user:***@db:6380/1"
    assert redact_url("redis://token@db") == "redis://***@db"
    assert redact_url("https://x/send?to=a@b&sig=abc", query=True) == "https://x/send?to=***&sig=***"
    assert redact_url("127.0.0.1:6379") == "127.0.0.1:6379"


@pytest.mark.parametrize(
    "name", ["QUEUE", "REDIS_URL", "HTTP_HEADERS", "SENTINELS", "RATE_LIMITS", "REDIS_USERNAME", "PROVIDER"]
)
def test_invalid_utf8_in_the_environment_is_refused_by_name(name: str) -> None:
    # os.environ decodes invalid UTF-8 to lone surrogates; they would fail later, inside redis-py.
    with pytest.raises(ConfigError, match=f"SMSWORKER_{name}\\): must be valid UTF-8 text"):
        load_settings({}, {f"SMSWORKER_{name}": "x\udcff"})
