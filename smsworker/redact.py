"""Hiding secrets and phone numbers in text about to be shown (errors, logs), on every path.

These work on text that may be malformed: a URL that failed to parse is exactly the one an error
message echoes, so nothing here may depend on the URL being valid.
"""

from __future__ import annotations

import re

# A query value: "?token=abc" or "&sig=abc". Webhook URLs often carry their secret there.
_QUERY_VALUE = re.compile(r"(?P<key>[?&;][^=&;#\s]*=)[^&;#\s]*")
# What a phone number looks like inside free text: 7 to 15 digits, perhaps after a +, not part of
# a longer run of digits or letters (ids, hashes, timestamps with separators are left alone).
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])\+?\d{7,15}(?![\w.])")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")


def redact_url(text: str, *, query: bool = False) -> str:
    """``redis://user:pw@host`` -> ``redis://user:***@host``; a userinfo without ':' is hidden whole.

    Works on what did not parse: a misspelt scheme, one slash, an '@' inside the password, a bad
    port. With ``query``, every query value is hidden too (``?access_token=***``).
    """
    head, at, tail = text.rpartition("@")
    if at:
        cut = head.find("//")
        split = cut + 2 if cut >= 0 else head.rfind("/") + 1
        prefix, userinfo = head[:split], head[split:]
        if "/" not in userinfo:  # else the '@' is in a path, and there is no userinfo
            user, colon, _ = userinfo.partition(":")
            text = f"{prefix}{user + ':***' if colon else '***'}@{tail}"
    if query:
        text = _QUERY_VALUE.sub(lambda m: f"{m['key']}***", text)
    return text


def redact_header(text: str) -> str:
    """A header as it may be shown: its name, never its value (``Authorization: ***``)."""
    name = text.partition(":")[0].strip().split(" ")[0]
    shown = name if _HEADER_NAME.fullmatch(name) else "?"
    return f"{shown}: ***"


def mask_mobile(number: str) -> str:
    """Keep the first digits and the last four: enough to tell numbers apart in an incident."""
    if len(number) >= 11:
        return number[: len(number) - 8] + "****" + number[-4:]
    if len(number) > 4:
        return "*" * (len(number) - 4) + number[-4:]
    return "*" * len(number)


def mask_numbers_in_text(text: str) -> str:
    """Mask every run of digits in free text that could be a phone number (errors, tracebacks)."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_mobile(m.group()), text)
