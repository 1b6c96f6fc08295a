"""scripts/bootstrap.sh installs what each make target needs and no more: run in its dry-run mode
with PATH pointing at a directory of stubs, so a bare machine and a ready one can both be shown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.support.commands import ROOT

BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
BASH = "/bin/bash"

# Only what the script itself runs besides the commands it looks for.
TOOLS = ("dirname", "grep")
# Each tool the tests or the example look for, and what its stub answers.
STUBS = {
    "redis-server": "",
    "redis-cli": "",
    "php": 'case "$1" in -m) echo redis ;; esac',  # phpredis loaded, Predis on the include path
    "systemd-analyze": "",
    "chromium": "",
    "chromedriver": "",
    "promtool": "",
    "faketime": "",
    "fc-list": "echo 'WenQuanYi Micro Hei'",
}
TEST_APT = {
    "php-cli",
    "php-redis",
    "php-nrk-predis",
    "systemd",
    "chromium",
    "chromium-driver",
    "prometheus",
    "faketime",
    "fonts-wqy-microhei",
}
BASE_APT = {"redis-server", "redis-tools", "python3", "python3-venv"}


def machine(tmp_path: Path, *, ready: bool) -> Path:
    """A PATH with the script's own tools, and with every needed command too when ``ready``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    if ready:
        (bin_dir / "python3").symlink_to(sys.executable)
        for name, body in STUBS.items():
            stub = bin_dir / name
            stub.write_text(f"#!/bin/sh\n{body}\nexit 0\n")
            stub.chmod(0o755)
    return bin_dir


def venv(tmp_path: Path, *installed: str) -> Path:
    """A virtualenv directory whose stamps say ``installed`` ("base", "test", "dev") are there."""
    path = tmp_path / "venv"
    path.mkdir()
    later = time.time() + 60  # newer than pyproject.toml, however recently it was edited
    for part in installed:
        stamp = path / f".installed-{part}"
        stamp.touch()
        os.utime(stamp, (later, later))
    return path


def plan(purpose: str, path: Path, venv_dir: Path) -> tuple[set[str], str]:
    """The apt packages and the pip install spec bootstrap.sh would use for ``purpose``."""
    env = {"PATH": str(path), "VENV": str(venv_dir), "BOOTSTRAP_DRY_RUN": "1"}
    ran = subprocess.run(
        [BASH, str(BOOTSTRAP), purpose], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    lines = dict(line.split(":", 1) for line in ran.stdout.splitlines())
    return set(lines["apt"].split()), lines["pip"].strip()


def extras() -> dict[str, str]:
    """Each extra's requirements (and the package's own as "base"), as one text to search."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {name: " ".join(reqs) for name, reqs in project["optional-dependencies"].items()}
    found["base"] = " ".join(project["dependencies"])
    return found


def test_the_package_itself_needs_no_test_or_lint_tool() -> None:
    found = extras()
    for tool in ("selenium", "mypy", "ruff", "atheris", "pytest"):
        assert tool not in found["base"]
    for tool in ("pytest", "fakeredis", "selenium", "hypothesis", "atheris"):
        assert tool in found["test"]
    for tool in ("mypy", "ruff"):
        assert tool in found["dev"]


def test_on_a_bare_machine_the_demo_gets_redis_and_smsworker_alone(tmp_path: Path) -> None:
    apt, pip = plan("demo", machine(tmp_path, ready=False), venv(tmp_path))
    assert apt == BASE_APT
    assert pip == "."  # no extra: no selenium, mypy, ruff or atheris


def test_the_example_gets_php_and_phpredis_but_no_browser_or_prometheus(tmp_path: Path) -> None:
    apt, pip = plan("example", machine(tmp_path, ready=False), venv(tmp_path))
    assert apt == BASE_APT | {"php-cli", "php-redis"}
    assert pip == "."


def test_the_tests_get_every_tool_they_run(tmp_path: Path) -> None:
    apt, pip = plan("test", machine(tmp_path, ready=False), venv(tmp_path))
    assert apt == BASE_APT | TEST_APT
    assert pip == ".[test]"


def test_lint_gets_the_linters_and_the_tests_imports_but_no_system_tools(tmp_path: Path) -> None:
    apt, pip = plan("lint", machine(tmp_path, ready=False), venv(tmp_path))
    assert apt == {"python3", "python3-venv"}
    assert pip == ".[test,dev]"  # mypy reads the tests, which import pytest, hypothesis, selenium


@pytest.mark.parametrize("purpose", ["demo", "example", "test", "lint", "all"])
def test_a_ready_machine_installs_nothing(tmp_path: Path, purpose: str) -> None:
    assert plan(purpose, machine(tmp_path, ready=True), venv(tmp_path, "base", "test", "dev")) == (set(), "")


def test_a_demo_venv_gains_the_test_extra_when_the_tests_run_in_it(tmp_path: Path) -> None:
    path, demo_venv = machine(tmp_path, ready=True), venv(tmp_path, "base")
    assert plan("demo", path, demo_venv) == (set(), "")
    assert plan("test", path, demo_venv) == (set(), ".[test]")
    assert plan("lint", path, demo_venv) == (set(), ".[test,dev]")


def test_a_changed_pyproject_installs_again(tmp_path: Path) -> None:
    path, ready_venv = machine(tmp_path, ready=True), venv(tmp_path, "base", "test", "dev")
    stamp = ready_venv / ".installed-test"
    before = (ROOT / "pyproject.toml").stat().st_mtime - 60
    os.utime(stamp, (before, before))
    assert plan("demo", path, ready_venv) == (set(), "")
    assert plan("test", path, ready_venv) == (set(), ".[test]")
