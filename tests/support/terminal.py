"""What a terminal shows for what a program wrote to it: enough of one to tell whether two writes
landed on the same line (carriage returns, newlines, erase-line; other escapes are dropped)."""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def screen(written: str) -> list[str]:
    """The lines on the screen, top to bottom, after ``written`` (the last is where the cursor is)."""
    lines, col, at = [""], 0, 0
    while at < len(written):
        escape = _ESCAPE.match(written, at)
        if escape:
            if escape.group(2) == "K":  # erase in line: all of it (2), or from the cursor on
                lines[-1] = "" if escape.group(1) == "2" else lines[-1][:col]
            at = escape.end()
            continue
        char, at = written[at], at + 1
        if char == "\r":
            col = 0
        elif char == "\n":
            lines.append("")
            col = 0
        else:
            line = lines[-1].ljust(col)
            lines[-1] = line[:col] + char + line[col + 1 :]
            col += 1
    return lines
