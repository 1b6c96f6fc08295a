"""Every reason a setting's converter gives for refusing a value is written in both languages, so a
reader of Chinese is never left with an English reason inside a Chinese sentence."""

from __future__ import annotations

import pytest

from smsworker.config.declare import Setting
from smsworker.config.messages import reason
from smsworker.config.schema import SETTINGS
from smsworker.language import Text

# Values at least one converter refuses for each reason it has: not a number, out of range, not
# finite, empty, not a choice, malformed lists, URLs, headers, networks, host names, rates.
BAD = [
    "abc",
    "-5",
    "0",
    "1e999",
    "nan",
    "",
    " ",
    "x" * 300,
    "\udcff",
    "ftp://h",
    "redis://:0/x",
    "a:b:c",
    "Name value",
    "300.1.1.1/99",
    "-bad-.com",
    "aliyun=fast",
    "aliyun=0/s",
    "maybe",
    "ZZ",
    "h:0",
]


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda declared: declared.name)
def test_every_refusal_reason_is_in_english_and_chinese(declared: Setting) -> None:
    reasons = []
    for value in BAD:
        try:
            declared.convert(value)
        except ValueError as exc:
            reasons.append(exc.args[0])
    for said in reasons:
        assert isinstance(said, Text), said
        assert said.en and any("\u4e00" <= c <= "\u9fff" for c in said.zh), said
        assert reason(ValueError(said)) is said and str(ValueError(said)) == said.en
