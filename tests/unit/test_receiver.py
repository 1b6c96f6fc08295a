"""The receiver's web app: signed reports move states; everything else gets nothing, and no 500."""

from __future__ import annotations

import json
import time
from typing import Any

import fakeredis
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.receipts import parse_state
from smsworker.receiver.app import MAX_BODY, Sources, make_app
from smsworker.receiver.http_reports import MAX_SKEW_S
from smsworker.receiver.recorder import Recorder
from smsworker.store.queue import RedisQueue
from smsworker.store.receipts import ReceiptStore
from smsworker.store.status import StatusBook
from tests.support.logs import LogCapture
from tests.support.reports import signed_headers

SECRET = b"0123456789abcdef-test-secret"
TOKEN = "path-token-0123456789"
TWILIO_TOKEN = "twilio-auth-token"
TWILIO_URL = "https://sms.example.com/receipts/twilio"
A = "+8613800138000"


@pytest.fixture
def client(queue: RedisQueue, fake_redis: fakeredis.FakeRedis, logs: LogCapture) -> FlaskClient:
    fake_redis.set(queue.keys.receipt("http", "m-1", A), json.dumps({"id": "order-1", "number": A}), ex=600)
    fake_redis.hset(queue.keys.status("order-1"), A, b'{"state":"sent","at":1.0,"provider":"http"}')
    sources = Sources(
        http_secret=SECRET, path_token=TOKEN, twilio_auth_token=TWILIO_TOKEN, twilio_url=TWILIO_URL
    )
    store = ReceiptStore(queue)
    return make_app(Recorder(store, logs.logger), sources, log=logs.logger).test_client()


def signed(body: bytes, *, secret: bytes = SECRET, at: float | None = None) -> dict[str, str]:
    return signed_headers(body, secret, at=at)


def report(**fields: Any) -> bytes:
    return json.dumps([{"message_id": "m-1", "mobile": A, "status": "delivered", **fields}]).encode()


def state(queue: RedisQueue) -> dict[str, Any]:
    return parse_state(StatusBook(queue).statuses("order-1")[A])


def test_a_signed_report_moves_the_state_once(client: FlaskClient, queue: RedisQueue) -> None:
    body = report(at=1_700_000_000)
    answer = client.post("/http", data=body, headers=signed(body))
    assert answer.status_code == 200 and answer.get_json() == {"delivered": 1}
    assert state(queue)["state"] == "delivered" and state(queue)["at"] == 1_700_000_000
    again = client.post("/http", data=body, headers=signed(body))  # the vendor repeats itself
    assert again.get_json() == {"duplicate": 1} and queue.stats().delivered_total == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        signed(report(), secret=b"another-secret-of-16+"),
        signed(report(), at=time.time() - MAX_SKEW_S - 60),  # a replay from long ago
        signed(report(status="undelivered")),  # signed for another body
        {"X-Smsworker-Timestamp": "soon", "X-Smsworker-Signature": "sha256=00"},
        {"X-Smsworker-Timestamp": str(int(time.time())), "X-Smsworker-Signature": "sha256=é"},
    ],
)
def test_anything_unsigned_is_a_bare_403_and_changes_nothing(
    client: FlaskClient, queue: RedisQueue, headers: dict[str, str]
) -> None:
    answer = client.post("/http", data=report(), headers=headers)
    assert answer.status_code == 403 and answer.get_json() == {"error": "forbidden"}
    assert state(queue)["state"] == "sent"


def test_too_large_unknown_and_wrong_method(client: FlaskClient) -> None:
    big = b"[" + b" " * MAX_BODY + b"]"
    assert client.post("/http", data=big, headers=signed(big)).status_code == 413
    assert client.post("/aliyun/guess", data=b"[]").status_code == 404  # a wrong path token
    assert client.post("/tencent/", data=b"[]").status_code == 404
    assert client.get("/http").status_code == 405


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not JSON"),
        (b"{}", "JSON array"),
        (b"[]", "JSON array"),
        (report(status="read"), "status must be"),
        (report(mobile=""), "mobile must be non-empty text"),
        (report(message_id=7), "message_id must be"),
        (report(at="yesterday"), "at must be a unix time"),
        (report(at=1e12), "at must be a unix time in seconds (from 1970 to 9999)"),  # no date shows it
        (report(at=-1), "at must be a unix time"),
        (b'[{"message_id": "m-1", "mobile": "+1", "status": "delivered", "at": NaN}]', "not JSON"),
        (report(text="x" * 300), "text must be text of at most 256"),
    ],
)
def test_a_signed_body_that_is_not_a_report_is_a_400_saying_why(
    client: FlaskClient, queue: RedisQueue, body: bytes, why: str
) -> None:
    answer = client.post("/http", data=body, headers=signed(body))
    assert answer.status_code == 400 and why in answer.get_json()["error"]
    assert state(queue)["state"] == "sent"


def test_the_answer_says_which_elements_were_not_reports(client: FlaskClient, queue: RedisQueue) -> None:
    body = json.dumps(
        [{"message_id": "m-1", "mobile": A, "status": "delivered"}, {"status": "read"}]
    ).encode()
    answer = client.post("/http", data=body, headers=signed(body))
    assert answer.status_code == 200 and state(queue)["state"] == "delivered"
    why = "report 1: status must be 'delivered' or 'undelivered'"
    assert answer.get_json() == {"delivered": 1, "malformed": 1, "errors": [why]}


def test_a_report_for_an_unknown_id_is_counted_not_an_error(client: FlaskClient, queue: RedisQueue) -> None:
    body = report(message_id="m-404")
    assert client.post("/http", data=body, headers=signed(body)).get_json() == {"unmatched": 1}
    assert queue.stats().unmatched_reports == 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda v: json.dumps(v).encode(),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["message_id", "mobile", "status", "at", "code", "text"]),
                    st.one_of(
                        st.none(),
                        st.integers(),
                        st.floats(),
                        st.text(max_size=20),
                        st.sampled_from(["delivered", "undelivered", "m-1", A]),
                    ),
                ),
                max_size=3,
            ),
        ),
    )
)
def test_any_signed_body_gets_a_200_or_a_400_never_a_500(client: FlaskClient, body: bytes) -> None:
    assert client.post("/http", data=body, headers=signed(body)).status_code in (200, 400)
