"""``smsworker dashboard`` as a real process, used through a real headless Chromium: a viewer and an
operator log in, the overview agrees with ``smsworker stats --json``, a dead letter replayed from
the page (after its confirmation) is delivered by a running worker, a purge by reason asks with the
count and the filter first, a viewer cannot act and sees masked numbers (in Chinese text too), a
form without its CSRF token is refused, a session ends at logout even for a copy of its cookie and
when its user is removed, and the Chinese pages render; an operator pauses and resumes a campaign
and cancels a task by its id, each confirmed first and audited. Screenshots of every page go to
``test-artifacts/dashboard-*.png``."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, shot
from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
Start = Callable[..., WorkerProcess]
PASSWORD = "a-long-test-password"


@pytest.fixture
def dashboard(cli: Cli, start_worker: Start, tmp_path: Path) -> tuple[str, WorkerProcess]:
    """The dashboard's base URL and process, with users olga (operator) and vic (viewer), made by
    the CLI."""
    users = str(tmp_path / "users")
    for name, role in (("olga", "operator"), ("vic", "viewer")):
        made = cli(
            "dashboard",
            "add-user",
            name,
            "--role",
            role,
            "--dashboard-users-file",
            users,
            input=PASSWORD + "\n",
        )
        assert made.returncode == 0 and f"added {name} ({role})" in made.stdout, made.stderr
    assert PASSWORD not in Path(users).read_text()
    port = free_port()
    server = start_worker("--dashboard-port", str(port), "--dashboard-users-file", users, command="dashboard")
    server.wait_for_event("dashboard.listening")
    return f"http://127.0.0.1:{port}", server


def log_in(browser: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base + "/login")
    browser.find_element(By.ID, "user").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_until(lambda: "/login" not in browser.current_url, what=f"{name} logged in")


def appears(browser: Any, element_id: str) -> Any:
    """The element, once the page a click led to has loaded."""
    from selenium.webdriver.common.by import By

    return wait_until(lambda: browser.find_elements(By.ID, element_id), what=f"#{element_id}")[0]


def shown(browser: Any, key: str) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.CSS_SELECTOR, f'[data-key="{key}"]').text)


def test_operators_and_viewers_in_a_real_browser(
    dashboard: tuple[str, WorkerProcess],
    cli: Cli,
    start_worker: Start,
    fake_api: FakeSmsApi,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    base, server = dashboard
    users_file = str(tmp_path / "users")
    r = redis_server.client()
    fake_api.script("+8613800138000", Reply(400, body='{"error": "blocked for now"}'))  # refused once
    worker = start_worker("--provider", "http", "--http-url", fake_api.url)
    worker.wait_for_event("worker.started")
    cli("enqueue", "--template-id", "1", "--mobile", "13800138000", "--content", "x", "--id", "order-7")
    for mobile in ("12345", "123456"):
        cli(
            "enqueue",
            "--template-id",
            "1",
            "--mobile",
            mobile,
            "--content",
            "验证码已发送至13800138007\uff0c请查收",
            "--force",  # not numbers: dead-lettered, which is what this test wants
        )
    wait_until(lambda: r.llen("{sms_queue}:dead") == 3, what="three dead letters")

    with chromium(tmp_path / "viewer", failure_shot="dashboard-viewer-failure") as browser:
        log_in(browser, base, "vic")
        stats = json.loads(cli("stats", "--json").stdout)
        for key in ("queue", "processing", "dead", "workers", "sent_total", "segments_total"):
            assert shown(browser, key) == str(stats[key]), key
        shot(browser, "dashboard-overview")
        browser.get(base + "/workers")
        rows = browser.find_elements(By.CSS_SELECTOR, "#workers tr")
        assert len(rows) == 2  # the header and the one worker
        shot(browser, "dashboard-workers")
        browser.get(base + "/dead")
        page = browser.page_source
        assert "138****8000" in page and "13800138000" not in page
        assert not browser.find_elements(By.ID, "replay-selected")  # no buttons for a viewer
        shot(browser, "dashboard-dead-viewer")
        # A viewer's forged action is refused even with the page's own token.
        browser.execute_script(
            "var f = document.getElementById('entries'); f.action = '/dead/replay';"
            "var s = document.createElement('input'); s.name = 'scope'; s.value = 'all'; f.appendChild(s);"
            "f.submit();"
        )
        wait_until(lambda: "403" in browser.title or "Forbidden" in browser.page_source, what="a 403")
        assert r.llen("sms_queue") == 0
        browser.get(base + "/dead?reason=invalid_mobile")
        browser.find_element(By.CSS_SELECTOR, "#entries a").click()
        payload = appears(browser, "payload").text
        assert "验证码已发送至138****8007" in payload and "13800138007" not in browser.page_source
        shot(browser, "dashboard-entry-viewer")
        # Logging out ends the session: a copy of its cookie, put back, opens nothing.
        browser.get(base + "/")
        cookie = browser.get_cookie("smsworker_session")
        browser.find_element(By.ID, "logout").click()
        wait_until(lambda: "/login" in browser.current_url, what="the login page")
        browser.add_cookie(cookie)
        browser.get(base + "/dead")
        assert "/login" in browser.current_url
        # A user removed from the file is logged out at their next request.
        log_in(browser, base, "vic")
        assert cli("dashboard", "remove-user", "vic", "--dashboard-users-file", users_file).returncode == 0
        browser.get(base + "/dead")
        assert "/login" in browser.current_url

    with chromium(tmp_path / "operator", failure_shot="dashboard-operator-failure") as browser:
        log_in(browser, base, "olga")
        browser.get(base + "/dead?number=8000")
        assert "13800138000" in browser.page_source  # operators see whole numbers
        # Without its CSRF token the same form is refused.
        browser.execute_script("document.querySelector('#entries input[name=csrf]').remove();")
        browser.find_element(By.CSS_SELECTOR, "#entries input[name=id]").click()
        browser.find_element(By.ID, "replay-selected").click()
        wait_until(lambda: "400" in browser.title or "Bad Request" in browser.page_source, what="a 400")
        assert r.llen("{sms_queue}:dead") == 3
        # With it, the replay is asked for, confirmed, and the running worker delivers it.
        browser.get(base + "/dead?number=8000")
        browser.find_element(By.CSS_SELECTOR, "#entries input[name=id]").click()
        browser.find_element(By.ID, "replay-selected").click()
        assert "Replay 1 dead letters" in appears(browser, "question").text and r.llen("sms_queue") == 0
        shot(browser, "dashboard-replay-confirm")
        browser.find_element(By.ID, "confirm-replay").click()
        wait_until(lambda: "+8613800138000" in fake_api.delivered, what="the replayed SMS at the provider")
        wait_until(lambda: "Replayed 1 tasks" in browser.page_source, what="the replay's message")
        # Purge all of a reason: the page says how many first.
        browser.get(base + "/dead?reason=invalid_mobile")
        browser.find_element(By.ID, "purge-all").click()
        question = appears(browser, "question").text
        assert "Delete 2 dead letters" in question and r.llen("{sms_queue}:dead") == 2
        assert "reason=invalid_mobile" in browser.find_element(By.ID, "chosen").text
        shot(browser, "dashboard-purge-confirm")
        browser.find_element(By.ID, "confirm-purge").click()
        wait_until(lambda: r.llen("{sms_queue}:dead") == 0, what="the purge")
        wait_until(lambda: "Deleted 2 dead letters" in browser.page_source, what="the purge's message")
        browser.get(base + "/status?id=order-7")
        states = browser.find_element(By.ID, "states").text
        assert "order-7" in states and " sent " in states  # replayed under its id, and sent
        shot(browser, "dashboard-status")
        # The same pages in Chinese.
        browser.get(base + "/?lang=zh")
        assert "排队中" in browser.page_source and "概览" in browser.find_element(By.TAG_NAME, "nav").text
        shot(browser, "dashboard-overview-zh")
        browser.get(base + "/dead")
        assert "死信" in browser.page_source
        shot(browser, "dashboard-dead-zh")
    audit = [
        (e["event"], e.get("user"), e.get("count"))
        for e in server.events()
        if e["event"] in ("dashboard.login", "dashboard.replay", "dashboard.purge")
    ]
    assert audit == [
        ("dashboard.login", "vic", None),
        ("dashboard.login", "vic", None),
        ("dashboard.login", "olga", None),
        ("dashboard.replay", "olga", 1),
        ("dashboard.purge", "olga", 2),
    ]


def test_what_keeps_the_dashboard_from_starting_is_one_line(cli: Cli, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("olga:admin:xyz\n")
    cases = {
        (): "needs dashboard_users_file",
        ("--dashboard-users-file", str(tmp_path / "missing")): "cannot read dashboard_users_file",
        ("--dashboard-users-file", str(users)): "line 1: not name:role:hash",
        ("--dashboard-no-auth", "--dashboard-address", "0.0.0.0"): "loopback address only",
    }
    for args, message in cases.items():
        said = cli("dashboard", *args)
        assert said.returncode != 0 and message in said.stderr, (args, said.stderr)
        assert len(said.stderr.strip().splitlines()) == 1 and "Traceback" not in said.stderr
    short = cli(
        "dashboard", "add-user", "olga", "--dashboard-users-file", str(tmp_path / "u2"), input="short\n"
    )
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    assert not (tmp_path / "u2").exists()


def test_an_operator_pauses_and_resumes_a_campaign_and_cancels_a_task_in_a_real_browser(
    dashboard: tuple[str, WorkerProcess], cli: Cli, redis_server: RedisServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    base, server = dashboard
    r = redis_server.client()
    # A campaign's counters, as the workers write them; a task with an id that no worker has taken.
    r.hset("{sms_queue}:campaign:spring", mapping={"tasks": 3, "sent": 250, "scheduled": 40})
    r.zadd("{sms_queue}:campaigns", {"spring": time.time()})
    cli("enqueue", "--template-id", "1", "--mobile", "13800138008", "--content", "x", "--id", "order-8")

    def press(action: str, scope: str) -> None:
        browser.find_element(By.CSS_SELECTOR, f'button[data-action="{action}"][data-scope="{scope}"]').click()

    with chromium(tmp_path / "traffic", failure_shot="dashboard-traffic-failure") as browser:
        log_in(browser, base, "olga")
        browser.get(base + "/campaigns")
        row = browser.find_element(By.CSS_SELECTOR, 'tr[data-campaign="spring"]').text
        assert "250" in row and "40" in row
        press("pause", "campaign:spring")
        assert "Pause campaign spring?" in appears(browser, "question").text and not r.exists(
            "{sms_queue}:paused"
        )
        shot(browser, "dashboard-pause-confirm")
        browser.find_element(By.ID, "confirm-pause").click()
        wait_until(lambda: "Paused campaign spring." in browser.page_source, what="the pause's message")
        assert json.loads(r.hget("{sms_queue}:paused", "campaign:spring") or "{}")["by"] == "dashboard olga"
        browser.get(base + "/traffic")
        assert "campaign spring" in browser.find_element(By.ID, "paused").text
        shot(browser, "dashboard-traffic")
        browser.get(base + "/campaigns")
        press("resume", "campaign:spring")
        assert "Resume campaign spring?" in appears(browser, "question").text  # once its page has loaded
        browser.find_element(By.ID, "confirm-resume").click()
        wait_until(lambda: "Resumed campaign spring." in browser.page_source, what="the resume's message")
        assert not r.exists("{sms_queue}:paused")
        shot(browser, "dashboard-campaigns")
        # Cancel a task by its id: the confirmation shows its recipient, not yet sent.
        browser.get(base + "/cancel")
        browser.find_element(By.ID, "task-id").send_keys("order-8")
        browser.find_element(By.ID, "cancel-ask").click()
        assert "Cancel task order-8?" in appears(browser, "question").text
        recipients = browser.find_element(By.ID, "recipients").text
        assert (
            "13800138008" in recipients
            and "queued" in recipients
            and not r.exists("{sms_queue}:cancel:id:order-8")
        )
        shot(browser, "dashboard-cancel-confirm")
        browser.find_element(By.ID, "confirm-cancel-task").click()
        said = "Cancelled task order-8: 0 recipients were sent already, 0 dead-lettered, 1 will not be sent."
        wait_until(lambda: said in browser.page_source, what="the cancel's message")
        assert r.exists("{sms_queue}:cancel:id:order-8")
    audit = [
        (e["event"], e.get("scope") or e.get("id"), e.get("changed"))
        for e in server.events()
        if e["event"] in ("dashboard.pause", "dashboard.resume", "dashboard.cancel_task")
    ]
    assert audit == [
        ("dashboard.pause", "campaign:spring", True),
        ("dashboard.resume", "campaign:spring", True),
        ("dashboard.cancel_task", "order-8", True),
    ]
