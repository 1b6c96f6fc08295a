"""atheris fuzz target for everything an element goes through besides the provider: the parser, the
dead-letter envelope and the log lines. For any input: a task or InvalidTask from the parser (any
other exception is a finding); envelopes that are strict JSON carrying the input's bytes; log lines
that are one line of strict JSON each.

Run with `make fuzz` (bounded time), or: python fuzz/fuzz_task.py -max_total_time=60
"""

from __future__ import annotations

import base64
import io
import json
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from smsworker.deadletters import build_envelope
    from smsworker.errors import InvalidTask
    from smsworker.logs import make_logger
    from smsworker.outcome import Failure
    from smsworker.task import SmsTask, TaskParser

PARSER = TaskParser(default_region="CN", max_payload_bytes=65536, max_recipients=1000)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"{name} in output that must be strict JSON")


def _strict(line: bytes) -> dict[str, Any]:
    data = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
    assert isinstance(data, dict)
    return data


def _payload(envelope: dict[str, Any]) -> bytes:
    if "payload_b64" in envelope:
        return base64.b64decode(envelope["payload_b64"])
    return str(envelope["payload"]).encode("utf-8")


def one_input(data: bytes) -> None:
    task: SmsTask | None = None
    try:
        task = PARSER.parse(data)
        failed = {m: Failure("provider_rejected", f"{m} refused", 1, "R") for m in task.mobiles}
        failed.update({m: Failure("invalid_mobile", f"{m} invalid") for m in task.invalid_mobiles})
    except InvalidTask as exc:
        failed = {"": Failure(exc.reason, exc.error)}
    if failed:
        for envelope in build_envelope(raw=data, task=task, failed=failed, worker="w", queue="q"):
            assert _payload(_strict(envelope)) == data
    out = io.StringIO()
    log = make_logger(fmt="json", stream=out)
    if task is not None:
        log.info(
            "task.settled",
            task_id=task.task_id,
            template_id=task.template_id,
            params=task.params,
            extra=dict(task.extra),
            mobiles=list(task.mobiles),
        )
    log.warning("task.dead_lettered", error=data.decode("utf-8", "surrogateescape"), payload_bytes=len(data))
    for line in out.getvalue().splitlines():
        _strict(line.encode("utf-8"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
