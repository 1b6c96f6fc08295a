"""The lanes' tables, ``[lanes.<name>]``: what a good table loads into, and every way a table can be
wrong refused in one line naming the table and the key, exit 2, through the real CLI."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.cli import cli
from smsworker.config.lanes import DEFAULT_LANE, KEYS, LaneSettings, lane_order, route_table
from smsworker.config.settings import load_settings
from smsworker.errors import ConfigError
from tests.unit.test_config_unknown_keys import ENGLISH, ZH, has_cjk, toml_string

GOOD = """\
queue = "sms"

[lanes.otp]
templates = [123, "SMS_9"]
min_share = 50
concurrency = 4
rate_limit = "3000/min"
providers = "aliyun,tencent"
quiet_hours = "22:00-08:00"

[lanes.bulk-mkt]
templates = ["456"]
min-share = 5
rate_limit = 20

[lanes.after]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smsworker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def checked(path: Path, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["check", "--no-redis", "--config", str(path)], env={**ENGLISH, **(env or {})}
    )


def test_good_tables_load_in_file_order_with_their_defaults(tmp_path: Path) -> None:
    loaded = load_settings({}, {}, str(write(tmp_path, GOOD)))
    assert loaded.lanes == (
        LaneSettings("otp", ("123", "SMS_9"), 50, 4, 50.0, ("aliyun", "tencent"), "22:00-08:00"),
        LaneSettings("bulk-mkt", ("456",), min_share=5, rate_limit=20.0),
        LaneSettings("after"),
    )
    assert [lane.name for lane in lane_order(loaded.lanes)] == ["otp", "bulk-mkt", "after", DEFAULT_LANE]
    assert route_table(loaded.lanes) == {"123": "otp", "SMS_9": "otp", "456": "bulk-mkt"}


def test_no_lanes_is_an_empty_tuple_and_no_default_lane(tmp_path: Path) -> None:
    assert load_settings({}, {}, str(write(tmp_path, 'queue = "sms"\n'))).lanes == ()
    assert load_settings({}, {}).lanes == ()
    assert lane_order(()) == ()


def test_a_declared_default_lane_keeps_its_place(tmp_path: Path) -> None:
    text = "[lanes.default]\nmin_share = 20\n[lanes.bulk]\ntemplates = [1]\n"
    lanes = load_settings({}, {}, str(write(tmp_path, text))).lanes
    assert lane_order(lanes) == (LaneSettings("default", min_share=20), LaneSettings("bulk", ("1",)))


@pytest.mark.parametrize(
    ("value", "per_s"),
    [("50", 50.0), ("50.5", 50.5), ('"50/s"', 50.0), ('"3000/min"', 50.0), ('"0.5 / s"', 0.5), ('""', None)],
)
def test_rate_limit_takes_what_rate_limit_flags_take(tmp_path: Path, value: str, per_s: float | None) -> None:
    lanes = load_settings({}, {}, str(write(tmp_path, f"[lanes.a]\nrate_limit = {value}\n"))).lanes
    assert lanes[0].rate_limit == per_s


def test_the_environment_sets_keys_of_the_lanes_the_file_declares(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    environ = {
        "SMSWORKER_LANES_BULK_MKT_MIN_SHARE": "30",
        "SMSWORKER_LANES_OTP_TEMPLATES": "1, 2",
        "SMSWORKER_LANES_OTP_QUIET_HOURS": "",
        "SMSWORKER_LANES_AFTER_TEMPLATES": "",
        "SMSWORKER_LANES_BULK_MKT_RATE_LIMIT": "",
        "SMSWORKER_LANES_OTP_CONCURRENCY": "",
        "SMSWORKER_LANES_DEFAULT_CONCURRENCY": "2",
    }
    lanes = load_settings({}, environ, str(path)).lanes
    assert lanes[0].templates == ("1", "2") and lanes[0].quiet_hours is None
    assert lanes[0].concurrency == 0  # an empty value is the default, whatever the file says
    assert lanes[1].min_share == 30 and lanes[1].rate_limit is None
    assert lanes[-1] == LaneSettings(DEFAULT_LANE, concurrency=2)  # last: after the file's lanes


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        (
            {"SMSWORKER_LANES_OTP_MIN_SHAR": "1"},
            "environment SMSWORKER_LANES_OTP_MIN_SHAR: unknown key 'min_shar' in [lanes.otp]: "
            "did you mean 'min_share'?",
        ),
        ({"SMSWORKER_LANES_NEWS_MIN_SHARE": "1"}, "names no lane the config file declares"),
        (
            {"SMSWORKER_LANES_OTP_MIN_SHARE": "101"},
            "environment SMSWORKER_LANES_OTP_MIN_SHARE: invalid min_share '101' in [lanes.otp]: "
            "must be at most 100",
        ),
    ],
)
def test_what_the_environment_gets_wrong_is_named(tmp_path: Path, environ: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ, str(write(tmp_path, GOOD)))
    assert said in str(info.value)


