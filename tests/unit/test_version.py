"""One version, written once (smsworker.__version__): what `--version` prints, what each worker's
heartbeat carries to the dashboard's Workers page, what the package is built as, and the newest
release the changelog describes. The licence the package declares is the one it ships."""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable

from click.testing import CliRunner

from smsworker import __version__
from smsworker.cli import cli
from smsworker.dashboard import reads
from smsworker.store.queue import RedisQueue
from smsworker.testing import FakeProvider
from smsworker.worker.loop import Worker
from tests.support.commands import ROOT
from tests.support.waiting import wait_until

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_prints_the_package_version() -> None:
    shown = CliRunner().invoke(cli, ["--version"])
    assert shown.exit_code == 0
    assert shown.output.strip() == f"smsworker, version {__version__}"


def test_the_heartbeat_carries_it_to_the_workers_page(
    make_worker: Callable[..., tuple[Worker, FakeProvider]], queue: RedisQueue
) -> None:
    worker, _ = make_worker(worker_id="h:1:a")
    running = threading.Thread(target=worker.run)
    running.start()
    try:
        # A stopped worker takes its heartbeat away: read it while the worker runs.
        shown = wait_until(lambda: reads.workers(queue), what="the worker's first heartbeat")
    finally:
        worker.request_stop()
        running.join(timeout=30)
    assert [(w["id"], w["version"]) for w in shown] == [("h:1:a", __version__)]


def test_the_package_is_built_with_it_from_the_one_place_it_is_written() -> None:
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "smsworker.__version__"}


def test_the_changelog_describes_it_as_the_newest_release() -> None:
    headings = re.findall(
        r"^## \[([^]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", (ROOT / "CHANGELOG.md").read_text(), re.M
    )
    assert headings[0] == ("Unreleased", "")
    released = [(version, date) for version, date in headings[1:]]
    assert released[0][0] == __version__
    assert all(date for _, date in released)  # every release is dated
    assert [date for _, date in released] == sorted((date for _, date in released), reverse=True)


def test_the_licence_shipped_is_the_one_declared() -> None:
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the smsworker authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in licence
