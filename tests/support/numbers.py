"""Phone numbers as PHP apps write them, and a check that none shows through in what a viewer reads.

``written_numbers()`` draws a number (mainland mobiles mostly, a few other countries) and one way a
producer writes it: E.164, national, with +86 or 0086, grouped with spaces, dashes, dots or
parentheses, in full-width digits, as ``json_encode``'s ``\\uFF11`` escapes, glued to Chinese or
Latin text. ``shown_digits(output, number)`` returns seven consecutive digits of the number that can
be read in ``output`` (after undoing escapes, full-width digits and separators), or None.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from hypothesis import strategies as st

# The national significant numbers of other countries' example mobiles.
_COUNTRY = {"US": "1", "GB": "44", "HK": "852", "SG": "65", "JP": "81", "DE": "49"}


def _example(region: str) -> str:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    return str(number.national_number)


_ABROAD = [_example(region) for region in _COUNTRY]
WINDOW = 7
_SEPARATORS = " \u00a0\u3000.-\u2010\u2011\u2012\u2013\u2014\u2015\uff0d()\uff08\uff09"
_ESCAPED_DIGIT = re.compile(r"\\+u(?:00(3[0-9])|(ff1[0-9]))", re.IGNORECASE)
_ESCAPED_SEPARATOR = re.compile(r"\\+u(?:00a0|3000|201[0-5]|ff0[89d])", re.IGNORECASE)
_BETWEEN_DIGITS = re.compile(rf"(?<=\d)[{re.escape(_SEPARATORS)}]+(?=\d)")


@dataclass(frozen=True)
class Written:
    national: str  # the digits that identify the person: 13800138000
    text: str  # as the producer wrote it


def full_width(text: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if c.isascii() and c.isdigit() else c for c in text)


def json_escaped(text: str) -> str:
    """As PHP's json_encode (without JSON_UNESCAPED_UNICODE) writes a string's inside."""
    return json.dumps(text)[1:-1]


@st.composite
def written_numbers(draw: st.DrawFn) -> Written:
    mainland = draw(st.booleans()) or draw(st.booleans())
    if mainland:
        national = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
        country = "86"
    else:
        index = draw(st.integers(0, len(_ABROAD) - 1))
        national, country = _ABROAD[index], list(_COUNTRY.values())[index]
    groups = [national[:3], national[3:7], national[7:]] if len(national) == 11 else [national]
    grouped = draw(st.sampled_from([" ", "-", ".", "\u3000"])).join(g for g in groups if g)
    body = draw(st.sampled_from([national, grouped, f"({groups[0]}) {''.join(groups[1:])}"]))
    prefix = draw(st.sampled_from(["", f"+{country}", f"+{country} ", f"00{country}", f"00{country}-"]))
    text = prefix + body
    if draw(st.booleans()):
        text = full_width(text)
    if draw(st.integers(0, 3)) == 0:
        text = json_escaped(text)
    before = draw(st.sampled_from(["", "验证码已发送至", "sent to", "to:", "尊敬的用户", "Tel "]))
    after = draw(st.sampled_from(["", "\uff0c请查收", "ok", " 。", "!", "\n"]))
    return Written(national, before + text + after)


def shown_digits(output: str, number: str) -> str | None:
    """Seven consecutive digits of ``number`` (its digits) readable in ``output``, or None."""
    plain = _ESCAPED_SEPARATOR.sub(" ", output)
    plain = _ESCAPED_DIGIT.sub(lambda m: str(int((m.group(1) or m.group(2))[-1])), plain)
    plain = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in plain)
    plain = _BETWEEN_DIGITS.sub("", plain)
    for start in range(len(number) - WINDOW + 1):
        window = number[start : start + WINDOW]
        if window in plain:
            return window
    return None
