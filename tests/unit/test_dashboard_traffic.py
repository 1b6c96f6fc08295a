"""The dashboard's traffic control through Flask's test client, on fakeredis: pausing and resuming
everything, a lane, a provider, a campaign; cancelling a task or a campaign; the campaigns' counts.
Each action is asked, then confirmed, with the CSRF token, by an operator only, and audited; what it
writes in Redis is what the design names (``P:paused``, ``P:cancel:id:<id>``,
``P:cancel:campaign:<name>``). The same flows run in a real browser in
tests/integration/test_dashboard_browser.py."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import fakeredis
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smsworker.dashboard.app import DashboardConfig, make_app
from smsworker.dashboard.texts import TEXTS
from smsworker.dashboard.users import User, UsersFile, add_user
from smsworker.store.control import is_campaign_name
from smsworker.store.keys import CANCEL_TTL_S
from smsworker.store.queue import RedisQueue
from tests.support.dashboard import PASSWORD, csrf_of, log_in, signed_in
from tests.support.logs import LogCapture

P = "{sms_queue}"
TTL_S = 3600
SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def queue() -> RedisQueue:
    return RedisQueue(fakeredis.FakeRedis(), "sms_queue", f"{P}:dead", use_blmove=True)


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> UsersFile:
    path = str(tmp_path_factory.mktemp("users") / "users")
    add_user(path, "olga", "operator", PASSWORD)
    add_user(path, "vic", "viewer", PASSWORD)
    return UsersFile(path)


def dashboard(queue: RedisQueue, users: UsersFile, logs: LogCapture) -> FlaskClient:
    config = DashboardConfig(
        users, secret=SECRET, receipt_ttl_s=TTL_S, lanes=("otp", "bulk"), providers=("aliyun",)
    )
    return make_app(queue, config, logs.logger).test_client()


@pytest.fixture
def app_client(queue: RedisQueue, users: UsersFile, logs: LogCapture) -> Iterator[FlaskClient]:
    yield dashboard(queue, users, logs)


@pytest.fixture
def olga(app_client: FlaskClient) -> FlaskClient:
    log_in(app_client, "olga")
    return app_client


@pytest.fixture
def vic(app_client: FlaskClient) -> FlaskClient:
    log_in(app_client, "vic")
    return app_client


def ask(client: FlaskClient, path: str, **form: str) -> Any:
    """The first POST of an action, with the CSRF token of the page it is asked from."""
    token = csrf_of(client.get("/traffic").text)
    return client.post(path, data={"csrf": token, **form})


def confirm(client: FlaskClient, asked: Any) -> Any:
    """Press the confirmation page's button: post its form as it stands."""
    form = re.search(r'<form method="post" action="([^"]+)" id="confirm">(.*?)</form>', asked.text, re.S)
    assert form, asked.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    return client.post(form.group(1), data={k: unescape(v) for k, v in fields.items()})


def paused(queue: RedisQueue) -> dict[str, dict[str, Any]]:
    raw: dict[bytes, bytes] = queue.client.hgetall(f"{P}:paused")  # type: ignore[assignment]
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def campaign(queue: RedisQueue, name: str, at: float, **counts: int) -> None:
    """A campaign's counters as the workers write them."""
    fields: Any = counts  # redis-py's stubs want a mapping of its own key types
    queue.client.hset(f"{P}:campaign:{name}", mapping=fields)
    queue.client.expire(f"{P}:campaign:{name}", TTL_S)
    queue.client.zadd(f"{P}:campaigns", {name: at})


