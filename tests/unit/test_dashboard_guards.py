"""What guards the dashboard, through Flask's test client on fakeredis: sessions that end when they
are revoked, the Host a request names, the client behind a proxy and the login limits, a viewer's
number search, and clear answers (400, 503, an odd entry shown raw) where there used to be a 500."""

from __future__ import annotations

import json
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.dashboard import guard
from smsworker.dashboard.app import DashboardConfig, make_app
from smsworker.dashboard.searches import PER_HOUR
from smsworker.dashboard.sessions import MAX_AGE_S, Sessions
from smsworker.dashboard.users import User, UsersFile, add_user, remove_user
from smsworker.store.dashboard import SessionRecords
from smsworker.store.queue import RedisQueue
from tests.support.dashboard import PASSWORD, confirm, csrf_of, dead_letter, log_in, signed_in
from tests.support.logs import LogCapture

SECRET = b"0123456789abcdef0123456789abcdef"
IDLE_S = 600


@pytest.fixture
def users_path(tmp_path: Path) -> str:
    path = str(tmp_path / "users")
    add_user(path, "olga", "operator", PASSWORD)
    add_user(path, "vic", "viewer", PASSWORD)
    return path


def dashboard(queue: RedisQueue, users_path: str, **config: Any) -> Flask:
    settings = DashboardConfig(UsersFile(users_path), secret=SECRET, idle_timeout_s=IDLE_S, **config)
    return make_app(queue, settings, LogCapture().logger)


@pytest.fixture
def app(queue: RedisQueue, users_path: str) -> Flask:
    return dashboard(queue, users_path)


def session_keys(queue: RedisQueue) -> list[bytes]:
    found: list[bytes] = queue.client.keys("{sms_queue}:session:*")  # type: ignore[assignment]
    return found


# -- sessions end when they are revoked --------------------------------------------------------


def test_logging_out_ends_the_session_even_for_a_copied_cookie(app: Flask, queue: RedisQueue) -> None:
    client = app.test_client()
    log_in(client, "olga")
    stolen = client.get_cookie("smsworker_session")
    assert stolen is not None
    client.post("/logout", data={"csrf": csrf_of(client.get("/").text)})
    replayed = app.test_client()
    replayed.set_cookie("smsworker_session", stolen.value)
    assert replayed.get("/api/dead").status_code == 401 and session_keys(queue) == []


def test_removing_a_user_ends_their_sessions_at_once(app: Flask, users_path: str) -> None:
    client = app.test_client()
    log_in(client, "vic")
    assert client.get("/api/dead").status_code == 200
    remove_user(users_path, "vic")
    assert client.get("/api/dead").status_code == 401


def test_a_demoted_operator_can_no_longer_act_with_the_old_cookie(
    app: Flask, queue: RedisQueue, users_path: str
) -> None:
    dead_letter(queue, "13800138001")
    client = app.test_client()
    log_in(client, "olga")
    page = client.get("/dead").text
    add_user(users_path, "olga", "viewer", PASSWORD)  # demoted: same password, another role
    asked = client.post("/dead/purge", data={"csrf": csrf_of(page), "scope": "all"})
    assert asked.status_code in (302, 401) and queue.dead_length() == 1
    assert client.get("/api/dead").status_code == 401  # the session itself ended
    log_in(client, "olga")
    assert "13800138001" not in client.get("/api/dead").text  # a viewer now: masked


def test_a_new_password_ends_the_sessions_begun_with_the_old_one(app: Flask, users_path: str) -> None:
    client = app.test_client()
    log_in(client, "olga")
    add_user(users_path, "olga", "operator", "another long password")
    assert client.get("/").status_code == 302


def test_logging_out_everywhere_ends_every_session_of_the_user(app: Flask, queue: RedisQueue) -> None:
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((laptop, "olga"), (phone, "olga"), (colleague, "vic")):
        log_in(client, name)
    phone.post("/logout/everywhere", data={"csrf": csrf_of(phone.get("/").text)})
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert colleague.get("/").status_code == 200


def test_sessions_live_in_redis_so_a_restart_keeps_them_and_their_revocation(
    queue: RedisQueue, users_path: str
) -> None:
    first = dashboard(queue, users_path).test_client()
    log_in(first, "olga")
    cookie = first.get_cookie("smsworker_session")
    assert cookie is not None
    restarted = dashboard(queue, users_path).test_client()  # the same secret and Redis
    restarted.set_cookie("smsworker_session", cookie.value)
    assert restarted.get("/").status_code == 200
    restarted.post("/logout", data={"csrf": csrf_of(restarted.get("/").text)})
    again = dashboard(queue, users_path).test_client()
    again.set_cookie("smsworker_session", cookie.value)
    assert again.get("/").status_code == 302


