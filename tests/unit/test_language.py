"""The reader's language comes from the locale variables in POSIX order."""

from __future__ import annotations

import pytest

from smsworker.language import Text, reads_chinese, say


@pytest.mark.parametrize(
    ("environ", "chinese"),
    [
        ({}, False),
        ({"LANG": "zh_CN.UTF-8"}, True),
        ({"LANG": "zh_TW.UTF-8"}, True),
        ({"LANG": "en_US.UTF-8"}, False),
        ({"LANG": "C.UTF-8"}, False),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, False),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, True),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, True),
        ({"LC_ALL": "ZH_cn"}, True),
    ],
)
def test_locale_variables_decide_in_posix_order(environ: dict[str, str], chinese: bool) -> None:
    assert reads_chinese(environ) is chinese


def test_text_formats_both_languages_and_is_english_as_a_string() -> None:
    text = Text("{n} tasks", "{n} 个任务").format(n=3) + Text(".", "。")
    assert str(text) == "3 tasks."
    assert text.shown({"LANG": "zh_CN.UTF-8"}) == "3 个任务。"
    assert text.shown({"LANG": "en_GB.UTF-8"}) == "3 tasks."
    assert say("yes", "是", {"LC_ALL": "zh_CN"}) == "是"
