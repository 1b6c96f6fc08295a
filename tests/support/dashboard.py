"""Driving the dashboard through Flask's test client: logging in, the CSRF token of a page, dead
letters to look at, and confirming an action."""

from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient

from smsworker.dashboard.sessions import Sessions
from smsworker.dashboard.users import User, UsersFile
from smsworker.store.dashboard import SessionRecords
from smsworker.store.queue import RedisQueue

PASSWORD = "correct horse battery"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def log_in(client: FlaskClient, name: str, password: str = PASSWORD, **env: Any) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"user": name, "password": password, "csrf": token}, **env)


def signed_in(
    client: FlaskClient, queue: RedisQueue, users: UsersFile, key: bytes, user: User
) -> FlaskClient:
    """``client`` with a session of ``user`` begun, as a login would, without a password check
    (scrypt is slow by design: properties that log in hundreds of times use this)."""
    session = Sessions(SessionRecords(queue), users, key=key, idle_s=600).begin(user)
    with client.session_transaction() as cookie:
        cookie["sid"] = session.session_id
    return client


def dead_letter(queue: RedisQueue, mobile: str, reason: str = "provider_rejected") -> None:
    task = {"template_id": 1, "mobiles": [mobile], "content": "x"}
    envelope = {
        "payload": json.dumps(task),
        "task": task,
        "failed_mobiles": [mobile],
        "reason": reason,
        "error": f"{mobile} refused",
        "attempts": 1,
        "failed_at": "2026-11-21T10:00:00Z",
        "provider_code": "R1",
        "worker": "w",
        "queue": "sms_queue",
    }
    queue.client.lpush(queue.keys.dead, json.dumps(envelope))


def confirm(client: FlaskClient, asked: Any, *, csrf: str | None = None) -> Any:
    """Confirm the action a confirmation page ``asked`` for, as its button does (with the page's
    CSRF token, or ``csrf``)."""
    selection = re.search(r'name="selection" value="([^"]+)"', asked.text)
    action = re.search(r'<form method="post" action="([^"]+)" id="confirm"', asked.text)
    assert selection and action, asked.text
    data = {"csrf": csrf or csrf_of(asked.text), "selection": selection.group(1), "confirm": "1"}
    return client.post(action.group(1), data=data)
