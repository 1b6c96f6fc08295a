"""The stamp a worker puts in front of a claimed element, and reading it back.

    b"\\x00smsworker:" + token + b":" + crashes + b":" + check + b"\\n" + the producer's bytes, unchanged

- ``token`` (16 hex) names the delivery: recipients the provider confirmed are recorded under it, so
  a recovered task skips them, and two identical tasks pushed on purpose stay apart.
- ``crashes`` counts the workers that died holding the element (``crashed_once_more``, when a dead
  worker's tasks are recovered); at ``poison_after`` the element is set aside instead of killing
  the next worker.
- ``check`` is the first 16 hex of SHA-1(token + "\\n" + bytes). It ties the header to the bytes, so
  an element a producer happened to start with the prefix is taken as what it is, not as a stamp.

Elements stamped by smsworker 0.1 (prefix + token + newline, no check) are not read as stamped: a
producer could push that by accident, and its bytes must then be dead-lettered as they are.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

PREFIX = b"\x00smsworker:"
_HEADER = re.compile(rb"([0-9a-f]{16}):([0-9]{1,9}):([0-9a-f]{16})")


@dataclass(frozen=True)
class Stamp:
    token: str | None  # None: the element was never stamped
    crashes: int
    raw: bytes  # the producer's bytes


def new_token() -> str:
    return secrets.token_hex(8)


def check_of(token: str, raw: bytes) -> str:
    return hashlib.sha1(token.encode("ascii") + b"\n" + raw).hexdigest()[:16]


def stamp(raw: bytes, token: str, crashes: int = 0) -> bytes:
    header = f"{token}:{crashes}:{check_of(token, raw)}".encode("ascii")
    return PREFIX + header + b"\n" + raw


def unstamp(element: bytes) -> Stamp:
    """The stamp on ``element``, or ``Stamp(None, 0, element)`` when it carries none."""
    if element.startswith(PREFIX):
        header, sep, raw = element[len(PREFIX) :].partition(b"\n")
        if sep:
            found = _HEADER.fullmatch(header)
            if found and found[3].decode() == check_of(found[1].decode(), raw):
                return Stamp(found[1].decode(), int(found[2]), raw)
    return Stamp(None, 0, element)


def crashed_once_more(element: bytes) -> bytes:
    """The element as it goes back after its worker died: stamped, one more crash counted.

    An element never stamped gets a fresh token: identical elements each get their own.
    """
    found = unstamp(element)
    return stamp(found.raw, found.token or new_token(), found.crashes + 1)
