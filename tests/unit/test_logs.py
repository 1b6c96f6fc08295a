from __future__ import annotations

import io
import json

from smsworker.logs import make_logger, mask_mobile


def test_mask_mobile() -> None:
    assert mask_mobile("13800138000") == "138****8000"
    assert mask_mobile("+8613800138000") == "+86138****8000"
    assert mask_mobile("12345") == "*2345"
    assert mask_mobile("12") == "**"


def test_json_off_a_terminal_masks_numbers_and_keeps_unicode() -> None:
    out = io.StringIO()
    make_logger(fmt="auto", stream=out).info(
        "sms.dry_run", mobile="13800138000", mobiles=["+12025550143"], content="测试"
    )
    event = json.loads(out.getvalue())
    assert event["mobile"] == "138****8000"
    assert event["mobiles"] == ["+120****0143"]
    assert event["content"] == "测试"
    assert event["level"] == "info" and event["timestamp"].endswith("Z")


def test_masking_can_be_turned_off_and_levels_filter() -> None:
    out = io.StringIO()
    log = make_logger(fmt="json", level="warning", mask_mobiles=False, stream=out)
    log.info("hidden")
    log.warning("shown", mobile="13800138000")
    [line] = out.getvalue().splitlines()
    assert json.loads(line)["mobile"] == "13800138000"


def test_console_format() -> None:
    out = io.StringIO()
    make_logger(fmt="console", stream=out).info("task.settled", sent=2)
    assert "task.settled" in out.getvalue() and "sent=2" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")


def test_absent_context_is_left_out() -> None:
    out = io.StringIO()
    make_logger(fmt="json", stream=out).info("task.settled", task_id=None, sent=1)
    event = json.loads(out.getvalue())
    assert "task_id" not in event and event["sent"] == 1
