"""Which dead letters an operator means: by reason, provider code, number and time.

One filter for every place that narrows the dead-letter list: the dashboard builds one from its
form (``dashboard/reads.py``), ``smsworker dlq list`` from its flags, so a filter means the same
entries wherever it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from smsworker.task import normalise_mobile


@dataclass(frozen=True)
class DeadFilter:
    reason: str = ""
    code: str = ""
    # The number the failed ones are compared with: by its last digits for an operator, only
    # whole (the same E.164 number) for a viewer, who sees numbers masked: digits by digits, a
    # search for endings would give the masked ones away.
    number: str = ""
    since: str = ""  # ISO date or time, UTC
    until: str = ""
    whole_number: bool = False
    region: str = "CN"

    def matches(self, envelope: dict[str, Any]) -> bool:
        if self.reason and envelope.get("reason") != self.reason:
            return False
        if self.code and str(envelope.get("provider_code", "")) != self.code:
            return False
        failed = envelope.get("failed_mobiles")
        if self.number and not any(
            self._number_matches(str(m)) for m in (failed if isinstance(failed, list) else [])
        ):
            return False
        failed_at = str(envelope.get("failed_at", ""))
        if self.since and failed_at < self.since:
            return False
        return not (self.until and failed_at[: len(self.until)] > self.until)

    def choose(self, raw: bytes, envelope: dict[str, Any]) -> bool:
        """``matches`` as a ``deadletters.Chooser``."""
        return self.matches(envelope)

    @cached_property
    def _wanted(self) -> str | None:
        """The number as compared, worked out once rather than for each number of each entry: E.164
        for a whole-number search (None if it is none), else its digits."""
        return normalise_mobile(self.number, self.region) if self.whole_number else digits(self.number)

    def _number_matches(self, mobile: str) -> bool:
        if self.whole_number:
            return self._wanted is not None and normalise_mobile(mobile, self.region) == self._wanted
        return digits(mobile).endswith(self._wanted or "")

    @property
    def fields(self) -> dict[str, Any]:
        """The fields given, for links and forms."""
        shown = {
            "reason": self.reason,
            "code": self.code,
            "number": self.number,
            "since": self.since,
            "until": self.until,
        }
        return {k: v for k, v in shown.items() if v}


def digits(text: str) -> str:
    """The digits of a number as written (``+86 138-0013-8000`` -> ``8613800138000``)."""
    return "".join(c for c in text if c.isdigit())