def test_pausing_a_lane_is_asked_then_confirmed_then_audited(
    olga: FlaskClient, queue: RedisQueue, logs: LogCapture
) -> None:
    page = olga.get("/traffic").text
    assert (
        'data-scope="lane:otp"' in page and 'data-scope="lane:bulk"' in page and "Nothing is paused" in page
    )
    asked = ask(olga, "/traffic/pause", kind="lane", name="otp")
    assert asked.status_code == 200 and "Pause lane otp?" in asked.text
    assert paused(queue) == {}  # nothing before the confirmation
    done = confirm(olga, asked)
    assert done.status_code == 302 and done.headers["Location"] == "/traffic"
    assert list(paused(queue)) == ["lane:otp"] and paused(queue)["lane:otp"]["by"] == "dashboard olga"
    page = olga.get("/traffic").text
    assert "Paused lane otp." in page  # the flash
    row = re.search(r'<table id="paused">.*?</table>', page, re.S)
    assert row and "lane otp" in row.group() and "dashboard olga" in row.group()
    assert 'data-action="resume" data-scope="lane:otp"' in page
    assert confirm(olga, ask(olga, "/traffic/pause", kind="lane", name="otp")).status_code == 302
    assert "Already paused: lane otp." in olga.get("/traffic").text
    done = confirm(olga, ask(olga, "/traffic/resume", kind="lane", name="otp"))
    assert done.status_code == 302 and paused(queue) == {}
    switched = [e for e in logs.events() if e["event"] in ("dashboard.pause", "dashboard.resume")]
    assert [(e["event"], e["user"], e["scope"], e["changed"]) for e in switched] == [
        ("dashboard.pause", "olga", "lane:otp", True),
        ("dashboard.pause", "olga", "lane:otp", False),
        ("dashboard.resume", "olga", "lane:otp", True),
    ]


def test_everything_and_a_provider_pause_and_a_name_that_is_none_is_a_400(
    olga: FlaskClient, queue: RedisQueue
) -> None:
    confirm(olga, ask(olga, "/traffic/pause", kind="all"))
    confirm(olga, ask(olga, "/traffic/pause", kind="provider", name="aliyun"))
    confirm(olga, ask(olga, "/traffic/pause", kind="lane", name="night"))  # not declared here: by name
    assert sorted(paused(queue)) == ["all", "lane:night", "provider:aliyun"]
    page = olga.get("/traffic").text
    assert 'data-action="resume" data-scope="all"' in page and 'data-scope="lane:night"' in page
    for kind, name in (("lane", "Bad Name"), ("provider", "No Pe"), ("weather", "x"), ("campaign", "a\nb")):
        answer = ask(olga, "/traffic/pause", kind=kind, name=name)
        assert answer.status_code == 400, (kind, name)
        assert confirm_anyway(olga, kind, name).status_code == 400
    assert sorted(paused(queue)) == ["all", "lane:night", "provider:aliyun"]
    api: Any = olga.get("/api/traffic").json
    assert api["all"] is True and {p["scope"] for p in api["paused"]} == set(paused(queue))


def confirm_anyway(client: FlaskClient, kind: str, name: str) -> Any:
    """What a hand-made confirmation of ``kind`` ``name`` gets."""
    return ask(client, "/traffic/pause", kind=kind, name=name, confirm="1")


def test_a_viewer_sees_the_state_and_cannot_act(vic: FlaskClient, queue: RedisQueue) -> None:
    queue.client.hset(f"{P}:paused", "campaign:vip-13800138000", json.dumps({"at": 1.8e9, "by": "php"}))
    campaign(queue, "vip-13800138000", 1.8e9, tasks=2, sent=5)
    page = vic.get("/traffic").text
    assert "campaign vip-138****8000" in page and "13800138000" not in page
    assert "data-action" not in page and 'id="by-name"' not in page
    listed = vic.get("/campaigns").text
    assert "vip-138****8000" in listed and "13800138000" not in listed and "data-action" not in listed
    assert "13800138000" not in vic.get("/api/campaigns").text + vic.get("/api/traffic").text
    for path, form in (
        ("/traffic/pause", {"kind": "all"}),
        ("/traffic/resume", {"kind": "campaign", "name": "vip-13800138000"}),
        ("/campaigns/cancel", {"name": "vip-13800138000"}),
        ("/cancel/task", {"id": "order-9"}),
    ):
        assert ask(vic, path, **form).status_code == 403, path
        assert ask(vic, path, **form, confirm="1").status_code == 403, path
    assert list(paused(queue)) == ["campaign:vip-13800138000"]
    assert queue.client.keys(f"{P}:cancel:*") == []