def test_no_lane_comes_from_the_environment_alone() -> None:
    with pytest.raises(ConfigError, match="names no lane the config file declares"):
        load_settings({}, {"SMSWORKER_LANES_DEFAULT_MIN_SHARE": "1"})


def refused(tmp_path: Path, text: str) -> str:
    """The one line ``check`` says of the file, in English, having checked it exits 2 and has Chinese."""
    path = write(tmp_path, text)
    result = checked(path)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert result.output.startswith(f"Error: config file {path}: ")
    assert result.output.count("\n") == 1, result.output
    assert has_cjk(checked(path, dict(ZH)).output)
    return result.output


@pytest.mark.parametrize("key", KEYS)
def test_a_key_one_letter_short_is_refused_with_the_key_it_misses(tmp_path: Path, key: str) -> None:
    said = refused(tmp_path, f'[lanes.otp]\n{key[:-1]} = "x"\n')
    assert said.rstrip().endswith(f"unknown key {key[:-1]!r} in [lanes.otp]: did you mean {key!r}?")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[lanes.otp]\nzzz = 1\n", "unknown key 'zzz' in [lanes.otp] (it takes templates, min_share,"),
        ("[lanes.otp]\nqueue = 'a'\n", "queue is a setting of its own; put it above the first table"),
        ("[lanes.OTP]\n", "invalid lane name 'OTP' in [lanes]: a lane's name is 1 to 32 of"),
        (f"[lanes.{'a' * 33}]\n", f"invalid lane name '{'a' * 33}' in [lanes]"),
        ('[lanes."a b"]\n', "invalid lane name 'a b' in [lanes]"),
        (
            "[lanes.otp]\ntemplates = [123]\n[lanes.bulk]\ntemplates = ['9', '123']\n",
            "template 123 is in [lanes.otp] and [lanes.bulk]",
        ),
        ("[lanes.otp]\ntemplates = 123\n", "invalid templates 123 in [lanes.otp]: must be a list"),
        (
            "[lanes.otp]\ntemplates = [1.5]\n",
            "invalid templates [1.5] in [lanes.otp]: 1.5 is not a template id",
        ),
        ("[lanes.otp]\ntemplates = [true]\n", "True is not a template id"),
        ("[lanes.otp]\ntemplates = ['']\n", "invalid templates [''] in [lanes.otp]: must not be empty"),
        ("[lanes.otp]\nmin_share = 101\n", "invalid min_share 101 in [lanes.otp]: must be at most 100"),
        ("[lanes.otp]\nmin_share = -1\n", "invalid min_share -1 in [lanes.otp]: must be at least 0"),
        ("[lanes.otp]\nmin_share = 1.5\n", "invalid min_share 1.5 in [lanes.otp]: must be an integer"),
        (
            "[lanes.otp]\nconcurrency = 1025\n",
            "invalid concurrency 1025 in [lanes.otp]: must be at most 1,024",
        ),
        ("[lanes.otp]\nconcurrency = true\n", "invalid concurrency True in [lanes.otp]: must be an integer"),
        ("[lanes.otp]\nrate_limit = 0\n", "invalid rate_limit 0 in [lanes.otp]: must be greater than 0"),
        ("[lanes.otp]\nrate_limit = nan\n", "invalid rate_limit nan in [lanes.otp]: must be greater than 0"),
        ("[lanes.otp]\nrate_limit = '5/h'\n", "invalid rate_limit '5/h' in [lanes.otp]: write it as 50,"),
        ("[lanes.otp]\nrate_limit = [5]\n", "invalid rate_limit [5] in [lanes.otp]: write it as 50,"),
        (
            "[lanes.otp]\nproviders = 'aliyun,tencnet'\n",
            "invalid providers 'aliyun,tencnet' in [lanes.otp]: 'tencnet' is not a provider: "
            "did you mean 'tencent'?",
        ),
        ("[lanes.otp]\nproviders = 5\n", "invalid providers 5 in [lanes.otp]: must be a provider chain"),
        (
            "[lanes.otp]\nquiet_hours = '22:00'\n",
            "invalid quiet_hours '22:00' in [lanes.otp]: must be HH:MM-HH:MM",
        ),
        ("[lanes.otp]\nquiet_hours = '24:00-08:00'\n", "must be HH:MM-HH:MM"),
        ("[lanes.otp]\nquiet_hours = '22:60-08:00'\n", "must be HH:MM-HH:MM"),
        ("[lanes.otp]\nquiet_hours = '8:00-9:00'\n", "must be HH:MM-HH:MM"),
        ("[lanes.otp]\nquiet_hours = '22:00-22:00'\n", "must end at another time than it starts"),
        ("[lanes.otp]\nquiet_hours = 22:00:00\n", "must be text"),
        ("lanes = 5\n", "[lanes] must hold one table per lane: [lanes.<name>]"),
        ("[lanes]\nmin_share = 5\n", "[lanes.min_share] must be a table of the lane's keys"),
        ("[lane.otp]\nmin_share = 5\n", "unknown table [lane]: did you mean 'lanes'?"),
        ("quiet_hours = '22:00-08:00'\n", "unknown setting 'quiet_hours': it belongs in a lane's table"),
    ],
)
def test_what_a_lane_table_gets_wrong_is_named_in_one_line(tmp_path: Path, text: str, said: str) -> None:
    assert said in refused(tmp_path, text)


