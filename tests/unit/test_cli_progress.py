"""The progress bar of ``drain`` and ``dlq replay``: lines logged while it is shown are printed on
lines of their own above it, whichever thread logs them; off a terminal it draws nothing."""

from __future__ import annotations

import io
import threading

from smsworker.cli.progress import progress
from smsworker.logs import make_logger
from tests.support.terminal import screen


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_go_above_the_bar_never_on_its_line() -> None:
    out = Terminal()
    with progress(40, "draining", out) as bar:
        assert bar.lines is not None
        log = make_logger(fmt="json", level="warning", stream=bar.lines)

        def work(n: int) -> None:
            for step in range(10):
                bar.step()
                if step == 5:
                    log.warning("task.dead_lettered", worker=n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    *above, last_bar, cursor = screen(out.getvalue())
    assert len(above) == 4 and all(line.startswith('{"worker": ') for line in above), above
    assert all("draining" not in line and line.endswith("}") for line in above)
    assert last_bar.startswith("draining  [###") and "100%  40/40" in last_bar and cursor == ""


def test_the_log_above_the_bar_is_in_its_terminal_format_on_its_own_line() -> None:
    out = Terminal()
    with progress(2, "replaying", out) as bar:
        assert bar.lines is not None
        bar.step()
        make_logger(level="warning", stream=bar.lines).warning("redis.unreachable")
        bar.step()
    lines = screen(out.getvalue())
    assert "redis.unreachable" in lines[0] and "replaying" not in lines[0]
    assert not lines[0].startswith("{")  # the console format, not JSON: a person reads it
    assert lines[1].startswith("replaying") and "100%" in lines[1]


def test_off_a_terminal_nothing_is_drawn() -> None:
    out = io.StringIO()
    with progress(3, "draining", out) as bar:
        bar.step()
        assert bar.lines is None
    assert out.getvalue() == ""
