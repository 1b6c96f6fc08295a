"""The wire contract: one queue element (raw bytes) -> an ``SmsTask``, or ``InvalidTask`` with a reason.

The contract is written down in ``docs/task-contract.md`` and ``docs/task.schema.json``; the tests hold
this parser and the schema to the same examples. The parser is deliberately lenient in the ways real PHP
code is sloppy (see the doc), and strict about everything else.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers

from smsworker.errors import InvalidTask
from smsworker.send_time import parse_send_at, unix_number
from smsworker.strict_json import decode_object, json_type

KNOWN_FIELDS = frozenset({"template_id", "mobiles", "content", "id", "params", "lane", "send_at", "campaign"})
# A lane's name is part of a Redis key and of a settings table's name: plain, short, one spelling.
LANE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}", re.ASCII)
CAMPAIGN_MAX_CHARS = 64


@dataclass(frozen=True)
class SmsTask:
    """A parsed task. ``mobiles`` are E.164, deduplicated, in the producer's order."""

    template_id: int | str
    content: str
    mobiles: tuple[str, ...]
    invalid_mobiles: tuple[str, ...] = ()
    task_id: str | None = None
    params: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # E.164 -> what the producer wrote, so dead letters show the number as it was pushed.
    written_as: Mapping[str, str] = field(default_factory=dict)
    lane: str | None = None
    # Unix seconds as written (past or not: the worker compares it with its own clock).
    send_at: float | None = None
    campaign: str | None = None

    def as_written(self, mobiles: Iterable[str]) -> list[str]:
        return [self.written_as.get(m, m) for m in mobiles]

    def reduced_to(self, mobiles: Iterable[str]) -> dict[str, Any]:
        """The task in the seed's format with only ``mobiles`` left (for dead letters and replay)."""
        data: dict[str, Any] = dict(self.extra)
        data.update(template_id=self.template_id, mobiles=list(mobiles), content=self.content)
        if self.task_id is not None:
            data["id"] = self.task_id
        if self.params is not None:
            data["params"] = dict(self.params)
        if self.lane is not None:
            data["lane"] = self.lane
        if self.send_at is not None:
            data["send_at"] = unix_number(self.send_at)
        if self.campaign is not None:
            data["campaign"] = self.campaign
        return data

    def deferred_copy(self, mobiles: Iterable[str], until: float) -> bytes:
        """The element to push again for ``mobiles`` (E.164, of this task) to be sent at ``until`` (unix
        seconds): this task's fields, the numbers as the producer wrote them, ``send_at`` = ``until``."""
        data = self.reduced_to(self.as_written(mobiles))
        data["send_at"] = unix_number(until)
        return encode_task(data)


