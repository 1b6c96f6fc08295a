"""The seed's whole flow with real parts: a browser clicks "发送" on the example page, PHP's built-in
server runs send-sms.php, which pushes to Redis with the library; a real smsworker sends to the fake.
The page answers in Chinese (see send-sms.php for why)."""

# ruff: noqa: RUF001 - the page's Chinese is punctuated with full-width marks, as it should be.

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.support.browser import chromium
from tests.support.commands import ROOT
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until

EXAMPLE = ROOT / "contrib" / "php-producer" / "example"


@pytest.fixture
def php_server(redis_server: RedisServer, redis_url: str) -> Iterator[Callable[..., str]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(redis_port: int | None = None) -> str:
        port = free_port()
        env = {"PATH": os.environ["PATH"], "REDIS_PORT": str(redis_port or redis_server.port)}
        process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(EXAMPLE)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(url), what="php -S to answer")
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/index.html", timeout=1).ok
    except requests.RequestException:
        return False


def test_bad_input_is_a_400_with_a_reason_in_chinese(
    php_server: Callable[..., str], redis_server: RedisServer
) -> None:
    url = php_server() + "/send-sms.php"
    answer = requests.post(url, data={"template_id": "123", "content": "x"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "message": "请至少填写一个手机号（mobiles[]）"}
    bad = requests.post(url, data={"template_id": "123", "content": "x", "mobiles[]": ["abc"]}, timeout=5)
    assert bad.status_code == 400 and bad.json()["message"] == "手机号格式不正确：abc"
    no_content = requests.post(url, data={"template_id": "123", "mobiles[]": ["13800138000"]}, timeout=5)
    assert no_content.status_code == 400 and no_content.json()["message"] == "请填写短信内容（content）"
    assert requests.get(url, timeout=5).json()["message"] == "只接受 POST 请求"
    assert redis_server.client().llen("sms_queue") == 0


def test_redis_down_is_a_503_not_a_false_success(php_server: Callable[..., str]) -> None:
    url = php_server(redis_port=free_port()) + "/send-sms.php"
    answer = requests.post(
        url, data={"template_id": "123", "content": "x", "mobiles[]": ["13800138000"]}, timeout=10
    )
    assert answer.status_code == 503
    assert answer.json() == {
        "success": False,
        "message": "短信服务暂时不可用，本次没有发送任何短信，请稍后重试",
    }


def test_a_click_in_the_browser_ends_at_the_provider(
    php_server: Callable[..., str],
    start_worker: Callable[..., WorkerProcess],
    fake_api: FakeSmsApi,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    url = php_server()
    worker = start_worker("--provider", "http", "--http-url", fake_api.url)
    worker.wait_for_event("worker.started")
    with chromium(tmp_path, failure_shot="php-example-failure") as browser:
        browser.get(url + "/index.html")
        mobiles = browser.find_element(By.ID, "mobiles")
        result = browser.find_element(By.ID, "result")
        mobiles.clear()
        mobiles.send_keys("abc")
        browser.find_element(By.ID, "send").click()
        refused = wait_until(lambda: result.text, what="the page's answer to a bad number")
        assert refused == "发送失败：手机号格式不正确：abc"
        mobiles.clear()
        mobiles.send_keys("13800138000\n13800138001")
        browser.find_element(By.ID, "send").click()
        queued = "已加入发送队列，短信将在后台发出"
        wait_until(lambda: result.text == queued, what="the page's answer to good numbers")
        wait_until(
            lambda: sorted(fake_api.delivered) == ["+8613800138000", "+8613800138001"],
            what="both SMS at the provider",
        )
        assert fake_api.requests[0]["content"] == "测试短信"
