"""docs/task.schema.json and the parser describe the same contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from smsworker.errors import InvalidTask
from smsworker.task import TaskParser

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "task.schema.json").read_text())

VALID: list[Any] = [
    {"template_id": 123, "mobiles": ["13800138000", "13800138001"], "content": "Test SMS"},
    {"template_id": "123", "mobiles": ["13800138000"], "content": "测试"},
    {"template_id": 1, "mobiles": [13800138000], "content": "x"},
    {"template_id": 1, "mobiles": {"0": "13800138000", "2": "13800138001"}, "content": "x"},
    {"template_id": 1, "mobiles": "13800138000,13800138001", "content": "x"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "", "params": {"code": "1"}},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "params": []},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "id": "a-1", "extra": [1]},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "id": 5},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "lane": "otp", "campaign": "双十一"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": 1764770400},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": 1764770400.5},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "1764770400"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "2025-12-03T22:00:00+08:00"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "2025-12-03T14:00:00.5Z"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "2025-12-03T22:00:00+0800"},
    {
        "template_id": 1,
        "mobiles": ["13800138000"],
        "content": "x",
        "lane": None,
        "send_at": None,
        "campaign": None,
    },
]

INVALID: list[Any] = [
    [1],
    "text",
    {"mobiles": ["13800138000"], "content": "x"},
    {"template_id": True, "mobiles": ["13800138000"], "content": "x"},
    {"template_id": 1.5, "mobiles": ["13800138000"], "content": "x"},
    {"template_id": "", "mobiles": ["13800138000"], "content": "x"},
    {"template_id": 1, "mobiles": [], "content": "x"},
    {"template_id": 1, "mobiles": {}, "content": "x"},
    {"template_id": 1, "mobiles": {"a": "13800138000"}, "content": "x"},
    {"template_id": 1, "mobiles": ",", "content": "x"},
    {"template_id": 1, "mobiles": 13800138000, "content": "x"},
    {"template_id": 1, "mobiles": ["13800138000"]},
    {"template_id": 1, "mobiles": ["13800138000"], "content": ""},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "", "params": {}},
    {"template_id": 1, "mobiles": ["13800138000"], "content": 1},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "params": "a"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "id": ""},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "lane": "OTP"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "lane": "a" * 33},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "lane": 1},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": True},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": -1},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "tomorrow"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": "2025-12-03T22:00:00"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "send_at": [1]},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "campaign": ""},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "campaign": "x" * 65},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "campaign": "a\nb"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "campaign": "a\u0085b"},
    {"template_id": 1, "mobiles": ["13800138000"], "content": "x", "campaign": 5},
    # Entries of the wrong type: the schema refuses them; the worker dead-letters just that entry.
    {"template_id": 1, "mobiles": ["13800138000", None], "content": "x"},
    {"template_id": 1, "mobiles": ["13800138000", 1.5], "content": "x"},
]


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("payload", VALID, ids=range(len(VALID)))
def test_what_the_schema_accepts_the_worker_accepts(payload: Any, parser: TaskParser) -> None:
    jsonschema.validate(payload, SCHEMA)
    task = parser.parse(json.dumps(payload).encode())
    assert task.mobiles


@pytest.mark.parametrize("payload", INVALID, ids=range(len(INVALID)))
def test_what_the_schema_refuses_the_worker_refuses(payload: Any, parser: TaskParser) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, SCHEMA)
    try:
        task = parser.parse(json.dumps(payload).encode())
    except InvalidTask:
        return
    assert task.invalid_mobiles, "the parser accepted in full what the schema refuses"
