from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsworker.logs import make_logger


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


# -- every event renders, whatever it holds -----------------------------------------------------

json_ish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # includes lone surrogates
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@settings(max_examples=300)
@given(
    fields=st.dictionaries(
        st.text(max_size=8).filter(lambda k: k not in ("event", "self")), json_ish, max_size=5
    )
)
def test_any_event_is_one_line_of_strict_json(fields: dict[str, Any]) -> None:
    out = io.StringIO()
    make_logger(fmt="json", stream=out).info("task.settled", **fields)
    [line] = out.getvalue().splitlines()
    line.encode("utf-8")  # no unpaired surrogate reached the stream
    event = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in a log line"))
    assert event["event"] == "task.settled"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_hostile_values_render_in_both_formats(fmt: str) -> None:
    out = io.StringIO()
    log = make_logger(fmt=fmt, stream=out)
    log.info("x", note="\ud800", deep=deep(5000), bad=Unprintable(), nan=float("nan"), raw=b"\xff")
    assert out.getvalue().count("\n") == 1


def test_a_stream_that_cannot_be_written_is_skipped() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError("reader went away")

    make_logger(fmt="json", stream=Broken()).warning("still.running")  # must not raise


def _fail_with_a_number_in_scope() -> None:
    mobile = "+8613800138000"  # a local: structlog's dict tracebacks would print it
    raise ValueError(f"provider refused {mobile}")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_carry_no_locals_and_mask_numbers(fmt: str) -> None:
    out = io.StringIO()
    log = make_logger(fmt=fmt, stream=out)
    try:
        _fail_with_a_number_in_scope()
    except ValueError:
        log.exception("worker.send_failed", error="+8613800138000 refused, and 13800138001 too")
    text = out.getvalue()
    assert "ValueError" in text and "_fail_with_a_number_in_scope" in text
    assert "13800138000" not in text and "13800138001" not in text
    assert "+86138****8000" in text and "138****8001" in text


def test_numbers_in_error_texts_are_masked_but_ids_are_not() -> None:
    out = io.StringIO()
    make_logger(fmt="json", stream=out).warning(
        "provider.retry_scheduled", error="HTTP 503 for 8613800138000; BizId 900619746936498440^0, 1.5 s"
    )
    event = json.loads(out.getvalue())
    assert event["error"] == "HTTP 503 for 86138****8000; BizId 900619746936498440^0, 1.5 s"
