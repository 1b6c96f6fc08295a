"""A real headless Chromium driven by selenium, for the pages the product serves."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def chromium(tmp_path: Path, *, failure_shot: str = "failure") -> Iterator[Any]:
    """A fresh browser profile, nothing fetched from outside; a screenshot in ``test-artifacts/``
    when the block fails."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    browser: Any = webdriver.Chrome(options=options, service=service)
    try:
        yield browser
    except BaseException:
        shot(browser, failure_shot)
        raise
    finally:
        browser.quit()


def shot(browser: Any, name: str) -> Path:
    """Save what the browser shows as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path
