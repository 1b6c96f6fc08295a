"""Hiding secrets and phone numbers in text about to be shown (errors, logs, pages), on every path.

These work on text that may be malformed: a URL that failed to parse is exactly the one an error
message echoes, so nothing here may depend on the URL being valid.

``mask_numbers`` is the one masking function: the logs, the dashboard's pages and its JSON API call
it on everything that may hold a number a producer sent (numbers, payloads, errors, ids, report
texts). It finds numbers the way PHP apps write them, not only as E.164: with spaces, dashes, dots
or parentheses between the digits, after ``+86`` or ``0086``, in full-width digits (what a Chinese
input method types), as ``\\uFF11`` escapes (what ``json_encode`` writes for those), and glued to
Chinese or Latin text (``验证码已发送至13800138000``).
"""

from __future__ import annotations

import re

# A query value: "?token=abc" or "&sig=abc". Webhook URLs often carry their secret there.
_QUERY_VALUE = re.compile(r"(?P<key>[?&;][^=&;#\s]*=)[^&;#\s]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")

# One digit as it may be written: any Unicode decimal digit (\d: ASCII, full-width, ...), or a JSON
# escape of an ASCII or full-width one, escaped again any number of times (a payload's JSON inside
# JSON, a task the app encoded twice).
_DIGIT = r"(?:\d|\\+u00(?i:3[0-9])|\\+u(?i:ff1[0-9]))"
# What people put between the digits of one number: spaces (also no-break and ideographic), dashes
# (ASCII, Unicode, full-width), dots, parentheses (also full-width). At most two in a row: "(138) 0013".
# The non-ASCII ones may come as JSON escapes too (json_encode writes "\\u3000").
_SEPARATOR = r"(?:[ \u00a0\u3000.\-\u2010-\u2015\uff0d()\uff08\uff09]|\\+u(?i:00a0|3000|201[0-5]|ff0[89d]))"
# Not numbers, and left alone: an ISO date with its time ("2026-11-21 10:00:00"), an IPv4 address.
_DATE = r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[ T]\d\d:\d\d(?::\d\d)?)?"
_IPV4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_KEPT = rf"(?P<kept>(?<![\d.])(?:{_DATE}|{_IPV4})(?![\d.]))"
# A JSON escape of anything but a digit is one character, whatever hex digits spell it: "\u81f3"
# before a number must not lend it a 3 (and make it a run too long to be one).
_ESCAPE = r"(?P<escape>\\+u(?!00(?i:3[0-9])|(?i:ff1[0-9]))[0-9a-fA-F]{4})"
_RUN = re.compile(rf"{_KEPT}|{_ESCAPE}|\+?{_DIGIT}(?:{_SEPARATOR}{{0,2}}{_DIGIT})*")
_ONE_DIGIT = re.compile(_DIGIT)
# E.164 allows 15 digits. A longer run without separators is an id (a vendor's BizId, a token),
# not a number; a longer run with separators may be numbers side by side, and is masked.
MIN_DIGITS, MAX_DIGITS = 7, 15
KEPT_LAST, KEPT_FIRST_MAX = 4, 6


def mask_numbers(text: str) -> str:
    """``text`` with every number in it masked: its last four digits kept, and up to the first six
    when it is long enough to keep four hidden (``13800138000`` -> ``138****8000``,
    ``+8613800138000`` -> ``+86138****8000``, ``138 0013 8000`` -> ``138 **** 8000``). Runs of
    fewer than seven digits, ISO dates, IPv4 addresses and separator-free runs longer than any
    number are kept."""
    return _RUN.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    run = match.group()
    if match.group("kept") or match.group("escape"):
        return run
    digits = [m.span() for m in _ONE_DIGIT.finditer(run)]
    count = len(digits)
    if count < MIN_DIGITS or (count > MAX_DIGITS and digits[-1][1] - digits[0][0] == count):
        return run
    first = min(max(0, count - 8), KEPT_FIRST_MAX) if count <= MAX_DIGITS else 0
    hidden = {n for n in range(first, count - KEPT_LAST)}
    out, at = [], 0
    for n, (start, end) in enumerate(digits):
        out.append(run[at:start])
        out.append("*" if n in hidden else run[start:end])
        at = end
    out.append(run[at:])
    return "".join(out)


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
