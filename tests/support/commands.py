"""Running the ``smsworker`` command as a user would: this interpreter, a clean environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def cli_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The caller's environment without any SMSWORKER_* setting, pointed at ``redis_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSWORKER_")}
    env.update(SMSWORKER_REDIS_URL=redis_url, SMSWORKER_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def smsworker_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsworker", *args]


def as_at_a_terminal() -> None:
    """A ``preexec_fn`` that lets Ctrl-C (SIGINT) reach the command as it does at a terminal. A test
    run in the background (``nohup``, ``cmd &``, some CI runners) starts its children with SIGINT
    ignored, and a Python started that way never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def watched(
    args: list[str], env: dict[str, str], out: Path, err: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """The command running with its output in ``out`` (and ``err``; else with the output), Ctrl-C
    reaching it as at a terminal; killed and reaped on the way out if it is still running."""
    with ExitStack() as files:
        stdout = files.enter_context(out.open("w"))
        stderr = files.enter_context(err.open("w")) if err else subprocess.STDOUT
        process = subprocess.Popen(args, env=env, stdout=stdout, stderr=stderr, preexec_fn=as_at_a_terminal)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
