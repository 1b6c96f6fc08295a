"""The dashboard's pages, auth and actions through Flask's test client, on fakeredis: logins and
their rate limit, roles, CSRF, masking, replay and purge with its confirmation, the JSON API, the
Chinese pages. The same flows run in a real browser in tests/integration/test_dashboard_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask.testing import FlaskClient

from smsworker.dashboard.app import DashboardConfig, make_app
from smsworker.dashboard.users import UsersFile, add_user
from smsworker.store.queue import RedisQueue
from tests.support.dashboard import PASSWORD, confirm, csrf_of, dead_letter, log_in
from tests.support.logs import LogCapture


@pytest.fixture
def queue() -> RedisQueue:
    return RedisQueue(fakeredis.FakeRedis(), "sms_queue", "{sms_queue}:dead", use_blmove=True)


@pytest.fixture
def users(tmp_path: Path) -> UsersFile:
    path = str(tmp_path / "users")
    add_user(path, "olga", "operator", PASSWORD)
    add_user(path, "vic", "viewer", PASSWORD)
    assert (tmp_path / "users").stat().st_mode & 0o777 == 0o600
    return UsersFile(path)


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture
def client(queue: RedisQueue, users: UsersFile, logs: LogCapture) -> Iterator[FlaskClient]:
    app = make_app(queue, DashboardConfig(users), logs.logger)
    yield app.test_client()


def test_every_page_and_the_api_need_a_login(client: FlaskClient) -> None:
    for path in ("/", "/workers", "/dead", "/status"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert client.get("/api/overview").status_code == 401
    assert client.post("/dead/replay").status_code == 302  # not even reached


def test_logging_in_sets_a_hardened_cookie_and_a_wrong_password_is_counted(
    client: FlaskClient, logs: LogCapture
) -> None:
    assert log_in(client, "olga", "wrong password!").status_code == 401
    assert log_in(client, "nobody", PASSWORD).status_code == 401
    answer = log_in(client, "olga")
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200
    assert [e["user"] for e in logs.events("dashboard.login_failed")] == ["olga", "nobody"]
    assert logs.events("dashboard.login")[0]["role"] == "operator"


def test_a_login_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"user": "olga", "password": PASSWORD})
    assert answer.status_code == 400 and client.get("/").status_code == 302


def test_logins_are_rate_limited_per_address(client: FlaskClient) -> None:
    for _ in range(5):
        assert log_in(client, "olga", "wrong password!").status_code == 401
    assert log_in(client, "olga").status_code == 429  # even the right password, for a while
    assert log_in(client, "olga", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


def test_the_overview_matches_the_queue(client: FlaskClient, queue: RedisQueue) -> None:
    queue.push(b'{"template_id":1,"mobiles":["13800138000"],"content":"x"}')
    dead_letter(queue, "13800138001")
    log_in(client, "olga")
    page = client.get("/").text
    assert re.search(r'data-key="queue">1<', page) and re.search(r'data-key="dead">1<', page)
    assert "<svg" in page and "polyline" in page
    api: Any = client.get("/api/overview").json
    assert api["queue"] == 1 and api["dead"] == 1 and len(api["per_minute"]) == 60
    answer = client.get("/")
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "http://" not in page.replace('xmlns="http://', "") and "https://" not in page


def test_a_viewer_sees_masked_numbers_and_cannot_act(client: FlaskClient, queue: RedisQueue) -> None:
    dead_letter(queue, "13800138001")
    log_in(client, "vic")
    page = client.get("/dead").text
    assert "138****8001" in page and "13800138001" not in page and "replay-selected" not in page
    entry = re.search(r'href="/dead/([0-9a-f]+)"', page)
    assert entry and "13800138001" not in client.get(f"/dead/{entry.group(1)}").text
    token = csrf_of(page)
    answer = client.post("/dead/replay", data={"csrf": token, "scope": "all"})
    assert answer.status_code == 403 and queue.length() == 0
    assert client.post("/dead/purge", data={"csrf": token, "scope": "all"}).status_code == 403
    assert queue.dead_length() == 1
    assert "13800138001" not in client.get("/api/dead").text


def test_an_operator_replays_one_with_the_token_and_not_without(
    client: FlaskClient, queue: RedisQueue, logs: LogCapture
) -> None:
    dead_letter(queue, "13800138001")
    dead_letter(queue, "13800138002")
    log_in(client, "olga")
    page = client.get("/dead").text
    assert "13800138001" in page  # operators see whole numbers
    first = re.findall(r'name="id" value="([0-9a-f]+)"', page)[0]
    refused = client.post("/dead/replay", data={"id": first, "scope": "selected"})
    assert refused.status_code == 400 and queue.length() == 0
    asked = client.post("/dead/replay", data={"id": first, "scope": "selected", "csrf": csrf_of(page)})
    assert asked.status_code == 200 and "Replay 1 dead letters" in asked.text and queue.length() == 0
    done = confirm(client, asked)
    assert done.status_code == 302 and queue.length() == 1 and queue.dead_length() == 1
    assert [(e["user"], e["count"]) for e in logs.events("dashboard.replay")] == [("olga", 1)]
    assert confirm(client, asked).status_code == 302 and queue.length() == 1  # a confirmation counts once


def test_purging_by_reason_says_what_it_will_delete_and_deletes_exactly_that(
    client: FlaskClient, queue: RedisQueue, logs: LogCapture
) -> None:
    for n in range(3):
        dead_letter(queue, f"1380013800{n}", reason="invalid_mobile")
    dead_letter(queue, "13800138009", reason="provider_rejected")
    log_in(client, "olga")
    page = client.get("/dead?reason=invalid_mobile").text
    form = {"csrf": csrf_of(page), "scope": "all", "reason": "invalid_mobile"}
    asked = client.post("/dead/purge", data=form)
    assert asked.status_code == 200 and "Delete 3 dead letters for good?" in asked.text
    assert "reason=invalid_mobile" in asked.text  # the filter it counted by
    assert queue.dead_length() == 4  # nothing deleted before the confirmation
    dead_letter(queue, "13800138005", reason="invalid_mobile")  # the list changes meanwhile
    assert confirm(client, asked).status_code == 302
    left = [json.loads(e)["failed_mobiles"] for e in queue.dead_letters()]
    assert left == [["13800138005"], ["13800138009"]]  # the one added since is not touched
    assert [(e["user"], e["count"]) for e in logs.events("dashboard.purge")] == [("olga", 3)]


def test_the_pages_speak_chinese_when_asked(client: FlaskClient) -> None:
    assert "登录" in client.get("/login?lang=zh").text
    log_in(client, "olga")
    page = client.get("/").text  # the choice is kept in a cookie
    assert "排队中" in page and "最近一小时" in page and 'lang="zh-CN"' in page
    assert "Queued" in client.get("/?lang=en").text and "Queued" in client.get("/").text
    browser_in_chinese = client.application.test_client()
    assert "登录" in browser_in_chinese.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text


def test_without_auth_the_pages_open_and_say_so(queue: RedisQueue, logs: LogCapture) -> None:
    client = make_app(queue, DashboardConfig(None, no_auth=True), logs.logger).test_client()
    page = client.get("/").text
    assert "anyone on this machine may act" in page


def test_status_lookup_by_id(client: FlaskClient, queue: RedisQueue) -> None:
    state = {
        "state": "delivered",
        "at": 1_800_000_000,
        "provider": "aliyun",
        "history": [{"state": "sent", "at": 1_799_999_990}],
    }
    queue.client.hset(queue.keys.status("order-1"), "+8613800138000", json.dumps(state))
    log_in(client, "vic")
    page = client.get("/status?id=order-1").text
    assert "delivered" in page and "+86138****8000" in page and "sent" in page
    found: Any = client.get("/api/status?id=order-1").json
    assert found[0]["state"] == "delivered"
    assert "nothing is known" in client.get("/status?id=nope").text.lower()


def test_workers_show_what_their_heartbeats_carry_and_late_ones_are_marked(queue: RedisQueue) -> None:
    from smsworker.dashboard import reads

    details = {"version": "0.2.0", "concurrency": 8, "processes": 2, "in_flight": 3, "started_at": 900.0}
    queue.heartbeat("h:1:a", 30, json.dumps({"host": "h", "pid": 1, "at": 1000.0, "ttl": 30, **details}))
    queue.heartbeat("h:2:b", 30, json.dumps({"host": "h", "pid": 2, "at": 970.0, "ttl": 30}))
    queue.client.lpush(queue.keys.processing("h:3:c"), b"held")  # registered nowhere, no heartbeat
    shown = {w["id"]: w for w in reads.workers(queue, now=1005.0)}
    assert shown["h:1:a"]["state"] == "ok" and shown["h:1:a"]["heartbeat_age_s"] == 5
    assert {k: shown["h:1:a"][k] for k in details} == details
    assert shown["h:2:b"]["state"] == "late"  # 35 s: two 10 s beats missed
    assert shown["h:3:c"]["state"] == "gone" and shown["h:3:c"]["processing"] == 1


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/dead?reason=poison", "/dead?reason=poison"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/status?id=a b", "/"),
    ],
)
def test_a_login_only_ever_sends_you_to_a_page_of_this_site(
    client: FlaskClient, target: str, lands: str
) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", query_string={"next": target}, data={"user": "olga", "password": PASSWORD, "csrf": token}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == lands


def test_the_login_limiter_forgets_old_addresses_under_a_flood() -> None:
    from smsworker.dashboard import guard

    limiter = guard.LoginLimiter(max_failures=2, window_s=10)
    for n in range(guard.MAX_CLIENTS + 1):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", now=0.0)
    assert len(limiter) == guard.MAX_CLIENTS + 1  # all within their window: all kept
    limiter.failed("192.0.2.1", now=11.0)  # later: the aged-out ones go
    assert len(limiter) == 1
    limiter.failed("192.0.2.1", now=12.0)
    assert limiter.blocked("192.0.2.1", now=12.0) and not limiter.blocked("192.0.2.2", now=12.0)


def test_logging_out_needs_the_token_and_ends_the_session(client: FlaskClient) -> None:
    log_in(client, "olga")
    token = csrf_of(client.get("/").text)
    assert client.post("/logout").status_code == 400 and client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf": token}).status_code == 302
    assert client.get("/").status_code == 302
