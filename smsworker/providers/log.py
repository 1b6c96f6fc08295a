"""``log``: the dry-run provider. It logs each message it would send; nothing leaves the machine."""

from __future__ import annotations

from typing import Any

from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments


class LogProvider:
    name = "log"
    # One event per recipient reads best; batching would not save anything here.
    max_batch_size = 1

    def __init__(self, logger: Any) -> None:
        self._log = logger

    def send(self, message: OutgoingMessage) -> SendResult:
        for mobile in message.mobiles:
            self._log.info(
                "sms.dry_run",
                mobile=mobile,
                template_id=message.template_id,
                content=message.content,
                params=message.params,
            )
        return SendResult()

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        return None
