"""The task contract: everything real PHP writes is accepted; everything else gets a reason."""

from __future__ import annotations

import json

import pytest

from smsworker.errors import InvalidTask
from smsworker.task import SmsTask, TaskParser, encode_task


def parse(parser: TaskParser, payload: str | bytes) -> SmsTask:
    return parser.parse(payload.encode() if isinstance(payload, str) else payload)


def reason(parser: TaskParser, payload: str | bytes) -> str:
    with pytest.raises(InvalidTask) as info:
        parse(parser, payload)
    return info.value.reason


def test_the_seed_payload(parser: TaskParser) -> None:
    task = parse(parser, '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}')
    assert task.template_id == 123
    assert task.mobiles == ("+8613800138000", "+8613800138001")
    assert task.content == "Test SMS"
    assert task.invalid_mobiles == ()


def test_escaped_and_raw_unicode_give_the_same_task(parser: TaskParser) -> None:
    escaped = json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "测试短信"})
    raw = json.dumps(
        {"template_id": 1, "mobiles": ["13800138000"], "content": "测试短信"}, ensure_ascii=False
    )
    assert "\\u6d4b" in escaped
    assert parse(parser, escaped) == parse(parser, raw)
    assert parse(parser, raw).content == "测试短信"


def test_post_strings_and_integer_numbers(parser: TaskParser) -> None:
    task = parse(parser, '{"template_id":"123","mobiles":[13800138000,"13800138001"],"content":"x"}')
    assert task.template_id == "123"
    assert task.mobiles == ("+8613800138000", "+8613800138001")


def test_array_with_holes_is_read_in_key_order(parser: TaskParser) -> None:
    # json_encode(array_unique(['13800138001', '13800138001', '13800138000', ..])) style output
    payload = (
        '{"template_id":1,"mobiles":{"10":"13800138002","0":"13800138001","2":"13800138000"},"content":"x"}'
    )
    assert parse(parser, payload).mobiles == ("+8613800138001", "+8613800138000", "+8613800138002")


def test_comma_separated_string(parser: TaskParser) -> None:
    task = parse(parser, '{"template_id":1,"mobiles":" 13800138000, 13800138001,,","content":"x"}')
    assert task.mobiles == ("+8613800138000", "+8613800138001")


def test_numbers_are_normalised_and_deduplicated(parser: TaskParser) -> None:
    payload = {
        "template_id": 1,
        "content": "x",
        "mobiles": ["13800138000", "+86 138 0013 8000", "+8613800138000", "+1 202-555-0143"],
    }
    task = parse(parser, json.dumps(payload))
    assert task.mobiles == ("+8613800138000", "+12025550143")
    assert task.as_written(["+8613800138000"]) == ["13800138000"]


def test_invalid_numbers_are_set_aside_not_fatal(parser: TaskParser) -> None:
    payload = '{"template_id":1,"mobiles":["13800138000","12345",null,13.5,"abc"],"content":"x"}'
    task = parse(parser, payload)
    assert task.mobiles == ("+8613800138000",)
    assert task.invalid_mobiles == ("12345", "null", "13.5", "abc")


def test_default_region_is_configurable() -> None:
    us = TaskParser(default_region="US", max_payload_bytes=1000, max_recipients=10)
    assert us.parse(b'{"template_id":1,"mobiles":["202-555-0143"],"content":"x"}').mobiles == (
        "+12025550143",
    )


def test_optional_and_unknown_fields_are_kept(parser: TaskParser) -> None:
    payload = (
        '{"template_id":1,"mobiles":["13800138000"],"content":"","params":{"code":"1234"},"id":42,"tag":"x"}'
    )
    task = parse(parser, payload)
    assert task.task_id == "42"
    assert task.params == {"code": "1234"}
    assert task.extra == {"tag": "x"}
    assert task.reduced_to(["13800138000"]) == {
        "tag": "x",
        "template_id": 1,
        "mobiles": ["13800138000"],
        "content": "",
        "id": "42",
        "params": {"code": "1234"},
    }