def test_an_action_without_its_csrf_token_is_refused(olga: FlaskClient, queue: RedisQueue) -> None:
    for path, form in (
        ("/traffic/pause", {"kind": "all", "confirm": "1"}),
        ("/campaigns/cancel", {"name": "spring", "confirm": "1"}),
        ("/cancel/task", {"id": "order-9", "confirm": "1"}),
    ):
        assert olga.post(path, data=form).status_code == 400, path
        assert olga.post(path, data={**form, "csrf": "forged"}).status_code == 400, path
    assert paused(queue) == {} and queue.client.keys(f"{P}:cancel:*") == []


def test_cancelling_a_task_shows_its_recipients_first_then_cancels_it(
    app_client: FlaskClient, queue: RedisQueue, logs: LogCapture
) -> None:
    states = {
        "+8613800138000": {"state": "sent", "at": 1.8e9},
        "+8613800138001": {"state": "queued", "at": 1.8e9},
    }
    for number, state in states.items():
        queue.client.hset(f"{P}:status:order-9", number, json.dumps(state))
    log_in(app_client, "vic")
    seen = app_client.get("/cancel?id=order-9").text
    assert "+86138****8000" in seen and "queued" in seen and "13800138000" not in seen
    assert 'id="cancel-ask"' not in seen
    app_client.post("/logout", data={"csrf": csrf_of(seen)})
    log_in(app_client, "olga")
    asked = ask(app_client, "/cancel/task", id="order-9")
    assert asked.status_code == 200 and "Cancel task order-9?" in asked.text
    assert "+8613800138000" in asked.text and "+8613800138001" in asked.text  # the operator's whole numbers
    assert queue.client.keys(f"{P}:cancel:*") == []  # nothing before the confirmation
    done = confirm(app_client, asked)
    assert done.status_code == 302 and done.headers["Location"] == "/cancel?id=order-9"
    mark = queue.client.get(f"{P}:cancel:id:order-9")
    assert mark is not None and json.loads(mark)["by"] == "dashboard olga"
    assert TTL_S < queue.client.ttl(f"{P}:cancel:id:order-9") <= CANCEL_TTL_S
    page = app_client.get(done.headers["Location"]).text
    assert (
        "Cancelled task order-9: 1 recipients were sent already, 0 dead-lettered, 1 will not be sent." in page
    )
    confirm(app_client, ask(app_client, "/cancel/task", id="order-9"))
    assert "Task order-9 was cancelled already" in app_client.get("/cancel").text
    events = logs.events("dashboard.cancel_task")
    audit = [(e["user"], e["id"], e["changed"], e["sent"], e["pending"], e["dead"]) for e in events]
    assert audit == [("olga", "order-9", True, 1, 1, 0), ("olga", "order-9", False, 1, 1, 0)]
    assert ask(app_client, "/cancel/task", id="x" * 257).status_code == 400
    assert ask(app_client, "/cancel/task", id=" ").status_code == 400


def test_campaigns_show_their_counts_and_are_paused_resumed_and_cancelled(
    olga: FlaskClient, queue: RedisQueue, logs: LogCapture
) -> None:
    campaign(queue, "spring", 1.8e9, tasks=3, sent=250, dead=2, scheduled=40, delivered=200, segments=260)
    campaign(queue, "autumn", 1.8e9 - 60, tasks=1, sent=1)
    page = olga.get("/campaigns").text
    row = re.search(r'<tr data-campaign="spring">(.*?)</tr>', page, re.S)
    assert row
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert cells[:9] == ["spring", "3", "250", "2", "0", "40", "200", "0", "260"]
    asked = ask(olga, "/traffic/pause", kind="campaign", name="spring", back="campaigns")
    assert "Pause campaign spring?" in asked.text and paused(queue) == {}
    assert confirm(olga, asked).headers["Location"] == "/campaigns"
    assert list(paused(queue)) == ["campaign:spring"]
    assert 'data-action="resume" data-scope="campaign:spring"' in olga.get("/campaigns").text
    confirm(olga, ask(olga, "/traffic/resume", kind="campaign", name="spring", back="campaigns"))
    assert paused(queue) == {}
    asked = ask(olga, "/campaigns/cancel", name="spring", back="campaigns")
    assert "Cancel campaign spring?" in asked.text and queue.client.keys(f"{P}:cancel:*") == []
    confirm(olga, asked)
    assert json.loads(queue.client.get(f"{P}:cancel:campaign:spring") or b"{}")["by"] == "dashboard olga"
    page = olga.get("/campaigns").text
    assert "Cancelled campaign spring." in page
    row = re.search(r'<tr data-campaign="spring">(.*?)</tr>', page, re.S)
    assert row and "cancelled" in row.group(1) and "data-action" not in row.group(1)
    listed: Any = olga.get("/api/campaigns").json
    assert [(c["name"], c["sent"], c["cancelled_at"] != "") for c in listed] == [
        ("spring", 250, True),
        ("autumn", 1, False),
    ]
    events = [
        (e["event"], e.get("scope") or e.get("campaign")) for e in logs.events() if "campaign" in str(e)
    ]
    assert events == [
        ("dashboard.pause", "campaign:spring"),
        ("dashboard.resume", "campaign:spring"),
        ("dashboard.cancel_campaign", "spring"),
    ]
    elsewhere = ask(olga, "/traffic/pause", kind="campaign", name="spring", back="//evil.example")
    assert confirm(olga, elsewhere).headers["Location"] == "/traffic"  # only ever back to a page of ours


