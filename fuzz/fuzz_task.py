"""atheris fuzz target for the task parser: any input must give a task or InvalidTask, nothing else.

Run with `make fuzz` (bounded time), or: python fuzz/fuzz_task.py -max_total_time=60
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from smsworker.errors import InvalidTask
    from smsworker.task import TaskParser

PARSER = TaskParser(default_region="CN", max_payload_bytes=65536, max_recipients=1000)


def one_input(data: bytes) -> None:
    # InvalidTask is the answer for bad input; any other exception is a finding.
    with contextlib.suppress(InvalidTask):
        PARSER.parse(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