def test_check_prints_each_lane_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('providers = "aliyun,tencent"', 'providers = "log"'))
    result = checked(path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "lane otp: 2 templates, min_share 50%, concurrency 4, rate_limit 50/s, providers log, "
        "quiet_hours 22:00-08:00",
        "lane bulk-mkt: 1 template, min_share 5%, concurrency 0, rate_limit 20/s, "
        "providers the worker's (log), quiet_hours none",
        "lane after: 0 templates, min_share 10%, concurrency 0, rate_limit none, "
        "providers the worker's (log), quiet_hours none",
        "lane default: 0 templates, min_share 10%, concurrency 0, rate_limit none, "
        "providers the worker's (log), quiet_hours none",
    ]
    chinese = checked(path, dict(ZH)).output.splitlines()
    assert chinese[1].startswith("通道 otp：2 个模板，min_share 50%") and "quiet_hours 无" in chinese[2]


def test_check_prints_no_lane_when_none_is_declared(tmp_path: Path) -> None:
    result = checked(write(tmp_path, ""))
    assert result.exit_code == 0 and result.output.count("\n") == 1, result.output


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["22:00-08:00", "50/s", "3000/min", "aliyun,tencent", "log", "123"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))
KEY_NAMES = st.one_of(
    st.sampled_from(KEYS), st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
)
LANE_NAMES = st.one_of(st.sampled_from(["otp", "bulk", "default", "a-b_c"]), st.text(min_size=1, max_size=34))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lanes=st.lists(st.tuples(LANE_NAMES, st.dictionaries(KEY_NAMES, VALUES, max_size=4)), max_size=3))
def test_any_lane_table_loads_or_is_one_line_and_exit_2(
    tmp_path: Path, lanes: list[tuple[str, dict[str, Any]]]
) -> None:
    text = ""
    for name, table in dict(lanes).items():
        text += f"[lanes.{toml_string(name)}]\n"
        text += "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in table.items())
    path = write(tmp_path, text)
    result = checked(path)
    if result.exit_code == 0:
        loaded = load_settings({}, {}, str(path)).lanes
        assert all(isinstance(lane, LaneSettings) for lane in loaded)
        assert result.output.count("\n") == 1 + len(lane_order(loaded))
    else:
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)  # not a traceback
        assert result.output.startswith(f"Error: config file {path}: ")
        assert result.output.count("\n") == 1, result.output