def test_a_session_idles_out_but_the_overviews_own_refresh_does_not_keep_it(
    app: Flask, queue: RedisQueue
) -> None:
    client = app.test_client()
    log_in(client, "olga")
    [key] = session_keys(queue)
    assert 0 < queue.client.ttl(key) <= IDLE_S
    queue.client.expire(key, 5)
    client.get("/api/overview", headers={"X-Smsworker-Refresh": "1"})
    assert queue.client.ttl(key) <= 5  # not renewed by the page refreshing itself
    client.get("/dead")
    assert queue.client.ttl(key) > 5  # renewed by a person's request
    queue.client.delete(key)  # what the idle TTL does when it runs out
    assert client.get("/").status_code == 302


def test_a_session_ends_twelve_hours_after_it_began(queue: RedisQueue, users_path: str) -> None:
    now = [1_000_000.0]
    users = UsersFile(users_path)
    sessions = Sessions(SessionRecords(queue), users, key=SECRET, idle_s=IDLE_S, clock=lambda: now[0])
    begun = sessions.begin(User("olga", "operator"))
    now[0] += MAX_AGE_S - 1
    assert sessions.find(begun.session_id) is not None
    now[0] += 1
    assert sessions.find(begun.session_id) is None


# -- the Host, the client, the login limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8091", True),
        ("localhost:8091", True),
        ("[::1]:8091", True),
        ("10.1.2.3", True),
        ("rebind.evil.example:8091", False),
        ("sms.example.com", True),
        ("SMS.Example.com.:443", True),
        ("a.ops.example.org", True),
        ("ops.example.org", True),
        ("evil-ops.example.org", False),
        ("", False),
        ("sms.example.com.evil.example", False),
    ],
)
def test_only_this_dashboards_names_are_served(host: str, allowed: bool) -> None:
    assert guard.host_allowed(host, ("sms.example.com", ".ops.example.org")) is allowed