def encode_task(data: Mapping[str, Any]) -> bytes:
    """Encode a task the way PHP's ``json_encode(..., JSON_UNESCAPED_UNICODE)`` would."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TaskParser:
    """Parses queue elements. Holds the limits and a per-instance cache of normalised numbers."""

    def __init__(self, *, default_region: str, max_payload_bytes: int, max_recipients: int) -> None:
        self.default_region = default_region
        self.max_payload_bytes = max_payload_bytes
        self.max_recipients = max_recipients
        country_code = phonenumbers.country_code_for_region(default_region)
        # Lists get pushed again and again; a few thousand entries is ~1 MB (65,536 was 14 MB).
        self._normalise = lru_cache(maxsize=4096)(
            lambda raw: normalise_mobile(raw, default_region, country_code)
        )

    def parse(self, raw: bytes) -> SmsTask:
        if len(raw) > self.max_payload_bytes:
            raise InvalidTask(
                "too_large",
                f"payload is {len(raw)} bytes; the limit is {self.max_payload_bytes} (max_payload_bytes)",
            )
        data = decode_object(raw)
        template_id = _template_id(data.get("template_id"))
        content = _content(data.get("content"))
        params = _params(data.get("params"))
        if content == "" and not params:
            raise InvalidTask("invalid_task", "content is empty and there are no params to send")
        written = _mobile_entries(data.get("mobiles"))
        if len(written) > self.max_recipients:
            raise InvalidTask(
                "too_large",
                f"task has {len(written)} recipients; the limit is {self.max_recipients} (max_recipients)",
            )
        valid: dict[str, str] = {}
        invalid: dict[str, None] = {}  # as written, each once: a recipient is dead-lettered once
        for entry, usable in written:
            e164 = self._normalise(entry) if usable else None
            if e164 is None:
                invalid.setdefault(entry)
            else:
                valid.setdefault(e164, entry)
        return SmsTask(
            template_id=template_id,
            content=content,
            mobiles=tuple(valid),
            invalid_mobiles=tuple(invalid),
            task_id=_task_id(data.get("id")),
            params=params,
            extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
            written_as=valid,
            lane=_lane(data.get("lane")),
            send_at=parse_send_at(data.get("send_at")),
            campaign=_campaign(data.get("campaign")),
        )


def normalise_mobile(raw: str, default_region: str, country_code: int | None = None) -> str | None:
    """E.164 for a valid number, else None. Numbers without ``+`` are read in ``default_region``."""
    fast = _plain_digits_e164(raw, country_code) if country_code else None
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plain_digits_e164(raw: str, country_code: int) -> str | None:
    """The common case, 4x cheaper than ``phonenumbers.parse``: a national number as plain digits.

    Only a valid result is trusted; anything else (a leading 0 or +, separators, an invalid number)
    goes through the full parse, which knows about national prefixes and carrier codes. The
    property tests hold the two to the same answers.
    """
    if not (raw.isascii() and raw.isdigit()) or raw[0] == "0" or not 4 <= len(raw) <= 15:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(raw))
    if not phonenumbers.is_valid_number(number):
        return None
    return f"+{country_code}{raw}"


def _template_id(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value
    if value is None:
        raise InvalidTask("invalid_task", "template_id is missing")
    raise InvalidTask(
        "invalid_task", f"template_id must be an integer or a non-empty string, got {json_type(value)}"
    )


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        raise InvalidTask("invalid_task", "content is missing")
    raise InvalidTask("invalid_task", f"content must be a string, got {json_type(value)}")


def _params(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if value == []:  # PHP's json_encode writes an empty array as [] even when meant as a map.
        return {}
    if isinstance(value, dict):
        return value
    raise InvalidTask("invalid_task", f"params must be an object, got {json_type(value)}")


def _task_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise InvalidTask("invalid_task", f"id must be a non-empty string or an integer, got {json_type(value)}")


def _lane(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTask("invalid_task", f"lane must be a string, got {json_type(value)}")
    if LANE_NAME.fullmatch(value) is None:
        raise InvalidTask(
            "invalid_task",
            f"lane {json.dumps(value[:40])} is not a lane name: 1 to 32 of a-z, 0-9, _ and -, "
            "starting with a letter or digit",
        )
    return value


def _campaign(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTask("invalid_task", f"campaign must be a string, got {json_type(value)}")
    if not 1 <= len(value) <= CAMPAIGN_MAX_CHARS:
        raise InvalidTask(
            "invalid_task",
            f"campaign must be 1 to {CAMPAIGN_MAX_CHARS} characters, got {len(value)}",
        )
    if any(unicodedata.category(char) == "Cc" or char in "\u2028\u2029" for char in value):
        raise InvalidTask(
            "invalid_task",
            f"campaign {json.dumps(value)} holds a control character or a line break; names are one line",
        )
    return value


def _mobile_entries(value: Any) -> list[tuple[str, bool]]:
    """The recipients as written, as text, each with whether it can be a number at all."""
    if isinstance(value, str):
        entries: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        entries = value
    elif isinstance(value, dict):
        # json_encode writes a PHP array with holes in its keys (after array_unique or
        # array_filter) as an object: {"0": "138...", "2": "139..."}. Take values in key order.
        if not all(key.isdigit() for key in value):
            raise InvalidTask("invalid_task", "mobiles is an object whose keys are not all numeric")
        entries = [value[key] for key in sorted(value, key=int)]
    elif value is None:
        raise InvalidTask("invalid_task", "mobiles is missing")
    else:
        raise InvalidTask(
            "invalid_task",
            f"mobiles must be an array, an object or a comma-separated string, got {json_type(value)}",
        )
    if not entries:
        raise InvalidTask("invalid_task", "mobiles is empty")
    return [_mobile_text(entry) for entry in entries]


def _mobile_text(entry: Any) -> tuple[str, bool]:
    if isinstance(entry, int) and not isinstance(entry, bool):
        return str(entry), True
    if isinstance(entry, str):
        return entry.strip(), True
    # A float, null, boolean, array or object: keep its JSON so the dead letter shows what was sent.
    return json.dumps(entry), False
