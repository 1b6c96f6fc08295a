"""The one interface every SMS provider implements, and the message it is given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from smsworker.errors import ProviderError


@dataclass(frozen=True)
class OutgoingMessage:
    """One provider request: the same text to ``mobiles`` (E.164, at most ``max_batch_size``)."""

    template_id: int | str
    content: str
    mobiles: tuple[str, ...]
    params: Mapping[str, Any] | None = None
    task_id: str | None = None


@dataclass
class SendResult:
    """What a request that went through did. Numbers not in ``failed`` count as sent.

    A provider that reports per number (one request can accept some numbers and reject others)
    puts each refused number in ``failed`` with a Transient or Permanent error.
    """

    failed: dict[str, ProviderError] = field(default_factory=dict)
    # The vendor's id for each accepted number, as its delivery reports will name it: Tencent's
    # SerialNo and Twilio's sid are per number; Alibaba's BizId is per request, so every number of the
    # request gets it (its reports carry the number too). Empty when the provider gives none.
    message_ids: dict[str, str] = field(default_factory=dict)


class Provider(Protocol):
    """An SMS provider.

    ``send`` must either return a ``SendResult`` or raise:
    - ``TransientProviderError`` when the whole request may succeed if tried again (timeouts,
      connection errors, throttling, 5xx); set ``retry_after_s`` when the provider says when;
    - ``PermanentProviderError`` when it never will (bad request, auth, rejected content).
    Any other exception is treated as transient and logged as a bug. ``send`` is called from
    several threads at once, and must not retry by itself: the worker owns the retry policy.
    """

    name: str
    max_batch_size: int

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def segments(self, content: str) -> int:
        """SMS segments one message with this content costs at this provider (see segments.py)."""
        ...

    def close(self) -> None: ...


def batches(mobiles: Sequence[str], size: int) -> list[list[str]]:
    """``mobiles`` in requests of at most ``size`` (a provider's ``max_batch_size``), in order."""
    return [list(mobiles[i : i + size]) for i in range(0, len(mobiles), size)]