def test_a_rebound_name_gets_nothing_even_without_logins(queue: RedisQueue) -> None:
    dead_letter(queue, "13800138001")
    client = make_app(queue, DashboardConfig(None, no_auth=True), LogCapture().logger).test_client()
    evil = {"Host": "rebind.evil.example:8091"}
    assert client.get("/api/dead", headers=evil).status_code == 400
    assert client.get("/dead", headers=evil).status_code == 400
    assert client.post("/dead/purge", headers=evil, data={"scope": "all"}).status_code == 400
    assert client.get("/api/dead", headers={"Host": "127.0.0.1:8091"}).status_code == 200
    assert queue.dead_length() == 1


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy of ours: its header is not believed
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # through two proxies of ours
        ("127.0.0.1", "forged, 198.51.100.7", "198.51.100.7"),  # what the client wrote is not believed
        ("127.0.0.1", "not an address", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_the_client_behind_trusted_proxies(peer: str, forwarded: str | None, client: str) -> None:
    trusted = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    assert guard.client_address(peer, forwarded, trusted) == client


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_the_others(
    queue: RedisQueue, users_path: str
) -> None:
    app = dashboard(queue, users_path, trusted_proxies=(ip_network("127.0.0.1/32"),))
    guesser, colleague = app.test_client(), app.test_client()
    for _ in range(guard.MAX_FAILURES):
        log_in(guesser, "vic", "wrong password!", headers={"X-Forwarded-For": "198.51.100.66"})
    assert log_in(guesser, "vic", headers={"X-Forwarded-For": "198.51.100.66"}).status_code == 429
    assert log_in(colleague, "olga", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 302


def test_an_account_is_limited_from_every_address(app: Flask) -> None:
    client = app.test_client()
    for n in range(guard.MAX_ACCOUNT_FAILURES):
        env = {"REMOTE_ADDR": f"198.51.100.{n}"}
        assert log_in(client, "olga", "wrong password!", environ_base=env).status_code == 401
    answer = log_in(client, "olga", environ_base={"REMOTE_ADDR": "203.0.113.1"})
    assert answer.status_code == 429
    assert log_in(client, "vic", environ_base={"REMOTE_ADDR": "203.0.113.1"}).status_code == 302


# -- a viewer's number search ----------------------------------------------------------------------


def test_a_viewer_searches_by_whole_numbers_only(app: Flask, queue: RedisQueue) -> None:
    dead_letter(queue, "13800138001")
    viewer = app.test_client()
    log_in(viewer, "vic")
    assert viewer.get("/api/dead?number=8001").status_code == 400
    assert viewer.get("/api/dead?number=38001").json == {
        "error": "number must be a whole phone number (viewers search by whole numbers)"
    }
    found: Any = viewer.get("/api/dead?number=%2B86%20138%200013%208001").json
    assert found["matching"] == 1
    assert viewer.get("/api/dead?number=13800138002").json["matching"] == 0  # type: ignore[index]
    operator = app.test_client()
    log_in(operator, "olga")
    assert operator.get("/api/dead?number=8001").json["matching"] == 1  # type: ignore[index]


def test_a_viewers_number_searches_are_counted(app: Flask, queue: RedisQueue) -> None:
    viewer = app.test_client()
    log_in(viewer, "vic")
    for _ in range(PER_HOUR):
        assert viewer.get("/api/status?mobile=13800138001").status_code == 200
    assert viewer.get("/api/dead?number=13800138001").status_code == 429
    assert viewer.get("/api/status?id=order-1").status_code == 200  # by id: not a number search
    operator = app.test_client()
    log_in(operator, "olga")
    for _ in range(PER_HOUR + 1):
        assert operator.get("/api/status?mobile=13800138001").status_code == 200


# -- clear answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["page=²", "page=0", "page=abc", "page=9999999", "since=yesterday", "until=2026-1-1", "code=" + "x" * 65],
)
def test_a_bad_parameter_is_a_400_saying_which(app: Flask, query: str) -> None:
    client = app.test_client()
    log_in(client, "olga")
    answer = client.get(f"/api/dead?{query}")
    assert answer.status_code == 400 and query.split("=")[0] in answer.json["error"]  # type: ignore[index]
    assert client.get(f"/dead?{query}").status_code == 400


def test_an_entry_of_an_unexpected_shape_is_shown_raw(app: Flask, queue: RedisQueue) -> None:
    queue.client.lpush(queue.keys.dead, json.dumps({"reason": "x", "failed_mobiles": 5}))
    queue.client.lpush(queue.keys.dead, b"\xff not json")
    dead_letter(queue, "13800138001")
    client = app.test_client()
    log_in(client, "olga")
    page = client.get("/dead")
    assert page.status_code == 200 and "unreadable" in page.text and "13800138001" in page.text
    entries: Any = client.get("/api/dead").json
    assert [e["reason"] for e in entries["entries"]] == ["provider_rejected", "unreadable", "unreadable"]


def test_redis_away_is_a_503_page_and_json_under_the_api(users_path: str) -> None:
    server = fakeredis.FakeServer()
    queue = RedisQueue(fakeredis.FakeRedis(server=server), "sms_queue", "{sms_queue}:dead", use_blmove=True)
    client = dashboard(queue, users_path).test_client()
    log_in(client, "olga")
    server.connected = False
    page, api = client.get("/dead"), client.get("/api/overview")
    assert page.status_code == 503 and "Redis is not answering" in page.text
    assert api.status_code == 503 and api.json == {"error": "Redis is not answering: try again in a moment."}


def test_a_replay_confirmed_by_another_operator_does_nothing(
    app: Flask, queue: RedisQueue, users_path: str
) -> None:
    add_user(users_path, "ann", "operator", PASSWORD)
    dead_letter(queue, "13800138001")
    olga, ann = app.test_client(), app.test_client()
    log_in(olga, "olga")
    log_in(ann, "ann")
    asked = olga.post("/dead/replay", data={"csrf": csrf_of(olga.get("/dead").text), "scope": "all"})
    confirm(ann, asked, csrf=csrf_of(ann.get("/dead").text))  # the confirmation is olga's
    assert queue.length() == 0 and queue.dead_length() == 1


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_ENVELOPE_KEYS = [
    "reason",
    "failed_mobiles",
    "error",
    "failed_at",
    "provider_code",
    "payload",
    "task",
    "recipients",
    "attempts",
    "worker",
]
_ENTRIES = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda v: json.dumps(v).encode(), _JSON),
    st.builds(lambda v: json.dumps(v).encode(), st.dictionaries(st.sampled_from(_ENVELOPE_KEYS), _JSON)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(_ENTRIES, max_size=4),
    query=st.dictionaries(
        st.sampled_from(["page", "reason", "code", "number", "since", "until", "id", "mobile"]),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_no_entry_and_no_parameter_makes_a_500(
    queue: RedisQueue, users_path: str, entries: list[bytes], query: dict[str, str]
) -> None:
    queue.client.delete(queue.keys.dead)
    for entry in entries:
        queue.client.lpush(queue.keys.dead, entry)
    for user in (User("olga", "operator"), User("vic", "viewer")):
        client = signed_in(
            dashboard(queue, users_path).test_client(), queue, UsersFile(users_path), SECRET, user
        )
        for path in ("/dead", "/api/dead", "/status", "/api/status"):
            answer = client.get(path, query_string=query)
            assert answer.status_code in (200, 400, 429), (path, query, answer.text)
            if path.startswith("/api/"):
                assert answer.is_json
        for found in client.get("/api/dead").json["entries"]:  # type: ignore[index]
            assert client.get(f"/dead/{found['id']}").status_code == 200
