"""The traffic fields of a task: ``lane``, ``send_at`` and ``campaign``, read, refused and written back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smsworker.errors import InvalidTask
from smsworker.task import SmsTask, TaskParser

BASE: dict[str, Any] = {"template_id": 1, "mobiles": ["13800138000"], "content": "x"}


def parse(parser: TaskParser, **fields: Any) -> SmsTask:
    return parser.parse(json.dumps({**BASE, **fields}, ensure_ascii=False).encode())


def error(parser: TaskParser, **fields: Any) -> str:
    with pytest.raises(InvalidTask) as info:
        parse(parser, **fields)
    assert info.value.reason == "invalid_task"
    assert "\n" not in info.value.error and "\r" not in info.value.error
    return info.value.error


def test_absent_or_null_fields_are_none(parser: TaskParser) -> None:
    for task in (parse(parser), parse(parser, lane=None, send_at=None, campaign=None)):
        assert (task.lane, task.send_at, task.campaign) == (None, None, None)
        assert task.extra == {}


@pytest.mark.parametrize("lane", ["otp", "0", "bulk-2", "a_b", "a" * 32, "9lives"])
def test_good_lanes(parser: TaskParser, lane: str) -> None:
    assert parse(parser, lane=lane).lane == lane


@pytest.mark.parametrize(
    ("lane", "expected"),
    [
        ("", 'lane "" is not a lane name: 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit'),
        ("OTP", 'lane "OTP" is not a lane name'),
        ("-otp", 'lane "-otp" is not a lane name'),
        ("_otp", 'lane "_otp" is not a lane name'),
        ("a" * 33, "is not a lane name"),
        ("otp\n", 'lane "otp\\n" is not a lane name'),
        ("o tp", "is not a lane name"),
        ("ötp", 'lane "\\u00f6tp" is not a lane name'),
        ("ｏｔｐ", "is not a lane name"),  # noqa: RUF001 - full-width letters must not pass as a-z
        (5, "lane must be a string, got a number"),
        (["otp"], "lane must be a string, got an array"),
        (True, "lane must be a string, got a boolean"),
    ],
)
def test_bad_lanes(parser: TaskParser, lane: Any, expected: str) -> None:
    assert expected in error(parser, lane=lane)


@pytest.mark.parametrize(
    "campaign", ["双十一", "spring-2026", "a", "x" * 64, "with spaces", "emoji 🎉", "tab-less: ok"]
)
def test_good_campaigns(parser: TaskParser, campaign: str) -> None:
    assert parse(parser, campaign=campaign).campaign == campaign


@pytest.mark.parametrize(
    ("campaign", "expected"),
    [
        ("", "campaign must be 1 to 64 characters, got 0"),
        ("x" * 65, "campaign must be 1 to 64 characters, got 65"),
        ("a\nb", 'campaign "a\\nb" holds a control character or a line break; names are one line'),
        ("a\tb", "holds a control character"),
        ("a\x00b", "holds a control character"),
        ("a\x7fb", "holds a control character"),
        ("a\x85b", "holds a control character"),
        ("a\u2028b", "holds a control character or a line break"),
        (42, "campaign must be a string, got a number"),
        ({"name": "x"}, "campaign must be a string, got an object"),
    ],
)
def test_bad_campaigns(parser: TaskParser, campaign: Any, expected: str) -> None:
    assert expected in error(parser, campaign=campaign)


def test_send_at_is_read_by_send_time(parser: TaskParser) -> None:
    assert parse(parser, send_at=1764770400).send_at == 1764770400.0
    assert parse(parser, send_at="2025-12-03T22:00:00+08:00").send_at == 1764770400.0
    # In the past is kept as written: the worker decides with its clock that it means "now".
    assert parse(parser, send_at=0).send_at == 0.0
    assert "send_at" in error(parser, send_at="tomorrow")
    assert "send_at" in error(parser, send_at=False)


def test_the_fields_are_not_extra_and_are_written_back(parser: TaskParser) -> None:
    task = parse(parser, lane="otp", send_at="2025-12-03T22:00:00.5+08:00", campaign="双十一", tag=1)
    assert task.extra == {"tag": 1}
    assert task.reduced_to(["13800138000"]) == {
        "tag": 1,
        "template_id": 1,
        "mobiles": ["13800138000"],
        "content": "x",
        "lane": "otp",
        "send_at": 1764770400.5,
        "campaign": "双十一",
    }
    assert parse(parser, send_at=1764770400.0).reduced_to([])["send_at"] == 1764770400


def test_deferred_copy_keeps_the_task_but_the_recipients_and_the_time(parser: TaskParser) -> None:
    payload = {
        "template_id": "7",
        "mobiles": "13800138000, 13800138001,12345",
        "content": "验证码",
        "id": "a-1",
        "params": {"code": "1234"},
        "lane": "otp",
        "campaign": "c",
        "send_at": 5,
        "note": [1],
    }
    task = parser.parse(json.dumps(payload).encode())
    raw = task.deferred_copy(["+8613800138001"], 1764770400.0)
    assert "验证码".encode() in raw  # written the way the enqueue encoder writes, not \u-escaped
    assert json.loads(raw) == {
        **payload,
        "template_id": "7",
        "mobiles": ["13800138001"],
        "send_at": 1764770400,
    }
    again = parser.parse(raw)
    assert again.mobiles == ("+8613800138001",)
    assert (again.lane, again.campaign, again.send_at, again.task_id) == ("otp", "c", 1764770400.0, "a-1")
    assert json.loads(task.deferred_copy(task.mobiles, 1.25))["send_at"] == 1.25
