"""No number a producer sent shows through to a viewer, whatever shape it was written in and wherever
it sits: in a dead letter's numbers, payload (mobiles, content, params, keys, id) or error, in a
state's details (a vendor's error text that names it), in a task id, in a campaign's name or in who
paused it. Searched over the numbers PHP apps send (``tests/support/numbers.py``), on every page and
API a viewer reads."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smsworker.dashboard.app import DashboardConfig, make_app
from smsworker.dashboard.users import User, UsersFile, add_user
from smsworker.store.queue import RedisQueue
from tests.support.dashboard import PASSWORD, signed_in
from tests.support.logs import LogCapture
from tests.support.numbers import Written, full_width, json_escaped, shown_digits, written_numbers

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> UsersFile:
    path = str(Path(tmp_path_factory.mktemp("users")) / "users")
    add_user(path, "vic", "viewer", PASSWORD)
    return UsersFile(path)


def viewer(queue: RedisQueue, users: UsersFile) -> FlaskClient:
    """A viewer's browser, logged in."""
    client = make_app(queue, DashboardConfig(users, secret=SECRET), LogCapture().logger).test_client()
    return signed_in(client, queue, users, SECRET, User("vic", "viewer"))


def seed(queue: RedisQueue, numbers: list[Written]) -> str:
    """Dead letters and states that hold the numbers every way they can; the task id used."""
    texts = [n.text for n in numbers]
    task_id = "order-" + texts[0]
    task = {
        "template_id": 1,
        "mobiles": texts,
        "content": f"验证码1234已发送至{texts[-1]}",
        "params": {"phone": texts[0], texts[-1]: "key"},
        "id": task_id,
    }
    envelope = {
        "payload": json.dumps(task, ensure_ascii=False),
        "task": task,
        "failed_mobiles": texts,
        "reason": "invalid_mobile",
        "error": f"{texts[0]} is not a valid phone number",
        "failed_at": "2026-11-21T10:00:00Z",
        "provider_code": texts[-1],
        "worker": "w",
    }
    queue.client.lpush(queue.keys.dead, json.dumps(envelope))
    two = {**envelope, "failed_mobiles": [" / ".join(texts)], "payload": json.dumps(task)}
    queue.client.lpush(queue.keys.dead, json.dumps(two))
    state = {
        "state": "dead",
        "at": 1_800_000_000,
        "reason": "provider_rejected",
        "provider": "aliyun",
        "error": f"isv.MOBILE_NUMBER_ILLEGAL: {texts[0]}",
        "text": f"空号 {texts[-1]}",
        "message_id": texts[0],
        "history": [{"state": "queued", "at": 1_799_999_999}],
    }
    queue.client.hset(queue.keys.status(task_id), "+86" + numbers[0].national, json.dumps(state))
    campaign = texts[0][:64]  # a campaign named after a number, paused by someone who wrote one
    queue.client.hset(queue.keys.campaign(campaign), mapping={"tasks": 1, "sent": 2})
    queue.client.zadd(queue.keys.campaigns, {campaign: time.time()})
    queue.client.hset(queue.keys.paused, f"campaign:{campaign}", json.dumps({"at": 1.8e9, "by": texts[-1]}))
    return task_id


def without_the_query(page: str) -> str:
    """The page but for the form's echo of what the viewer typed (they know it)."""
    return re.sub(r'(<input name="(?:id|mobile)" value=")[^"]*"', r'\1"', page)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(written_numbers(), min_size=1, max_size=3))
@example(numbers=[Written("13800138009", "13800138009"), Written("13900139009", "13900139009")])
@example(numbers=[Written("13800138007", "验证码已发送至13800138007\uff0c请查收")])
@example(numbers=[Written("2015550123", json_escaped(full_width("2015550123")))])  # escaped again in JSON
@example(numbers=[Written("13000000000", "008613000000000")])  # after an escape: "\u81f3" + 0086...
def test_a_viewer_never_reads_a_number(users: UsersFile, numbers: list[Written]) -> None:
    queue = RedisQueue(fakeredis.FakeRedis(), "sms_queue", "{sms_queue}:dead", use_blmove=True)
    task_id = seed(queue, numbers)
    client = viewer(queue, users)
    dead: Any = client.get("/api/dead").json
    read = [client.get(path).text for path in ("/dead", "/api/dead")]
    read += [client.get(f"/dead/{entry['id']}").text for entry in dead["entries"]]
    read += [json.dumps(client.get("/api/status", query_string={"id": task_id}).json)]
    for asked in ({"id": task_id}, {"mobile": "+86" + numbers[0].national}):
        read += [without_the_query(client.get("/status", query_string=asked).text)]
    read += [client.get(path).text for path in ("/traffic", "/api/traffic", "/campaigns", "/api/campaigns")]
    read += [without_the_query(client.get("/cancel", query_string={"id": task_id}).text)]
    assert len(dead["entries"]) == 2 and all(page for page in read)
    assert "sent" in read[-1] and "data-campaign" in read[-3]  # the pages are there to be read
    for page in read:
        for number in numbers:
            assert shown_digits(page, number.national) is None, page
