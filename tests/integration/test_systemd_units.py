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
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / instance)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "", verify.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(tmp_path / instance)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    level = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", security.stdout)
    assert level is not None, security.stdout + security.stderr
    assert float(level.group(1)) <= 2.0 and level.group(2) == "OK", level.group(0)


@pytest.mark.parametrize("unit", ["smsworker.service", "smsworker@.service"])
def test_boot_order_cannot_fail_the_unit_but_a_bad_config_does(unit: str, tmp_path: Path) -> None:
    """What runs before the worker must not need Redis: at boot Redis may still be starting, and a
    step that failed then would, with Restart=on-failure and systemd's start limit, leave the unit
    failed while the worker itself would have waited. A bad config is still refused, in one line."""
    from tests.support.redis_server import free_port

    installed = install(tmp_path, unit).read_text()
    steps = [line.partition("=")[2] for line in installed.splitlines() if line.startswith("ExecStartPre=")]
    assert steps, "the unit checks its config before starting"
    config = tmp_path / "smsworker.toml"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for step in steps:
        argv = step.replace("%i", "orders").split()
        argv[argv.index("--config") + 1] = str(config)
        config.write_text(f'redis_url = "redis://127.0.0.1:{free_port()}/0"\nprovider = "log"\n')
        ran = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        assert ran.returncode == 0, ran.stderr  # no Redis there, and that is fine before the start
        config.write_text('provider = "aliyun"\n')  # no keys for it: refused
        refused = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