def test_the_traffic_pages_speak_chinese(olga: FlaskClient, queue: RedisQueue) -> None:
    confirm(olga, ask(olga, "/traffic/pause", kind="lane", name="otp"))
    page = olga.get("/traffic?lang=zh").text
    assert "流量控制" in page and "当前暂停" in page and "通道 otp" in page
    assert "确定暂停全部发送？" in ask(olga, "/traffic/pause", kind="all").text
    assert "营销活动" in olga.get("/campaigns").text and "取消任务" in olga.get("/cancel").text


def test_every_word_is_in_both_languages() -> None:
    assert TEXTS["en"].keys() == TEXTS["zh"].keys()
    for key, english in TEXTS["en"].items():
        assert sorted(re.findall(r"{\w+}", english)) == sorted(re.findall(r"{\w+}", TEXTS["zh"][key])), key


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=64).filter(is_campaign_name))
@example(name=' <b>"spring" & 春季</b> ')
@example(name="a/b?c=d#e")
def test_any_campaign_name_is_paused_and_cancelled_as_it_was_written(users: UsersFile, name: str) -> None:
    """Through the buttons' forms and the confirmation's, escaped for the page and read back."""
    queue = RedisQueue(fakeredis.FakeRedis(), "sms_queue", f"{P}:dead", use_blmove=True)
    campaign(queue, name, 1.8e9, tasks=1)
    logs = LogCapture()
    client = signed_in(dashboard(queue, users, logs), queue, users, SECRET, User("olga", "operator"))
    page = client.get("/campaigns").text
    forms = re.findall(r'<input type="hidden" name="name" value="([^"]*)">', page)
    assert [unescape(f) for f in forms] == [name, name]  # pause, and cancel
    confirm(client, ask(client, "/traffic/pause", kind="campaign", name=unescape(forms[0]), back="campaigns"))
    assert list(paused(queue)) == [f"campaign:{name}"]
    confirm(client, ask(client, "/campaigns/cancel", name=unescape(forms[1]), back="campaigns"))
    assert queue.client.exists(f"{P}:cancel:campaign:{name}")
    assert [e["campaign"] for e in logs.events("dashboard.cancel_campaign")] == [name]


def test_the_traffic_pages_are_guarded_as_every_page(olga: FlaskClient, queue: RedisQueue) -> None:
    for path in ("/traffic", "/campaigns", "/cancel", "/api/traffic"):
        assert olga.get(path, headers={"Host": "evil.example"}).status_code == 400, path
    token = csrf_of(olga.get("/traffic").text)
    huge = olga.post(
        "/traffic/pause", data={"csrf": token, "kind": "all", "confirm": "1", "pad": "x" * 70_000}
    )
    assert huge.status_code == 413 and paused(queue) == {}
    logged_out = olga.application.test_client()
    assert (
        logged_out.get("/traffic").status_code == 302 and logged_out.get("/api/campaigns").status_code == 401
    )