def test_php_empty_array_params_means_no_params(parser: TaskParser) -> None:
    assert parse(parser, '{"template_id":1,"mobiles":["13800138000"],"content":"x","params":[]}').params == {}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\xff\xfe{}", "invalid_json"),
        ("not json", "invalid_json"),
        ('{"template_id":1,', "invalid_json"),
        ('{"template_id":NaN,"mobiles":["13800138000"],"content":"x"}', "invalid_json"),
        ("[" * 100_000 + "]" * 100_000, "invalid_task"),
        ('"a string"', "invalid_task"),
        ("[1,2]", "invalid_task"),
        ("null", "invalid_task"),
        ('{"mobiles":["13800138000"],"content":"x"}', "invalid_task"),
        ('{"template_id":true,"mobiles":["13800138000"],"content":"x"}', "invalid_task"),
        ('{"template_id":1.5,"mobiles":["13800138000"],"content":"x"}', "invalid_task"),
        ('{"template_id":" ","mobiles":["13800138000"],"content":"x"}', "invalid_task"),
        ('{"template_id":1,"content":"x"}', "invalid_task"),
        ('{"template_id":1,"mobiles":[],"content":"x"}', "invalid_task"),
        ('{"template_id":1,"mobiles":"","content":"x"}', "invalid_task"),
        ('{"template_id":1,"mobiles":13800138000,"content":"x"}', "invalid_task"),
        ('{"template_id":1,"mobiles":{"a":"13800138000"},"content":"x"}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"]}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":5}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":""}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"\\ud800"}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","params":"a"}', "invalid_task"),
        # Fields nobody reads must still be encodable again (dead letters, logs, provider requests).
        ('{"template_id":1,"mobiles":["12345"],"content":"x","note":"\\ud800"}', "invalid_task"),
        (
            '{"template_id":1,"mobiles":["13800138000"],"content":"x","params":{"a":"\\udfff"}}',
            "invalid_task",
        ),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","params":{"\\ud800":1}}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","\\udbff":1}', "invalid_task"),
        (
            '{"template_id":1,"mobiles":["12345"],"content":"x","n":' + "[" * 977 + "]" * 977 + "}",
            "invalid_task",
        ),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","params":{"a":1e400}}', "invalid_json"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","n":-1E+999}', "invalid_json"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","id":""}', "invalid_task"),
        ('{"template_id":1,"mobiles":["13800138000"],"content":"x","id":{}}', "invalid_task"),
    ],
)
def test_bad_input_gets_a_reason(parser: TaskParser, payload: str | bytes, expected: str) -> None:
    assert reason(parser, payload) == expected


def test_escaped_text_that_only_looks_like_a_surrogate_is_fine(parser: TaskParser) -> None:
    # An escaped backslash followed by "ud800" is six ordinary characters, and a pair is one character.
    task = parse(parser, '{"template_id":1,"mobiles":["13800138000"],"content":"\\\\ud800 \\ud83d\\ude00"}')
    assert task.content == "\\ud800 \U0001f600"


def test_nesting_up_to_the_limit_is_kept(parser: TaskParser) -> None:
    from smsworker.strict_json import MAX_DEPTH

    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    task = parse(parser, '{"template_id":1,"mobiles":["13800138000"],"content":"x","n":' + deep + "}")
    assert "n" in task.extra
    too_deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(InvalidTask, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse(parser, '{"template_id":1,"mobiles":["13800138000"],"content":"x","n":' + too_deep + "}")


def test_limits_give_too_large() -> None:
    small = TaskParser(default_region="CN", max_payload_bytes=200, max_recipients=2)
    assert (
        reason(small, json.dumps({"template_id": 1, "mobiles": ["1"], "content": "x" * 300})) == "too_large"
    )
    three = json.dumps(
        {"template_id": 1, "mobiles": ["13800138000", "13800138001", "13800138002"], "content": "x"}
    )
    assert reason(small, three) == "too_large"


def test_errors_are_sentences_a_person_can_act_on(parser: TaskParser) -> None:
    with pytest.raises(InvalidTask) as info:
        parse(parser, '{"template_id":1,"mobiles":42,"content":"x"}')
    assert info.value.error == "mobiles must be an array, an object or a comma-separated string, got a number"


def test_encode_round_trips(parser: TaskParser) -> None:
    data = {
        "template_id": 7,
        "mobiles": ["13800138000"],
        "content": "验证码 1234",
        "params": {"a": "b"},
        "id": "x1",
    }
    payload = encode_task(data)
    assert "验证码".encode() in payload  # JSON_UNESCAPED_UNICODE style
    task = parser.parse(payload)
    assert task.reduced_to(task.as_written(task.mobiles)) == data
