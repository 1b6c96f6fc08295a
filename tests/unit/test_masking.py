"""The one masking function: numbers in every shape PHP apps write them come out masked."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsworker.logs import make_logger
from smsworker.redact import mask_numbers
from tests.support.numbers import Written, shown_digits, written_numbers

# 13800138003 in full-width digits, and as json_encode escapes those.
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "13800138003")
ESCAPED = "".join(f"\\u{0xFF10 + int(d):04x}" for d in "13800138003")
# Text around a number, with no digit of its own (a digit glued on makes another number).
_NOISE = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=20)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "+86138****8000"),
        ("138 0013 8003", "138 **** 8003"),
        ("验证码已发送至13800138007\uff0c请查收", "验证码已发送至138****8007\uff0c请查收"),
        (FULL_WIDTH, "\uff11\uff13\uff18****\uff18\uff10\uff10\uff13"),
        (ESCAPED, "\\uff11\\uff13\\uff18****\\uff18\\uff10\\uff10\\uff13"),
        ("13800138009 / 13900139009", "138****8009 / 139****9009"),
        ("+86 (138) 0013-8003", "+86 (138) ****-8003"),
        ("\\u81f3008613000000000", "\\u81f3008613*****0000"),  # not a 3 of the escape's
        ("0086-138-0013-8003", "0086-13*-****-8003"),
        ("sent to13800138000ok", "sent to138****8000ok"),
    ],
)
def test_the_shapes_viewers_were_shown_whole_are_masked(text: str, masked: str) -> None:
    assert mask_numbers(text) == masked


@pytest.mark.parametrize(
    "kept",
    [
        "BizId 900619746936498440^0",  # a vendor's id: longer than any number, no separators
        "2026-11-21 10:00:00",  # a date
        "connect to 192.168.100.200:6379",  # an address
        "attempt 3 of 5, 1.5 s, code 40001",  # short runs
    ],
)
def test_what_is_not_a_number_is_left_alone(kept: str) -> None:
    assert mask_numbers(kept) == kept


@settings(max_examples=500, deadline=None)
@given(number=written_numbers(), before=_NOISE, after=_NOISE)
@example(number=Written("13800138009", "13800138009 13900139009"), before="", after="")
@example(number=Written("13800138003", ESCAPED), before="", after="")
def test_no_written_number_shows_through(number: Written, before: str, after: str) -> None:
    text = before + number.text + after
    masked = mask_numbers(text)
    assert shown_digits(masked, number.national) is None, (text, masked)
    assert shown_digits(text, number.national) is not None  # the check itself can see it


@settings(max_examples=200, deadline=None)
@given(number=written_numbers())
def test_logs_mask_numbers_in_every_shape(number: Written) -> None:
    out = io.StringIO()
    make_logger(fmt="json", stream=out).warning(
        "provider.refused", mobile=number.text, mobiles=[number.text], error=f"refused {number.text}"
    )
    event = json.loads(out.getvalue())
    assert event.pop("level") == "warning" and event.pop("timestamp")  # digits of their own
    assert shown_digits(json.dumps(event, ensure_ascii=False), number.national) is None, event
