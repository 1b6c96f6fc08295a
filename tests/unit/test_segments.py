from __future__ import annotations

import pytest

from smsworker.providers.segments import count_segments


@pytest.mark.parametrize(
    ("text", "rule", "segments"),
    [
        ("Test SMS", "gsm", 1),
        ("a" * 160, "gsm", 1),
        ("a" * 161, "gsm", 2),
        ("a" * 306, "gsm", 2),
        ("a" * 307, "gsm", 3),
        ("€" * 80, "gsm", 1),  # extension characters count double: 160 units
        ("€" * 81, "gsm", 2),
        ("测" * 70, "gsm", 1),  # UCS-2
        ("测" * 71, "gsm", 2),
        ("a" * 159 + "测", "gsm", 3),  # one non-GSM character turns the whole message into UCS-2
        ("😀" * 35, "gsm", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "gsm", 2),
        ("【阿里云】" + "测" * 65, "cn", 1),  # the signature counts: 5 + 65 = 70
        ("【阿里云】" + "测" * 66, "cn", 2),
        ("【腾讯云】" + "x" * 130, "cn", 3),  # 135 characters: 67 a part
    ],
)
def test_segment_counts(text: str, rule: str, segments: int) -> None:
    assert count_segments(text, rule) == segments
