"""The units in systemd/ as a sysadmin would install them: verify clean, exposure at most 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.commands import ROOT

UNITS = ROOT / "systemd"
INSTALLED_BINARY = "/opt/smsworker/.venv/bin/smsworker"


def install(tmp_path: Path, unit: str) -> Path:
    """The unit as installed, its ExecStart pointing at this checkout's smsworker (verify needs one)."""
    smsworker = str(Path(sys.executable).parent / "smsworker")
    target = tmp_path / unit
    target.write_text((UNITS / unit).read_text().replace(INSTALLED_BINARY, smsworker))
    return target


UNIT_FILES = [
    ("smsworker.service", "smsworker.service"),
    ("smsworker@.service", "smsworker@orders.service"),
    ("smsworker-receipts.service", "smsworker-receipts.service"),
    ("smsworker-dashboard.service", "smsworker-dashboard.service"),
]


@pytest.mark.parametrize(("unit", "instance"), UNIT_FILES)
def test_units_verify_and_are_hardened(unit: str, instance: str, tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "make test installs Debian's systemd for this"
    install(tmp_path, unit)
    verify = subprocess.run(["systemd-analyze", "verify", str(tmp_path / instance)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "", verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", str(tmp_path / instance)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    level = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", security.stdout)
    assert level is not None, security.stdout + security.stderr
    assert float(level.group(1)) <= 2.0 and level.group(2) == "OK", level.group(0)
